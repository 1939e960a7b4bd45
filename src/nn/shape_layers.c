/* keras.layers.Reshape, Permute, RepeatVector, ZeroPadding2D, Cropping2D and UpSampling2D:
 * layers without weights that move values around, written on the shape ops (reshape,
 * transpose, broadcast_to, pad, slice), whose gradients are again shape ops. Images are
 * channels-last [batch, height, width, channels]. */
#include "nn_internal.h"

#include <stdio.h>
#include <string.h>

/* Formats n integers as Python prints a tuple, negative values as they are: "(3, -1)". */
static void tuple_str(int n, const int64_t *v, char *buf, size_t cap) {
    /* o can pass cap (snprintf returns the untruncated length): stop there, so buf + o is
     * never formed past the end */
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)v[i]);
    if (o < cap)
        snprintf(buf + o, cap - o, n == 1 ? ",)" : ")");
}

/* Keras' argument_validation.standardize_tuple check on a tuple of n integers: each >= 0
 * (allow_zero) or > 0. The message lists the offending values as Python prints their set. */
static bool tuple_ok(const char *layer, const char *arg, int n, const int64_t *v, bool allow_zero) {
    char got[96], bad[96];
    size_t o = 0;
    int nbad = 0;
    for (int i = 0; i < n; i++) {
        if (allow_zero ? v[i] >= 0 : v[i] > 0)
            continue;
        bool seen = false; /* a set: each value once */
        for (int j = 0; j < i; j++)
            seen |= v[j] == v[i];
        if (seen)
            continue;
        if (o < sizeof bad) /* as in tuple_str: never bad + o past the end */
            o += (size_t)snprintf(bad + o, sizeof bad - o, "%s%lld", nbad ? ", " : "",
                                  (long long)v[i]);
        nbad++;
    }
    if (nbad == 0)
        return true;
    tuple_str(n, v, got, sizeof got);
    nn_error("%s: The `%s` argument must be a tuple of %d integers. Received %s=%s, including "
             "values {%s} that do not satisfy `value %s`",
             layer, arg, n, arg, got, bad, allow_zero ? ">= 0" : "> 0");
    return false;
}

/* ---- Reshape ------------------------------------------------------------------------------ */

typedef struct reshape_layer {
    gt_layer base;
    int ndim;
    int64_t target[GT_MAX_RANK - 1];
} reshape_layer;

/* The product of the n dimensions d into *prod (-1 entries skipped when skip_unknown): 0 when
 * one is 0 (then nothing can overflow), else false when the product leaves int64's range. */
static bool dims_product(int n, const int64_t *d, bool skip_unknown, int64_t *prod) {
    int64_t p = 1;
    bool overflow = false;
    for (int i = 0; i < n; i++) {
        if (d[i] == 0) {
            *prod = 0;
            return true;
        }
        if (!(skip_unknown && d[i] == -1) && !overflow)
            overflow = __builtin_mul_overflow(p, d[i], &p);
    }
    *prod = p;
    return !overflow;
}

/* Keras' compute_reshape_output_shape for one example: the target with its -1 resolved
 * into out[1..ndim] (out[0] is left to the caller), or false and Keras' error. The sizes
 * are products of user-given dimensions, so each is checked for overflow: a product past
 * INT64_MAX is larger than any input's size, as Python's integers compare it. */
static bool reshape_resolve(const gt_layer *l, int rank, const int64_t *shape, int64_t *out) {
    const reshape_layer *r = (const reshape_layer *)l;
    int64_t in_size, known;
    int unknown = -1;
    for (int i = 0; i < r->ndim; i++) {
        out[1 + i] = r->target[i];
        if (r->target[i] == -1)
            unknown = i;
    }
    /* an empty batch leaves the other dimensions of a tensor unbounded: in_size can overflow */
    bool in_fits = dims_product(rank - 1, shape + 1, false, &in_size);
    bool known_fits = dims_product(r->ndim, r->target, true, &known);
    char got[256], want[256];
    nn_shape_str(rank - 1, shape + 1, got, sizeof got);
    tuple_str(r->ndim, r->target, want, sizeof want);
    if (!in_fits) {
        nn_error("Reshape '%s': the input's size per example overflows. Received: "
                 "input_shape=%s, target_shape=%s",
                 l->name, got, want);
        return false;
    }
    if (unknown < 0 && (!known_fits || known != in_size)) {
        nn_error("Reshape '%s': The total size of the tensor must be unchanged. Received: "
                 "input_shape=%s, target_shape=%s",
                 l->name, got, want);
        return false;
    }
    if (unknown >= 0) {
        /* known past INT64_MAX (its wrapped value is meaningless) divides in_size only when
         * in_size is 0: the -1 is then 0 */
        if (known_fits ? known == 0 || in_size % known != 0 : in_size != 0) {
            nn_error("Reshape '%s': The total size of the tensor must be unchanged, however, the "
                     "input size cannot by divided by the specified dimensions in target_shape. "
                     "Received: input_shape=%s, target_shape=%s",
                     l->name, got, want);
            return false;
        }
        out[1 + unknown] = known_fits ? in_size / known : 0;
    }
    /* Keras accepts (2**32, 2**32, 0) for an empty input, but gt_reshape needs the product of
     * the non-zero dimensions to fit */
    int64_t nonzero = 1;
    bool fits = true;
    for (int i = 0; i < r->ndim && fits; i++)
        if (out[1 + i] != 0)
            fits = !__builtin_mul_overflow(nonzero, out[1 + i], &nonzero);
    if (!fits) {
        nn_error("Reshape '%s': target_shape=%s has too many elements (the product of its "
                 "dimensions overflows). Received: input_shape=%s",
                 l->name, want, got);
        return false;
    }
    return true;
}

