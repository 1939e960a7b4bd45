/* Tensors: creation, inspection, reference counts and scopes. */
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- dtypes ---------------------------------------------------------------------------------- */

const char *gt_dtype_name(gt_dtype d) {
    switch (d) {
    case GT_F32: return "float32";
    case GT_F64: return "float64";
    case GT_I32: return "int32";
    case GT_I64: return "int64";
    case GT_BOOL: return "bool";
    }
    return "invalid";
}

size_t gt_dtype_size(gt_dtype d) {
    switch (d) {
    case GT_F32:
    case GT_I32: return 4;
    case GT_F64:
    case GT_I64: return 8;
    case GT_BOOL: return 1;
    }
    return 0;
}

bool gt_dtype_is_float(gt_dtype d) { return gt__is_float(d); }

static bool valid_dtype(const char *who, gt_dtype d) {
    if ((unsigned)d <= GT_BOOL) return true;
    gt__error("%s: invalid dtype %d (use GT_F32, GT_F64, GT_I32, GT_I64 or GT_BOOL)", who, (int)d);
    return false;
}

/* ---- ids --------------------------------------------------------------------------------- */

static atomic_uint thread_counter;
_Thread_local uint64_t gt__id_last;

uint64_t gt__id_first(void) {
    gt__id_last = (uint64_t)(atomic_fetch_add(&thread_counter, 1) + 1) << 40;
    return ++gt__id_last;
}

/* ---- shapes ------------------------------------------------------------------------------ */

/* Formats by hand: some shape rules format their operands' shapes before knowing whether they
 * will need them for a message, and snprintf costs a few hundred instructions a number.
 * Output as snprintf would give it, truncated to n - 1 characters. */
char *gt__shape_str(char *buf, size_t n, int rank, const int64_t *shape) {
    if (!n) return buf;
    size_t k = 0;
#define PUT(ch)                                                                                  \
    do {                                                                                         \
        if (k + 1 < n) buf[k++] = (ch);                                                          \
    } while (0)
    PUT('[');
    for (int i = 0; i < rank; i++) {
        if (i) PUT(',');
        char digits[24];
        int nd = 0;
        int64_t v = shape[i];
        uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        do {
            digits[nd++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (v < 0) PUT('-');
        while (nd) PUT(digits[--nd]);
    }
    PUT(']');
#undef PUT
    buf[k] = 0;
    return buf;
}

bool gt__check_shape(const char *who, int rank, const int64_t *shape, int64_t *size) {
    if (rank < 0 || rank > GT_MAX_RANK) {
        gt__error("%s: rank %d is not supported (tensors have rank 0 to %d)", who, rank, GT_MAX_RANK);
        return false;
    }
    if (rank > 0 && !shape) {
        gt__error("%s: shape is NULL for rank %d", who, rank);
        return false;
    }
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) {
            gt__error("%s: dimension %d of shape %s is negative", who, i,
                      gt__shape_str((char[96]){0}, 96, rank, shape));
            return false;
        }
        /* Leave headroom for 8-byte elements so byte counts cannot overflow either. */
        if (shape[i] && n > INT64_MAX / 8 / shape[i]) {
            gt__error("%s: shape %s has too many elements (the size overflows)", who,
                      gt__shape_str((char[96]){0}, 96, rank, shape));
            return false;
        }
        n *= shape[i];
    }
    if (size) *size = n;
    return true;
}

bool gt__axis(const char *who, int axis, int rank, int *out) {
    if (axis < -rank || axis >= rank) {
        gt__error("%s: axis %d is out of range for a tensor of rank %d (valid: %d to %d)", who,
                  axis, rank, -rank, rank - 1);
        return false;
    }
    *out = axis < 0 ? axis + rank : axis;
    return true;
}

/* ---- references (tensor structs, their allocation and release live in alloc.c) ------------ */

gt_tensor *gt_retain(gt_tensor *t) {
    if (t) atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
    return t;
}

void gt_release(gt_tensor *t) {
    if (t && t->var) {
        gt__error("gt_release: that tensor is a variable; free it with gt_variable_free");
        return;
    }
    gt__tensor_unref(t);
}

/* ---- scopes ---------------------------------------------------------------------------------- */

_Thread_local gt__scope_state gt__scope;
#define S gt__scope

bool gt__scope_grow(void) {
    return gt__grow((void **)&S.owned, &S.cap, S.n + 1, sizeof *S.owned, "a scope");
}

void gt_scope_begin(void) {
    if (GT__UNLIKELY(S.depth == S.scap) &&
        !gt__grow((void **)&S.starts, &S.scap, S.depth + 1, sizeof *S.starts, "a scope"))
        return;
    S.starts[S.depth++] = S.n;
}

