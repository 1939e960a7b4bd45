/* Layer checks shared by the layer tests (layer_check.h). */
#include "layer_check.h"
#include "nn_ref.h"

#include <stdlib.h>
#include <string.h>

bool lcheck_stats;

void lcheck_ref_check(const char *key, const gt_tensor *t, double atol, double rtol) {
    nnref_check(key, t, atol, rtol);
    int64_t n = 0;
    const double *v = lcheck_stats && t ? nnref_get(key, &n) : NULL;
    if (!v || gt_tensor_size(t) != n)
        return;
    double worst = 0, worst_abs = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(gt_tensor_get(t, i) - v[i]);
        double r = e / (atol + rtol * fabs(v[i]));
        if (r > worst)
            worst = r;
        if (e > worst_abs)
            worst_abs = e;
    }
    printf("  %-34s max |err| %.3g  (%.2f of tolerance)\n", key, worst_abs, worst);
}

double lcheck_cfg(const char *key, int i) {
    int64_t n;
    const double *v = nnref_get(key, &n);
    return v && i < n ? v[i] : 0;
}

int lcheck_ref_shape(const char *key, int64_t *shape) {
    int64_t n;
    const double *v = nnref_get(key, &n);
    for (int64_t i = 0; v && i < n; i++)
        shape[i] = (int64_t)v[i];
    return v ? (int)n : 0;
}

static void set_var(gt_tensor *v, const double *vals) {
    gt_scope_begin();
    gt_tensor *t = gt_tensor_new(GT_F64, gt_tensor_rank(v), gt_tensor_shape(v), vals);
    GTT_OK(gt_variable_assign(v, gt_cast(t, gt_tensor_dtype(v))));
    gt_scope_end();
}

void lcheck_set_var(gt_tensor *v, const char *key) {
    lcheck_set_vars(&v, 1, key);
}

void lcheck_set_vars(gt_tensor *const *vars, int nv, const char *key) {
    int64_t n, total = 0;
    const double *vals = nnref_get(key, &n);
    if (!vals)
        return;
    for (int i = 0; i < nv; i++)
        total += gt_tensor_size(vars[i]);
    if (n != total) {
        GTT_CHECK(0, "%s: %lld values, the variables hold %lld", key, (long long)n, (long long)total);
        return;
    }
    for (int i = 0; i < nv; i++) {
        set_var(vars[i], vals);
        vals += gt_tensor_size(vars[i]);
    }
}

void lcheck_forward_and_grads(const char *key, gt_layer *l, gt_tensor *x, bool training,
                              double atol, double rtol, double gatol, double grtol) {
    char k[256];
    gt_tape *tape = gt_tape_begin(NULL);
    bool fx = gt_dtype_is_float(gt_tensor_dtype(x));
    if (fx)
        gt_tape_watch(tape, x);
    gt_tensor *y = gt_layer_call(l, x, training);
    GTT_OK(y != NULL);
    snprintf(k, sizeof k, "%s.yshape", key);
    int64_t want_shape[GT_MAX_RANK];
    int wr = lcheck_ref_shape(k, want_shape);
    GTT_CHECK(y && gt_tensor_rank(y) == wr &&
                  memcmp(gt_tensor_shape(y), want_shape, sizeof(int64_t) * (size_t)wr) == 0,
              "%s: output shape", key);
    snprintf(k, sizeof k, "%s.w", key);
    gt_tensor *w = y ? nnref_tensor(k, gt_tensor_dtype(y), gt_tensor_rank(y), gt_tensor_shape(y))
                     : NULL;
    gt_tensor *obj = gt_reduce_sum(gt_mul(y, w), GT_ALL, false);
    gt_tape_end(tape);
    snprintf(k, sizeof k, "%s.y", key);
    lcheck_ref_check(k, y, atol, rtol);
    gt_tensor *src[8];
    int ns = 0;
    if (fx)
        src[ns++] = x;
    ns += gt_layer_trainable_variables(l, src + ns, 8 - ns);
    gt_tensor *g[8] = {0};
    GTT_OK(gt_tape_gradient(tape, 1, (const gt_tensor *const[]){obj}, NULL, ns,
                            (const gt_tensor *const *)src, GT_UNCONNECTED_NONE, g));
    for (int i = 0; i < ns; i++) {
        snprintf(k, sizeof k, "%s.d%s", key, i == 0 && fx ? "x" : gt_variable_name(src[i]));
        lcheck_ref_check(k, g[i], gatol, grtol);
    }
    gt_tape_free(tape);
}

/* ---- summary ------------------------------------------------------------------------------ */

