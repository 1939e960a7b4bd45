#include "gtt.h"

#include <stdarg.h>
#include <stdlib.h>

int gtt_passed, gtt_failed;

void gtt_check_(int ok, const char *file, int line, const char *expr, const char *fmt, ...) {
    if (ok) {
        gtt_passed++;
        return;
    }
    gtt_failed++;
    fprintf(stderr, "FAIL %s:%d: %s", file, line, expr);
    if (fmt && *fmt) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        if (*buf) fprintf(stderr, " -- %s", buf);
    }
    fputc('\n', stderr);
}

static int close_enough(double a, double b, double atol, double rtol) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

void gtt_close_(double a, double b, double atol, double rtol, const char *file, int line,
                const char *expr) {
    gtt_check_(close_enough(a, b, atol, rtol), file, line, expr, "got %.17g, want %.17g", a, b);
}

void gtt_error_has_(const char *needle, const char *file, int line) {
    const char *e = gt_error();
    gtt_check_(e && strstr(e, needle), file, line, "error message", "want \"%s\" in \"%s\"", needle,
               e ? e : "(no error)");
    gt_error_clear();
}

void gtt_tensor_close(const char *what, const gt_tensor *t, const double *want, int64_t n,
                      double atol, double rtol) {
    if (!t) {
        gtt_check_(0, __FILE__, __LINE__, what, "tensor is NULL: %s", gt_error() ? gt_error() : "");
        return;
    }
    if (gt_tensor_size(t) != n) {
        gtt_check_(0, __FILE__, __LINE__, what, "size %lld, want %lld", (long long)gt_tensor_size(t),
                   (long long)n);
        return;
    }
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = gt_tensor_get(t, i);
        if (!close_enough(a, want[i], atol, rtol)) {
            if (bad++ < 5)
                fprintf(stderr, "  %s[%lld] = %.17g, want %.17g\n", what, (long long)i, a, want[i]);
        }
    }
    gtt_check_(bad == 0, __FILE__, __LINE__, what, "%d of %lld elements differ", bad, (long long)n);
}

int gtt_finish(void) {
    printf("%d passed, %d failed\n", gtt_passed, gtt_failed);
    return gtt_failed ? 1 : 0;
}

gt_tensor *gtt_randn(int rank, const int64_t *shape, double scale, double shift, uint64_t seed) {
    gt_rng r = gt_rng_new(seed);
    return gt_random_normal(rank, shape, shift, scale, GT_F64, &r);
}

gt_tensor *gtt_rand_uniform(int rank, const int64_t *shape, double lo, double hi, uint64_t seed) {
    gt_rng r = gt_rng_new(seed);
    return gt_random_uniform(rank, shape, lo, hi, GT_F64, &r);
}

/* y = f(x) and g[i] = d sum(y * y) / d x[i] through one persistent tape. */
static gt_tensor *value_and_grads(gtt_fn f, void *user, int nin, gt_tensor *const *x,
                                  gt_tensor **g) {
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    for (int i = 0; i < nin; i++)
        gt_tape_watch(t, x[i]);
    gt_tensor *y = f(x, user);
    gt_tensor *loss = gt_reduce_sum(gt_mul(y, y), GT_ALL, false);
    gt_tape_end(t);
    for (int i = 0; i < nin; i++)
        g[i] = gt_gradient(t, loss, x[i]);
    gt_tape_free(t);
    return y;
}

void gtt_check_fused(const char *what, gtt_fn fused, gtt_fn composed, void *user, int nin,
                     gt_tensor *const *x) {
    gt_tensor *g[2][4] = {{NULL}};
    gt_tensor *y0 = value_and_grads(composed, user, nin, x, g[0]);
    gt_tensor *y1 = value_and_grads(fused, user, nin, x, g[1]);
    gtt_check_(y0 && y1 && gt_tensor_equal(y0, y1), __FILE__, __LINE__, "fused forward",
               "%s: the fused output differs from the composition's (%s)", what,
               gt_error() ? gt_error() : "bits differ");
    for (int i = 0; i < nin; i++)
        gtt_check_(g[0][i] && g[1][i] && gt_tensor_equal(g[0][i], g[1][i]), __FILE__, __LINE__,
                   "fused gradient", "%s: the fused gradient %d differs from the composition's",
                   what, i);
}

/* sum(w * f(x)) with x replaced by the given tensors. */
static gt_tensor *objective(gtt_fn f, void *user, gt_tensor *const *x, const gt_tensor *w) {
    gt_tensor *y = f(x, user);
    if (!y) return NULL;
    if (gt_tensor_dtype(y) != GT_F64) y = gt_cast(y, GT_F64);
    return gt_reduce_sum(gt_mul(y, w), GT_ALL, false);
}