static bool reshape_build(gt_layer *l, int rank, const int64_t *shape) {
    int64_t out[GT_MAX_RANK];
    return nn_expect_min_ndim(l, 1, rank, shape) && reshape_resolve(l, rank, shape, out);
}

static gt_tensor *reshape_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    int rank = gt_tensor_rank(x);
    const int64_t *shape = gt_tensor_shape(x);
    int64_t out[GT_MAX_RANK];
    if (!nn_expect_min_ndim(l, 1, rank, shape) || !reshape_resolve(l, rank, shape, out))
        return NULL;
    out[0] = shape[0]; /* spelled out, so an empty batch keeps its shape */
    return gt_reshape(x, 1 + ((reshape_layer *)l)->ndim, out);
}

static const gt_layer_vtable reshape_vt = {"Reshape", reshape_build, reshape_call, NULL};

gt_layer *gt_reshape_layer(int ndim, const int64_t *target_shape, const char *name) {
    if (ndim < 0 || ndim > GT_MAX_RANK - 1 || (ndim > 0 && !target_shape)) {
        nn_error("Reshape: `target_shape` must have 0 to %d entries, got %d", GT_MAX_RANK - 1,
                 ndim);
        return NULL;
    }
    char want[256];
    tuple_str(ndim, target_shape, want, sizeof want);
    int unknown = 0;
    for (int i = 0; i < ndim; i++) {
        if (target_shape[i] < -1) {
            nn_error("Reshape: Each dimension in `target_shape` must be a non-negative integer, "
                     "or `-1` for a single unknown dimension. Received: target_shape=%s.",
                     want);
            return NULL;
        }
        unknown += target_shape[i] == -1;
    }
    if (unknown > 1) {
        nn_error("Reshape: There must be at most one unknown dimension (-1) in `target_shape`. "
                 "Received: target_shape=%s.",
                 want);
        return NULL;
    }
    reshape_layer *r = (reshape_layer *)gt_layer_new(&reshape_vt, sizeof(reshape_layer), name);
    if (!r)
        return NULL;
    r->ndim = ndim;
    if (ndim > 0)
        memcpy(r->target, target_shape, (size_t)ndim * sizeof *target_shape);
    return &r->base;
}

/* ---- Permute ------------------------------------------------------------------------------ */

typedef struct permute_layer {
    gt_layer base;
    int ndim;
    int perm[GT_MAX_RANK]; /* (0,) + dims */
} permute_layer;

static bool permute_check(gt_layer *l, int rank, const int64_t *shape) {
    return nn_expect_ndim(l, ((permute_layer *)l)->ndim + 1, rank, shape, NULL);
}