/* The lines of block `name` in path (a malloc'd string), or NULL. */
static char *summary_block(const char *path, const char *name) {
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0, nl = strlen(name);
    char *out = calloc(1, cap), line[4096];
    if (!out) {
        fclose(f);
        return NULL;
    }
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "#S ", 3) != 0 || strncmp(line + 3, name, nl) != 0 || line[3 + nl] != '|')
            continue;
        size_t k = strlen(line + 4 + nl);
        if (len + k + 1 < cap) {
            memcpy(out + len, line + 4 + nl, k + 1);
            len += k;
        }
    }
    fclose(f);
    if (!len) {
        free(out);
        return NULL;
    }
    return out;
}

void lcheck_summary(const gt_model *m, int line_length, const char *path, const char *block) {
    char *want = summary_block(path, block);
    GTT_CHECK(want != NULL, "summary block %s", block);
    if (!want)
        return;
    char got[1 << 16] = "";
    FILE *f = tmpfile();
    gt_model_summary(m, f, line_length);
    rewind(f);
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = 0;
    fclose(f);
    GTT_CHECK(strcmp(got, want) == 0, "summary %s differs:\n--- got\n%s--- want\n%s", block, got,
              want);
    free(want);
}

/* ---- gradient checks in float64 (input and weights) ----------------------------------------- */

/* f(x[0], weights x[1..nv]): the layer reads its own variables. gtt_gradcheck passes the
 * variables themselves (so tapes differentiate w.r.t. them) or, for finite differences,
 * nudged copies, which are assigned to the variables for the call and then undone. */
typedef struct lcase {
    gt_layer *layer;
    bool training;
    int nv;
    gt_tensor *vars[LCHECK_MAX_WEIGHTS], *orig[LCHECK_MAX_WEIGHTS];
} lcase;

static gt_tensor *layer_fn(gt_tensor *const *x, void *user) {
    lcase *c = user;
    bool swapped[LCHECK_MAX_WEIGHTS] = {false};
    for (int i = 0; i < c->nv; i++)
        if (x[1 + i] != c->vars[i])
            swapped[i] = gt_variable_assign(c->vars[i], x[1 + i]);
    gt_tensor *y = gt_layer_call(c->layer, x[0], c->training);
    for (int i = 0; i < c->nv; i++)
        if (swapped[i])
            gt_variable_assign(c->vars[i], c->orig[i]);
    return y;
}

/* z = sum_k sum(v_k * dL/dW_k), L = sum(w * layer(x)): z's gradient w.r.t. every weight and x
 * through nested tapes, against central differences of z (weights moved by assignment). The
 * second-order half of the weights' check. */
static double weight_z(lcase *c, gt_tensor *x, const gt_tensor *w, gt_tensor *const *v,
                       gt_tensor **zt) {
    gt_tape *inner = gt_tape_begin(NULL);
    for (int i = 0; i < c->nv; i++)
        gt_tape_watch(inner, c->vars[i]);
    gt_tensor *y = gt_layer_call(c->layer, x, c->training);
    gt_tensor *obj = gt_reduce_sum(gt_mul(y, w), GT_ALL, false);
    gt_tape_end(inner);
    gt_tensor *g[LCHECK_MAX_WEIGHTS] = {0};
    gt_tape_gradient(inner, 1, (const gt_tensor *const[]){obj}, NULL, c->nv,
                     (const gt_tensor *const *)c->vars, GT_UNCONNECTED_ZERO, g);
    gt_tape_free(inner);
    gt_tensor *z = NULL;
    for (int i = 0; i < c->nv; i++) {
        gt_tensor *t = gt_reduce_sum(gt_mul(g[i], v[i]), GT_ALL, false);
        z = z ? gt_add(z, t) : t;
    }
    if (zt)
        *zt = z;
    return z ? gt_item(z) : NAN;
}