static double objective_value(gtt_fn f, void *user, gt_tensor *const *x, const gt_tensor *w) {
    gt_scope_begin();
    double v = gt_item(objective(f, user, x, w));
    gt_scope_end();
    return v;
}

/* A copy of x with element i moved by d (a fresh f64 tensor). */
static gt_tensor *nudged(const gt_tensor *x, int64_t i, double d) {
    int64_t n = gt_tensor_size(x);
    double *buf = malloc(sizeof(double) * (size_t)(n ? n : 1));
    gt_tensor_to_f64(x, buf, n);
    buf[i] += d;
    gt_tensor *t = gt_tensor_new(GT_F64, gt_tensor_rank(x), gt_tensor_shape(x), buf);
    free(buf);
    return t;
}

/* First gradients of sum(w*f) w.r.t. every checked input, taken on one tape. */
static void first_grads(gtt_fn f, void *user, int nin, gt_tensor *const *x, const gt_tensor *w,
                        const bool *use, gt_tensor **g) {
    gt_tape *tp = gt_tape_begin(NULL);
    for (int i = 0; i < nin; i++)
        if (use[i]) gt_tape_watch(tp, x[i]);
    gt_tensor *y = objective(f, user, x, w);
    gt_tape_end(tp);
    const gt_tensor *src[16];
    for (int i = 0; i < nin; i++) src[i] = x[i];
    gt_tape_gradient(tp, 1, (const gt_tensor *const *)&y, NULL, nin, src, GT_UNCONNECTED_ZERO, g);
    gt_tape_free(tp);
}

/* Forward mode: the JVP of f along random tangents v, weighted by w, equals the directional
 * derivative from the reverse-mode gradients, sum_i <g_i, v_i>, and central differences of
 * the objective along v. */
static void check_forward_mode(const char *name, gtt_fn f, void *user, int nin, gt_tensor *const *x,
                               const gt_tensor *w, const bool *use, gt_tensor *const *g,
                               const gtt_grad_opts *d) {
    gt_scope_begin();
    const gt_tensor *prim[16], *tan[16];
    int np = 0;
    double rev = 0;
    gt_tensor *v[16] = {0};
    for (int i = 0; i < nin; i++) {
        if (!use[i]) continue;
        v[i] = gtt_randn(gt_tensor_rank(x[i]), gt_tensor_shape(x[i]), 1.0, 0.0, 555 + (uint64_t)i);
        prim[np] = x[i];
        tan[np++] = v[i];
        rev += gt_item(gt_reduce_sum(gt_mul(g[i], v[i]), GT_ALL, false));
    }
    gt_accumulator *acc = gt_accumulator_begin(np, prim, tan);
    gt_tensor *y = f(x, user);
    gt_accumulator_end(acc);
    gt_tensor *jv = gt_accumulator_jvp(acc, y, GT_UNCONNECTED_ZERO);
    if (jv && gt_tensor_dtype(jv) != GT_F64) jv = gt_cast(jv, GT_F64);
    double fwd = gt_item(gt_reduce_sum(gt_mul(jv, w), GT_ALL, false));
    gt_accumulator_free(acc);
    /* Same derivative by two exact routes: only rounding differs. */
    gtt_check_(close_enough(fwd, rev, 1e-9, 1e-9), __FILE__, __LINE__, name,
               "forward mode %.15g vs reverse mode %.15g", fwd, rev);
    gt_tensor *xs[16];
    memcpy(xs, x, sizeof(gt_tensor *) * (size_t)nin);
    double h = d->h;
    for (int i = 0; i < nin; i++)
        if (use[i]) xs[i] = gt_add(x[i], gt_mul_s(v[i], h));
    double fp = objective_value(f, user, xs, w);
    for (int i = 0; i < nin; i++)
        if (use[i]) xs[i] = gt_sub(x[i], gt_mul_s(v[i], h));
    double fm = objective_value(f, user, xs, w);
    double fd = (fp - fm) / (2 * h);
    gtt_check_(close_enough(fwd, fd, d->atol * 10, d->rtol * 10), __FILE__, __LINE__, name,
               "forward mode %.15g vs finite difference %.15g", fwd, fd);
    if (gt_error()) {
        gtt_check_(0, __FILE__, __LINE__, name, "forward mode error: %s", gt_error());
        gt_error_clear();
    }
    gt_scope_end();
}