static gt_tensor *permute_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    if (!permute_check(l, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    return gt_transpose(x, ((permute_layer *)l)->perm);
}

static const gt_layer_vtable permute_vt = {"Permute", permute_check, permute_call, NULL};

gt_layer *gt_permute(int ndim, const int *dims, const char *name) {
    /* Keras: sorted(dims) == [1, ..., ndim] */
    bool ok = ndim >= 1 && ndim <= GT_MAX_RANK - 1 && dims;
    unsigned seen = 0;
    for (int i = 0; ok && i < ndim; i++) {
        ok = dims[i] >= 1 && dims[i] <= ndim && !(seen & (1u << dims[i]));
        seen |= ok ? 1u << dims[i] : 0;
    }
    if (!ok) {
        char got[96] = "[]";
        if (ndim >= 1 && ndim <= GT_MAX_RANK - 1 && dims) {
            int64_t d[GT_MAX_RANK];
            for (int i = 0; i < ndim; i++)
                d[i] = dims[i];
            tuple_str(ndim, d, got, sizeof got);
        }
        nn_error("Permute: Invalid permutation argument `dims` for Permute Layer. The set of "
                 "indices in `dims` must be consecutive and start from 1. Received dims=%s",
                 got);
        return NULL;
    }
    permute_layer *p = (permute_layer *)gt_layer_new(&permute_vt, sizeof(permute_layer), name);
    if (!p)
        return NULL;
    p->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        p->perm[1 + i] = dims[i];
    return &p->base;
}

/* ---- RepeatVector ------------------------------------------------------------------------- */

typedef struct repeat_vector_layer {
    gt_layer base;
    int64_t n;
} repeat_vector_layer;

static bool repeat_vector_check(gt_layer *l, int rank, const int64_t *shape) {
    return nn_expect_ndim(l, 2, rank, shape, NULL);
}

/* [N, D] -> [N, 1, D] broadcast to [N, n, D]: the gradient sums the n copies. */
static gt_tensor *repeat_vector_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    const int64_t *s = gt_tensor_shape(x);
    if (!repeat_vector_check(l, gt_tensor_rank(x), s))
        return NULL;
    int64_t n = ((repeat_vector_layer *)l)->n;
    return gt_broadcast_to(gt_reshape(x, GT_SHAPE(s[0], 1, s[1])), GT_SHAPE(s[0], n, s[1]));
}

static const gt_layer_vtable repeat_vector_vt = {"RepeatVector", repeat_vector_check,
                                                 repeat_vector_call, NULL};

gt_layer *gt_repeat_vector(int64_t n, const char *name) {
    if (n <= 0) {
        nn_error("RepeatVector: Argument `n` should be a positive integer. Received: n=%lld",
                 (long long)n);
        return NULL;
    }
    repeat_vector_layer *r =
        (repeat_vector_layer *)gt_layer_new(&repeat_vector_vt, sizeof(repeat_vector_layer), name);
    if (!r)
        return NULL;
    r->n = n;
    return &r->base;
}

/* ---- ZeroPadding2D, Cropping2D ------------------------------------------------------------ */

/* Both keep ((top, bottom), (left, right)). */
typedef struct edges_layer {
    gt_layer base;
    int64_t e[2][2];
} edges_layer;

static bool want_image(gt_layer *l, int rank, const int64_t *shape) {
    return nn_expect_ndim(l, 4, rank, shape, " (images are [batch, height, width, channels])");
}

/* Keras' standardize_tuple(entry, 2, "1st entry of <arg>", allow_zero=True) for both rows. */
static bool edges_ok(const char *layer, const char *arg, const int64_t e[2][2]) {
    char name[2][48];
    snprintf(name[0], sizeof name[0], "1st entry of %s", arg);
    snprintf(name[1], sizeof name[1], "2nd entry of %s", arg);
    return tuple_ok(layer, name[0], 2, e[0], true) && tuple_ok(layer, name[1], 2, e[1], true);
}

static gt_layer *edges_new(const gt_layer_vtable *vt, const char *arg, const int64_t e[2][2],
                           const char *name) {
    if (!edges_ok(vt->class_name, arg, e))
        return NULL;
    edges_layer *p = (edges_layer *)gt_layer_new(vt, sizeof(edges_layer), name);
    if (!p)
        return NULL;
    memcpy(p->e, e, sizeof p->e);
    return &p->base;
}

static gt_tensor *zero_padding_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    if (!want_image(l, gt_tensor_rank(x), gt_tensor_shape(x)))
        return NULL;
    const edges_layer *p = (const edges_layer *)l;
    return gt_pad(x, (const int64_t[]){0, 0, p->e[0][0], p->e[0][1], p->e[1][0], p->e[1][1], 0, 0},
                  0);
}

static const gt_layer_vtable zero_padding_vt = {"ZeroPadding2D", want_image, zero_padding_call,
                                                NULL};

gt_layer *gt_zero_padding2d(const gt_zero_padding2d_desc *desc) {
    static const gt_zero_padding2d_desc dflt = {{{1, 1}, {1, 1}}, NULL};
    const int64_t(*e)[2] = desc ? desc->padding : dflt.padding;
    if (!e[0][0] && !e[0][1] && !e[1][0] && !e[1][1])
        e = dflt.padding;
    return edges_new(&zero_padding_vt, "padding", e, desc ? desc->name : NULL);
}