void gt_scope_end(void) {
    if (S.depth == 0) {
        gt__error("gt_scope_end: no scope is open (every gt_scope_end needs a gt_scope_begin)");
        return;
    }
    int64_t start = S.starts[--S.depth];
    for (int64_t i = S.n; i-- > start;) gt__tensor_unref(S.owned[i]);
    S.n = start;
    /* Tensors kept from this scope now belong to the enclosing one. */
    while (S.nkept > 0 && S.kept_depth[S.nkept - 1] == S.depth + 1) gt__scope_add(S.kept[--S.nkept]);
}

gt_tensor *gt_keep(gt_tensor *t) {
    if (!t || S.depth == 0 || t->var) return t; /* variables are never scope-owned */
    if (!gt__grow((void **)&S.kept, &S.kcap, S.nkept + 1, sizeof *S.kept, "a scope") ||
        !gt__grow((void **)&S.kept_depth, &S.kdcap, S.nkept + 1, sizeof *S.kept_depth, "a scope"))
        return t;
    gt_retain(t);
    S.kept[S.nkept] = t;
    S.kept_depth[S.nkept++] = S.depth;
    return t;
}

/* ---- creation ------------------------------------------------------------------------------ */

gt_tensor *gt_tensor_new(gt_dtype dtype, int rank, const int64_t *shape, const void *data) {
    int64_t size;
    if (!valid_dtype("gt_tensor_new", dtype) || !gt__check_shape("gt_tensor_new", rank, shape, &size))
        return NULL;
    gt_tensor *t = gt__tensor_alloc(dtype, rank, shape);
    if (!t) return NULL;
    size_t bytes = (size_t)size * gt_dtype_size(dtype);
    if (data) {
        if (bytes) memcpy(t->data, data, bytes);
    } else {
        memset(t->data, 0, bytes);
    }
    return t;
}

void gt__set(gt_tensor *t, int64_t i, double v) {
    switch (t->dtype) {
    case GT_F32: ((float *)t->data)[i] = (float)v; break;
    case GT_F64: ((double *)t->data)[i] = v; break;
    case GT_I32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case GT_I64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    case GT_BOOL: ((bool *)t->data)[i] = v != 0; break;
    }
}

double gt__get(const gt_tensor *t, int64_t i) {
    switch (t->dtype) {
    case GT_F32: return ((const float *)t->data)[i];
    case GT_F64: return ((const double *)t->data)[i];
    case GT_I32: return ((const int32_t *)t->data)[i];
    case GT_I64: return (double)((const int64_t *)t->data)[i];
    case GT_BOOL: return ((const bool *)t->data)[i];
    }
    return NAN;
}

gt_tensor *gt_fill(gt_dtype dtype, int rank, const int64_t *shape, double value) {
    int64_t size;
    if (!valid_dtype("gt_fill", dtype) || !gt__check_shape("gt_fill", rank, shape, &size)) return NULL;
    gt_tensor *t = gt__tensor_alloc(dtype, rank, shape);
    if (!t) return NULL;
    if (dtype == GT_F32) {
        float v = (float)value, *p = t->data;
        for (int64_t i = 0; i < size; i++) p[i] = v;
    } else if (dtype == GT_F64) {
        double *p = t->data;
        for (int64_t i = 0; i < size; i++) p[i] = value;
    } else {
        for (int64_t i = 0; i < size; i++) gt__set(t, i, value);
    }
    return t;
}

gt_tensor *gt_zeros(gt_dtype dtype, int rank, const int64_t *shape) {
    return gt_tensor_new(dtype, rank, shape, NULL);
}
gt_tensor *gt_ones(gt_dtype dtype, int rank, const int64_t *shape) {
    return gt_fill(dtype, rank, shape, 1.0);
}
/* Scalars are made for every `x * 2.0`: straight to the allocator, no shape to check. */
gt_tensor *gt_scalar_of(gt_dtype dtype, double value) {
    if (!valid_dtype("gt_fill", dtype)) return NULL;
    gt_tensor *t = gt__tensor_alloc(dtype, 0, NULL);
    if (t) gt__set(t, 0, value);
    return t;
}
gt_tensor *gt_scalar(double value) { return gt_fill(GT_F32, 0, NULL, value); }

gt_tensor *gt_zeros_like(const gt_tensor *t) {
    if (!t) {
        gt__error_null("gt_zeros_like");
        return NULL;
    }
    return gt_zeros(t->dtype, t->rank, t->shape);
}

gt_tensor *gt_ones_like(const gt_tensor *t) {
    if (!t) {
        gt__error_null("gt_ones_like");
        return NULL;
    }
    return gt_ones(t->dtype, t->rank, t->shape);
}