/* Jacobians: the vectorised sweep equals one sweep per row, and w^T J equals the gradient. */
static void check_jacobians(const char *name, gtt_fn f, void *user, int nin, gt_tensor *const *x,
                            const gt_tensor *w, const bool *use, gt_tensor *const *g) {
    gt_scope_begin();
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    for (int i = 0; i < nin; i++)
        if (use[i]) gt_tape_watch(t, x[i]);
    gt_tensor *y = f(x, user);
    if (y && gt_tensor_dtype(y) != GT_F64) y = gt_cast(y, GT_F64);
    gt_tape_end(t);
    const gt_tensor *src[16];
    for (int i = 0; i < nin; i++) src[i] = x[i];
    gt_tensor *jv[16] = {0}, *jl[16] = {0};
    bool ok = gt_tape_jacobian_ex(t, y, nin, src, GT_UNCONNECTED_ZERO, true, jv) &&
              gt_tape_jacobian_ex(t, y, nin, src, GT_UNCONNECTED_ZERO, false, jl);
    gtt_check_(ok, __FILE__, __LINE__, name, "jacobian failed: %s", gt_error() ? gt_error() : "");
    gt_error_clear();
    int64_t m = y ? gt_tensor_size(y) : 0;
    for (int i = 0; ok && i < nin; i++) {
        if (!use[i]) continue;
        int64_t n = gt_tensor_size(x[i]);
        int bad = 0;
        for (int64_t k = 0; k < m * n; k++) {
            double a = gt_tensor_get(jv[i], k), b = gt_tensor_get(jl[i], k);
            /* Batched and per-row sweeps may sum in different orders: rounding only. */
            if (!close_enough(a, b, 1e-11, 1e-10) && bad++ < 3)
                fprintf(stderr, "  %s: jacobian[%d][%lld]: vectorised %.15g, per row %.15g\n", name, i,
                        (long long)k, a, b);
        }
        for (int64_t c = 0; c < n; c++) {
            double acc = 0;
            for (int64_t r = 0; r < m; r++) acc += gt_tensor_get(w, r) * gt_tensor_get(jv[i], r * n + c);
            if (!close_enough(acc, gt_tensor_get(g[i], c), 1e-10, 1e-9) && bad++ < 3)
                fprintf(stderr, "  %s: (w^T J)[%d][%lld] = %.15g, gradient %.15g\n", name, i,
                        (long long)c, acc, gt_tensor_get(g[i], c));
        }
        gtt_check_(bad == 0, __FILE__, __LINE__, name, "jacobian of input %d: %d mismatches", i, bad);
    }
    gt_tape_free(t);
    gt_scope_end();
}