/* Keras checks the cropping against the input when called. */
static bool cropping_fits(const gt_layer *l, int rank, const int64_t *shape) {
    const edges_layer *c = (const edges_layer *)l;
    const int64_t *h = c->e[0], *w = c->e[1];
    /* h[0] + h[1] < shape[1] without the sum, which can overflow (the entries are >= 0) */
    if (h[0] < shape[1] && h[1] < shape[1] - h[0] && w[0] < shape[2] && w[1] < shape[2] - w[0])
        return true;
    char got[256];
    nn_shape_str(rank, shape, got, sizeof got);
    nn_error("Cropping2D '%s': Values in `cropping` argument should be smaller than the "
             "corresponding spatial dimension of the input. Received: inputs.shape=%s, "
             "cropping=((%lld, %lld), (%lld, %lld))",
             l->name, got, (long long)h[0], (long long)h[1], (long long)w[0], (long long)w[1]);
    return false;
}

static bool cropping_build(gt_layer *l, int rank, const int64_t *shape) {
    return want_image(l, rank, shape) && cropping_fits(l, rank, shape);
}

static gt_tensor *cropping_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    int rank = gt_tensor_rank(x);
    const int64_t *s = gt_tensor_shape(x);
    if (!cropping_build(l, rank, s))
        return NULL;
    const edges_layer *c = (const edges_layer *)l;
    return gt_slice(
        x, (const int64_t[]){0, c->e[0][0], c->e[1][0], 0},
        (const int64_t[]){-1, s[1] - c->e[0][0] - c->e[0][1], s[2] - c->e[1][0] - c->e[1][1], -1});
}

static const gt_layer_vtable cropping_vt = {"Cropping2D", cropping_build, cropping_call, NULL};

gt_layer *gt_cropping2d(const gt_cropping2d_desc *desc) {
    static const gt_cropping2d_desc none = {{{0, 0}, {0, 0}}, NULL};
    if (!desc)
        desc = &none;
    return edges_new(&cropping_vt, "cropping", desc->cropping, desc->name);
}

/* ---- UpSampling2D ------------------------------------------------------------------------- */

typedef struct up_sampling_layer {
    gt_layer base;
    int64_t size[2];
} up_sampling_layer;

/* "nearest": [N, H, W, C] -> [N, H, 1, W, 1, C] broadcast to [N, H, sh, W, sw, C], viewed as
 * [N, H*sh, W*sw, C] (Keras repeats along each axis: the same values). The gradient sums
 * each sh x sw block. */
static gt_tensor *up_sampling_call(gt_layer *l, const gt_tensor *x, bool training) {
    (void)training;
    const int64_t *s = gt_tensor_shape(x);
    if (!want_image(l, gt_tensor_rank(x), s))
        return NULL;
    const int64_t *k = ((up_sampling_layer *)l)->size;
    int64_t oh, ow; /* the sizes are the user's: H * sh and W * sw can overflow */
    if (__builtin_mul_overflow(s[1], k[0], &oh) || __builtin_mul_overflow(s[2], k[1], &ow)) {
        char got[256];
        nn_shape_str(4, s, got, sizeof got);
        nn_error("UpSampling2D '%s': the upsampled height or width overflows. Received: "
                 "inputs.shape=%s, size=(%lld, %lld)",
                 l->name, got, (long long)k[0], (long long)k[1]);
        return NULL;
    }
    gt_tensor *y = gt_reshape(x, GT_SHAPE(s[0], s[1], 1, s[2], 1, s[3]));
    y = gt_broadcast_to(y, GT_SHAPE(s[0], s[1], k[0], s[2], k[1], s[3]));
    return gt_reshape(y, GT_SHAPE(s[0], oh, ow, s[3]));
}

static const gt_layer_vtable up_sampling_vt = {"UpSampling2D", want_image, up_sampling_call, NULL};

gt_layer *gt_up_sampling2d(const gt_up_sampling2d_desc *desc) {
    int64_t size[2] = {2, 2};
    if (desc && (desc->size[0] || desc->size[1])) { /* {s} means s x s */
        size[0] = desc->size[0];
        size[1] = desc->size[1] ? desc->size[1] : desc->size[0];
    }
    if (!tuple_ok("UpSampling2D", "size", 2, size, false))
        return NULL;
    up_sampling_layer *u = (up_sampling_layer *)gt_layer_new(
        &up_sampling_vt, sizeof(up_sampling_layer), desc ? desc->name : NULL);
    if (!u)
        return NULL;
    memcpy(u->size, size, sizeof size);
    return &u->base;
}