gt_tensor *gt_range(double start, double limit, double delta, gt_dtype dtype) {
    if (!valid_dtype("gt_range", dtype)) return NULL;
    if (delta == 0 || !isfinite(delta) || !isfinite(start) || !isfinite(limit)) {
        gt__error("gt_range: delta must be finite and non-zero, start and limit finite "
                  "(got start=%g limit=%g delta=%g)", start, limit, delta);
        return NULL;
    }
    if ((delta > 0 && start > limit) || (delta < 0 && start < limit)) {
        gt__error("gt_range: start=%g cannot reach limit=%g with delta=%g", start, limit, delta);
        return NULL;
    }
    double n = ceil(fabs((limit - start) / delta));
    if (n > 1e12) {
        gt__error("gt_range: %g elements is too many", n);
        return NULL;
    }
    int64_t shape[1] = {(int64_t)n};
    gt_tensor *t = gt__tensor_alloc(dtype, 1, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < shape[0]; i++) gt__set(t, i, start + (double)i * delta);
    return t;
}

gt_tensor *gt_eye(int64_t n, gt_dtype dtype) {
    int64_t shape[2] = {n, n};
    gt_tensor *t = gt_zeros(dtype, 2, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) gt__set(t, i * n + i, 1.0);
    return t;
}

/* ---- inspection ---------------------------------------------------------------------------- */

#define GT__NEED(t, who, ret)                                                                    \
    do {                                                                                         \
        if (!(t)) {                                                                              \
            gt__error_null(who);                                                                 \
            return ret;                                                                          \
        }                                                                                        \
    } while (0)

gt_dtype gt_tensor_dtype(const gt_tensor *t) {
    GT__NEED(t, "gt_tensor_dtype", GT_F32);
    return t->dtype;
}
int gt_tensor_rank(const gt_tensor *t) {
    GT__NEED(t, "gt_tensor_rank", -1);
    return t->rank;
}
const int64_t *gt_tensor_shape(const gt_tensor *t) {
    GT__NEED(t, "gt_tensor_shape", NULL);
    return t->shape;
}
int64_t gt_tensor_size(const gt_tensor *t) {
    GT__NEED(t, "gt_tensor_size", -1);
    return t->size;
}
const void *gt_tensor_data(const gt_tensor *t) {
    GT__NEED(t, "gt_tensor_data", NULL);
    return t->data;
}

int64_t gt_tensor_dim(const gt_tensor *t, int axis) {
    GT__NEED(t, "gt_tensor_dim", -1);
    int a;
    if (!gt__axis("gt_tensor_dim", axis, t->rank, &a)) return -1;
    return t->shape[a];
}

double gt_item(const gt_tensor *t) {
    GT__NEED(t, "gt_item", NAN);
    if (t->size != 1) {
        gt__error("gt_item: tensor of shape %s has %lld elements; gt_item needs exactly one",
                  GT__SHAPE_STR(t), (long long)t->size);
        return NAN;
    }
    return gt__get(t, 0);
}

double gt_tensor_get(const gt_tensor *t, int64_t i) {
    GT__NEED(t, "gt_tensor_get", NAN);
    if (i < 0 || i >= t->size) {
        gt__error("gt_tensor_get: index %lld is out of range for %lld elements", (long long)i,
                  (long long)t->size);
        return NAN;
    }
    return gt__get(t, i);
}

bool gt_tensor_to_f32(const gt_tensor *t, float *out, int64_t size) {
    GT__NEED(t, "gt_tensor_to_f32", false);
    if (!out || size < t->size) {
        gt__error("gt_tensor_to_f32: the output holds %lld elements, the tensor has %lld",
                  (long long)size, (long long)t->size);
        return false;
    }
    if (t->dtype == GT_F32) {
        if (t->size) memcpy(out, t->data, (size_t)t->size * 4);
    } else {
        for (int64_t i = 0; i < t->size; i++) out[i] = (float)gt__get(t, i);
    }
    return true;
}

bool gt_tensor_to_f64(const gt_tensor *t, double *out, int64_t size) {
    GT__NEED(t, "gt_tensor_to_f64", false);
    if (!out || size < t->size) {
        gt__error("gt_tensor_to_f64: the output holds %lld elements, the tensor has %lld",
                  (long long)size, (long long)t->size);
        return false;
    }
    for (int64_t i = 0; i < t->size; i++) out[i] = gt__get(t, i);
    return true;
}

bool gt_tensor_equal(const gt_tensor *a, const gt_tensor *b) {
    if (!a || !b) return false;
    if (a->dtype != b->dtype || !gt__same_shape(a, b)) return false;
    return !a->size || !memcmp(a->data, b->data, (size_t)a->size * gt_dtype_size(a->dtype));
}

bool gt_tensor_attach_logits(gt_tensor *out, const gt_tensor *logits) {
    if (!out || !logits) {
        gt__error_null("gt_tensor_attach_logits");
        return false;
    }
    if (out->var || logits->var) {
        gt__error("gt_tensor_attach_logits: variables cannot carry or be logits");
        return false;
    }
    gt_tensor *old = out->logits;
    out->logits = gt_retain((gt_tensor *)logits);
    gt__tensor_unref(old);
    return true;
}

gt_tensor *gt_tensor_logits(const gt_tensor *t) { return t ? t->logits : NULL; }