void gtt_gradcheck(const char *name, gtt_fn f, void *user, int nin, gt_tensor *const *x,
                   const gtt_grad_opts *o) {
    gtt_grad_opts d = {.h = 1e-6, .atol = 1e-6, .rtol = 1e-5, .h2 = 1e-5, .atol2 = 1e-5, .rtol2 = 1e-4};
    if (o) {
        if (o->h) d.h = o->h;
        if (o->atol) d.atol = o->atol;
        if (o->rtol) d.rtol = o->rtol;
        if (o->h2) d.h2 = o->h2;
        if (o->atol2) d.atol2 = o->atol2;
        if (o->rtol2) d.rtol2 = o->rtol2;
        d.first_only = o->first_only;
        d.skip = o->skip;
    }
    if (nin > 16) {
        gtt_check_(0, __FILE__, __LINE__, name, "too many inputs");
        return;
    }
    gt_scope_begin();
    gt_tensor *y0 = f(x, user);
    if (!y0) {
        gtt_check_(0, __FILE__, __LINE__, name, "forward failed: %s", gt_error() ? gt_error() : "");
        gt_error_clear();
        gt_scope_end();
        return;
    }
    gt_tensor *w = gtt_randn(gt_tensor_rank(y0), gt_tensor_shape(y0), 1.0, 0.0, 1234);
    bool use[16] = {false};
    for (int i = 0; i < nin; i++)
        use[i] = gt_tensor_dtype(x[i]) == GT_F64 && !((d.skip >> i) & 1u);

    /* First order. */
    gt_tensor *g[16] = {0};
    first_grads(f, user, nin, x, w, use, g);
    int bad = 0;
    for (int i = 0; i < nin; i++) {
        if (!use[i]) continue;
        if (!g[i]) {
            gtt_check_(0, __FILE__, __LINE__, name, "input %d: no gradient (%s)", i,
                       gt_error() ? gt_error() : "NULL");
            gt_error_clear();
            bad++;
            continue;
        }
        for (int64_t k = 0; k < gt_tensor_size(x[i]); k++) {
            gt_tensor *xs[16];
            memcpy(xs, x, sizeof(gt_tensor *) * (size_t)nin);
            gt_scope_begin();
            xs[i] = nudged(x[i], k, d.h);
            double fp = objective_value(f, user, xs, w);
            xs[i] = nudged(x[i], k, -d.h);
            double fm = objective_value(f, user, xs, w);
            gt_scope_end();
            double fd = (fp - fm) / (2 * d.h), an = gt_tensor_get(g[i], k);
            if (!close_enough(an, fd, d.atol, d.rtol)) {
                if (bad < 5)
                    fprintf(stderr, "  %s: d/dx%d[%lld]: tape %.12g, finite difference %.12g\n",
                            name, i, (long long)k, an, fd);
                bad++;
            }
        }
    }
    gtt_check_(bad == 0, __FILE__, __LINE__, name, "first-order gradient mismatches: %d", bad);
    /* With no input element there is no direction to differentiate along (and reductions
     * of empty sets give NaN or -inf outputs): forward mode and Jacobians have nothing to
     * check. A Jacobian must also fit the rank limit. */
    int64_t in_elems = 0;
    int jac_rank = 0;
    for (int i = 0; i < nin; i++) {
        if (!use[i]) continue;
        in_elems += gt_tensor_size(x[i]);
        if (gt_tensor_rank(x[i]) > jac_rank) jac_rank = gt_tensor_rank(x[i]);
    }
    if (!bad && in_elems > 0) {
        check_forward_mode(name, f, user, nin, x, w, use, g, &d);
        if (jac_rank + gt_tensor_rank(y0) <= GT_MAX_RANK) check_jacobians(name, f, user, nin, x, w, use, g);
    }

    /* Second order: z = sum_i sum(v_i * g_i(x)); compare dz/dx_j with differences of z. */
    if (!d.first_only) {
        gt_tensor *v[16] = {0};
        for (int i = 0; i < nin; i++)
            if (use[i]) v[i] = gtt_randn(gt_tensor_rank(x[i]), gt_tensor_shape(x[i]), 1.0, 0.0, 99 + (uint64_t)i);
        gt_tape *outer = gt_tape_begin(NULL);
        for (int i = 0; i < nin; i++)
            if (use[i]) gt_tape_watch(outer, x[i]);
        gt_tensor *gi[16] = {0};
        first_grads(f, user, nin, x, w, use, gi);
        gt_tensor *z = NULL;
        for (int i = 0; i < nin; i++) {
            if (!use[i] || !gi[i]) continue;
            gt_tensor *term = gt_reduce_sum(gt_mul(gi[i], v[i]), GT_ALL, false);
            z = z ? gt_add(z, term) : term;
        }
        gt_tape_end(outer);
        gt_tensor *h[16] = {0};
        if (z) {
            const gt_tensor *src[16];
            for (int i = 0; i < nin; i++) src[i] = x[i];
            gt_tape_gradient(outer, 1, (const gt_tensor *const *)&z, NULL, nin, src,
                             GT_UNCONNECTED_ZERO, h);
        }
        gt_tape_free(outer);
        int bad2 = 0;
        for (int j = 0; j < nin && z; j++) {
            if (!use[j]) continue;
            if (!h[j]) {
                gtt_check_(0, __FILE__, __LINE__, name, "second order: input %d has no gradient (%s)", j,
                           gt_error() ? gt_error() : "NULL");
                gt_error_clear();
                bad2++;
                continue;
            }
            for (int64_t k = 0; k < gt_tensor_size(x[j]); k++) {
                double zs[2];
                for (int sgn = 0; sgn < 2; sgn++) {
                    gt_scope_begin();
                    gt_tensor *xs[16], *gg[16] = {0};
                    memcpy(xs, x, sizeof(gt_tensor *) * (size_t)nin);
                    xs[j] = nudged(x[j], k, sgn ? -d.h2 : d.h2);
                    first_grads(f, user, nin, xs, w, use, gg);
                    double acc = 0;
                    for (int i = 0; i < nin; i++)
                        if (use[i] && gg[i]) acc += gt_item(gt_reduce_sum(gt_mul(gg[i], v[i]), GT_ALL, false));
                    zs[sgn] = acc;
                    gt_scope_end();
                }
                double fd = (zs[0] - zs[1]) / (2 * d.h2), an = gt_tensor_get(h[j], k);
                if (!close_enough(an, fd, d.atol2, d.rtol2)) {
                    if (bad2 < 5)
                        fprintf(stderr, "  %s: second order d/dx%d[%lld]: tape %.12g, finite difference %.12g\n",
                                name, j, (long long)k, an, fd);
                    bad2++;
                }
            }
        }
        gtt_check_(z == NULL || bad2 == 0, __FILE__, __LINE__, name, "second-order mismatches: %d", bad2);
    }
    if (gt_error()) {
        gtt_check_(0, __FILE__, __LINE__, name, "error during the check: %s", gt_error());
        gt_error_clear();
    }
    gt_scope_end();
}