static void weight_second_order(const char *name, lcase *c, gt_tensor *x) {
    gt_scope_begin();
    const double h = 1e-5, atol = 1e-5, rtol = 1e-4; /* gtt's second-order defaults */
    gt_tensor *y0 = gt_layer_call(c->layer, x, c->training);
    gt_tensor *w = gtt_randn(gt_tensor_rank(y0), gt_tensor_shape(y0), 1.0, 0.0, 1234);
    gt_tensor *v[LCHECK_MAX_WEIGHTS];
    for (int i = 0; i < c->nv; i++)
        v[i] = gtt_randn(gt_tensor_rank(c->vars[i]), gt_tensor_shape(c->vars[i]), 1.0, 0.0,
                         77 + (uint64_t)i);
    gt_tape *outer = gt_tape_begin(NULL);
    bool fx = gt_tensor_dtype(x) == GT_F64;
    if (fx)
        gt_tape_watch(outer, x);
    for (int i = 0; i < c->nv; i++)
        gt_tape_watch(outer, c->vars[i]);
    gt_tensor *z;
    weight_z(c, x, w, v, &z);
    gt_tape_end(outer);
    const gt_tensor *src[1 + LCHECK_MAX_WEIGHTS] = {x};
    for (int i = 0; i < c->nv; i++)
        src[1 + i] = c->vars[i];
    gt_tensor *hz[1 + LCHECK_MAX_WEIGHTS] = {0};
    GTT_OK(gt_tape_gradient(outer, 1, (const gt_tensor *const[]){z}, NULL, 1 + c->nv, src,
                            GT_UNCONNECTED_ZERO, hz));
    gt_tape_free(outer);
    int bad = 0;
    for (int i = fx ? 0 : 1; i <= c->nv; i++) {
        int64_t n = gt_tensor_size(src[i]);
        for (int64_t k = 0; k < n && hz[i]; k++) {
            double zs[2];
            for (int sgn = 0; sgn < 2; sgn++) {
                gt_scope_begin();
                double *buf = malloc(sizeof(double) * (size_t)n);
                gt_tensor_to_f64(src[i], buf, n);
                buf[k] += sgn ? -h : h;
                gt_tensor *moved =
                    gt_tensor_new(GT_F64, gt_tensor_rank(src[i]), gt_tensor_shape(src[i]), buf);
                free(buf);
                if (i == 0) {
                    zs[sgn] = weight_z(c, moved, w, v, NULL);
                } else {
                    gt_variable_assign(c->vars[i - 1], moved);
                    zs[sgn] = weight_z(c, x, w, v, NULL);
                    gt_variable_assign(c->vars[i - 1], c->orig[i - 1]);
                }
                gt_scope_end();
            }
            double fd = (zs[0] - zs[1]) / (2 * h), an = gt_tensor_get(hz[i], k);
            if (!(fabs(an - fd) <= atol + rtol * fabs(fd))) {
                if (bad < 5)
                    fprintf(stderr, "  %s: second order (weights) d/d%s[%lld]: tape %.12g, finite "
                                    "difference %.12g\n",
                            name, i ? gt_variable_name(c->vars[i - 1]) : "x", (long long)k, an, fd);
                bad++;
            }
        }
    }
    GTT_CHECK(bad == 0, "%s: second order through the weights: %d mismatches", name, bad);
    gt_scope_end();
}

void lcheck_layer_gradcheck(const char *name, gt_layer *l, gt_tensor *x, bool training,
                            bool all_weights, const gtt_grad_opts *opts) {
    gt_scope_begin();
    lcase c = {.layer = l, .training = training};
    GTT_OK(gt_layer_call(l, x, training) != NULL); /* builds in x's dtype (float64) */
    gt_tensor *vars[LCHECK_MAX_WEIGHTS];
    int nv = all_weights ? gt_layer_variables(l, vars, LCHECK_MAX_WEIGHTS)
                         : gt_layer_trainable_variables(l, vars, LCHECK_MAX_WEIGHTS);
    GTT_CHECK(nv <= LCHECK_MAX_WEIGHTS, "%s: %d weights, the check takes at most %d", name, nv,
              LCHECK_MAX_WEIGHTS);
    if (nv > LCHECK_MAX_WEIGHTS)
        nv = LCHECK_MAX_WEIGHTS;
    for (int i = 0; i < nv; i++) {
        bool variance = strcmp(gt_variable_name(vars[i]), "moving_variance") == 0;
        gt_tensor *val = variance ? gtt_rand_uniform(gt_tensor_rank(vars[i]), gt_tensor_shape(vars[i]),
                                                     0.5, 2.0, 300 + (uint64_t)i)
                                  : gtt_randn(gt_tensor_rank(vars[i]), gt_tensor_shape(vars[i]),
                                              0.5, 0.2, 300 + (uint64_t)i);
        GTT_OK(gt_variable_assign(vars[i], val));
        c.vars[i] = vars[i];
        c.orig[i] = val;
    }
    c.nv = nv;
    gt_tensor *in[1 + LCHECK_MAX_WEIGHTS] = {x};
    for (int i = 0; i < nv; i++)
        in[1 + i] = vars[i];
    /* First order (with forward mode and Jacobians) w.r.t. x and the weights; second order
     * w.r.t. x with the weights fixed. (gtt_gradcheck's second-order differences differentiate
     * at nudged copies of each input, which a layer cannot read in place of its variable.) */
    gtt_grad_opts o = opts ? *opts : (gtt_grad_opts){0};
    gtt_grad_opts first = o;
    first.first_only = true;
    gtt_gradcheck(name, layer_fn, &c, 1 + nv, in, &first);
    if (!o.first_only) {
        char n2[160];
        snprintf(n2, sizeof n2, "%s (x)", name);
        c.nv = 0;
        gtt_gradcheck(n2, layer_fn, &c, 1, in, &o);
        c.nv = nv;
        if (nv)
            weight_second_order(name, &c, x);
    }
    gt_scope_end();
}
