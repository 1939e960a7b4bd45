/* Convolution and pooling: forward values and both backprops against naive loops written
 * here from the definitions (TensorFlow's padding formula re-derived independently), TF's
 * "same" padding placement, max-pool tie rules, average-pool "same" divisors, f32 and f64,
 * size-0 tensors, error messages, and bitwise equality of 1 and 2 threads. */
#include <gradtape_conv.h>

#include "gtt.h"
#include "kernels/gemm.h"

#include <stdlib.h>

/* ---- naive references --------------------------------------------------------------------- */

typedef struct cg {
    int64_t n, h, w, c, kh, kw, f, sh, sw, dh, dw, groups;
    int same;
    int64_t oh, ow, pt, pl;
} cg;

/* TensorFlow (kernel_shape_util.cc): same: out = ceil(in/s), pad_total = max((out-1)s +
 * (k-1)d + 1 - in, 0), before = total/2; valid: out = ceil((in - (k-1)d) / s). */
static int64_t out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int same, int64_t *pad) {
    int64_t eff = (k - 1) * d + 1;
    if (same) {
        int64_t o = (in + s - 1) / s, t = (o - 1) * s + eff - in;
        *pad = t > 0 ? t / 2 : 0;
        return o;
    }
    *pad = 0;
    int64_t r = in - eff + 1;
    return r <= 0 ? 0 : (r + s - 1) / s;
}

static void finish_geom(cg *g) {
    g->oh = out_dim(g->h, g->kh, g->sh, g->dh, g->same, &g->pt);
    g->ow = out_dim(g->w, g->kw, g->sw, g->dw, g->same, &g->pl);
}

static gt_conv2d_desc desc_of(const cg *g) {
    return (gt_conv2d_desc){.strides = {g->sh, g->sw},
                            .dilations = {g->dh, g->dw},
                            .groups = g->groups,
                            .padding = g->same ? GT_PADDING_SAME : GT_PADDING_VALID};
}

/* Visits every (output, tap, in-channel, filter) term of the convolution. mode 0: y += x w;
 * 1: dx += dy w; 2: dw += x dy. Sums in long double so the reference is exact to f64. */
static void ref_conv(const cg *g, int mode, const double *a, const double *b, double *out) {
    int64_t cgp = g->c / g->groups, fg = g->f / g->groups;
    int64_t osz = mode == 0   ? g->n * g->oh * g->ow * g->f
                  : mode == 1 ? g->n * g->h * g->w * g->c
                              : g->kh * g->kw * cgp * g->f;
    long double *acc = calloc((size_t)osz + 1, sizeof *acc);
    for (int64_t n = 0; n < g->n; n++)
        for (int64_t oh = 0; oh < g->oh; oh++)
            for (int64_t ow = 0; ow < g->ow; ow++)
                for (int64_t kh = 0; kh < g->kh; kh++)
                    for (int64_t kw = 0; kw < g->kw; kw++) {
                        int64_t ih = oh * g->sh - g->pt + kh * g->dh,
                                iw = ow * g->sw - g->pl + kw * g->dw;
                        if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
                            continue;
                        for (int64_t f = 0; f < g->f; f++) {
                            int64_t grp = f / fg;
                            for (int64_t ci = 0; ci < cgp; ci++) {
                                int64_t xi = ((n * g->h + ih) * g->w + iw) * g->c + grp * cgp + ci;
                                int64_t wi = ((kh * g->kw + kw) * cgp + ci) * g->f + f;
                                int64_t yi = ((n * g->oh + oh) * g->ow + ow) * g->f + f;
                                if (mode == 0)
                                    acc[yi] += (long double)a[xi] * b[wi];
                                else if (mode == 1)
                                    acc[xi] += (long double)a[yi] * b[wi];
                                else
                                    acc[wi] += (long double)a[xi] * b[yi];
                            }
                        }
                    }
    for (int64_t i = 0; i < osz; i++)
        out[i] = (double)acc[i];
    free(acc);
}

static double *to_f64(const gt_tensor *t) {
    int64_t n = gt_tensor_size(t);
    double *p = malloc(sizeof(double) * (size_t)(n + 1));
    gt_tensor_to_f64(t, p, n);
    return p;
}

static uint64_t rng_state = 88172645463325252ull;
static int64_t rnd(int64_t lo, int64_t hi) { /* uniform in [lo, hi] */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (int64_t)(rng_state % (uint64_t)(hi - lo + 1));
}

/* Forward and both backprops of one geometry against the reference, in dtype dt. */
static void check_geom(const cg *g, gt_dtype dt, uint64_t seed) {
    gt_scope_begin();
    int64_t cgp = g->c / g->groups;
    int64_t xs[4] = {g->n, g->h, g->w, g->c}, ws[4] = {g->kh, g->kw, cgp, g->f},
            ys[4] = {g->n, g->oh, g->ow, g->f};
    gt_tensor *x = gt_cast(gtt_randn(4, xs, 1.0, 0.0, seed), dt);
    gt_tensor *w = gt_cast(gtt_randn(4, ws, 1.0, 0.0, seed + 1), dt);
    gt_tensor *dy = gt_cast(gtt_randn(4, ys, 1.0, 0.0, seed + 2), dt);
    gt_conv2d_desc d = desc_of(g);
    gt_tensor *got[3] = {gt_conv2d(x, w, &d), gt_conv2d_backprop_input(xs, w, dy, &d),
                         gt_conv2d_backprop_filter(x, ws, dy, &d)};
    double *xv = to_f64(x), *wv = to_f64(w), *dyv = to_f64(dy);
    const double *args[3][2] = {{xv, wv}, {dyv, wv}, {xv, dyv}};
    /* Each output element is a sum of at most `terms` products of N(0,1) values: float32
     * rounding grows like eps * sqrt(terms) * |typical product|; 1e-5 * terms covers it with
     * room. float64 only differs from the long double reference by reordering. */
    int64_t terms[3] = {g->kh * g->kw * cgp, g->kh * g->kw * g->f, g->n * g->oh * g->ow};
    for (int k = 0; k < 3; k++) {
        GTT_CHECK(got[k] != NULL, "op %d failed: %s", k, gt_error() ? gt_error() : "");
        if (!got[k]) {
            gt_error_clear();
            continue;
        }
        int64_t n = gt_tensor_size(got[k]);
        double *want = malloc(sizeof(double) * (size_t)(n + 1));
        ref_conv(g, k, args[k][0], args[k][1], want);
        double tol = dt == GT_F32 ? 1e-5 * (double)(terms[k] + 1) : 1e-12 * (double)(terms[k] + 1);
        static const char *const nm[3] = {"conv2d", "backprop_input", "backprop_filter"};
        gtt_tensor_close(nm[k], got[k], want, n, tol, 0);
        free(want);
    }
    free(xv);
    free(wv);
    free(dyv);
    gt_scope_end();
}

static void test_random_geometries(void) {
    for (int t = 0; t < 60; t++) {
        cg g = {.n = rnd(1, 3),
                .h = rnd(1, 9),
                .w = rnd(1, 9),
                .groups = rnd(1, 3),
                .kh = rnd(1, 4),
                .kw = rnd(1, 4),
                .sh = rnd(1, 3),
                .sw = rnd(1, 3),
                .dh = rnd(1, 2),
                .dw = rnd(1, 2),
                .same = (int)rnd(0, 1)};
        g.c = g.groups * rnd(1, 3);
        g.f = g.groups * rnd(1, 3);
        finish_geom(&g);
        if (g.oh <= 0 || g.ow <= 0) { /* valid padding with a window larger than the input */
            gt_scope_begin();
            gt_conv2d_desc d = desc_of(&g);
            gt_tensor *y =
                gt_conv2d(gt_zeros(GT_F32, GT_SHAPE(g.n, g.h, g.w, g.c)),
                          gt_zeros(GT_F32, GT_SHAPE(g.kh, g.kw, g.c / g.groups, g.f)), &d);
            GTT_CHECK(y == NULL, "valid conv with empty output must fail");
            GTT_ERROR_HAS("larger than the input");
            gt_scope_end();
            continue;
        }
        check_geom(&g, GT_F64, 100 + (uint64_t)t * 7);
        check_geom(&g, GT_F32, 500 + (uint64_t)t * 7);
    }
}

/* Shapes large enough to use several im2col chunks, several filter-gradient parts and the
 * 1x1 path, plus the Fashion-MNIST CNN's layers at a small batch. */
static void test_large_geometries(void) {
    const cg gs[] = {
        {.n = 3,
         .h = 20,
         .w = 20,
         .c = 16,
         .kh = 3,
         .kw = 3,
         .f = 8,
         .sh = 1,
         .sw = 1,
         .dh = 1,
         .dw = 1,
         .groups = 1,
         .same = 1},
        {.n = 4,
         .h = 28,
         .w = 28,
         .c = 1,
         .kh = 3,
         .kw = 3,
         .f = 32,
         .sh = 1,
         .sw = 1,
         .dh = 1,
         .dw = 1,
         .groups = 1,
         .same = 0},
        {.n = 4,
         .h = 13,
         .w = 13,
         .c = 32,
         .kh = 3,
         .kw = 3,
         .f = 64,
         .sh = 1,
         .sw = 1,
         .dh = 1,
         .dw = 1,
         .groups = 1,
         .same = 0},
        {.n = 2,
         .h = 16,
         .w = 16,
         .c = 12,
         .kh = 1,
         .kw = 1,
         .f = 6,
         .sh = 1,
         .sw = 1,
         .dh = 1,
         .dw = 1,
         .groups = 3,
         .same = 1},
        {.n = 2,
         .h = 17,
         .w = 15,
         .c = 8,
         .kh = 5,
         .kw = 3,
         .f = 4,
         .sh = 2,
         .sw = 3,
         .dh = 1,
         .dw = 2,
         .groups = 2,
         .same = 1},
    };
    for (size_t i = 0; i < sizeof gs / sizeof *gs; i++) {
        cg g = gs[i];
        finish_geom(&g);
        check_geom(&g, GT_F32, 3000 + i);
        check_geom(&g, GT_F64, 3100 + i);
    }
}

/* Where TF puts "same" padding: the odd pixel goes at the bottom / right. */
static void test_same_padding_placement(void) {
    gt_scope_begin();
    double xv[36];
    for (int i = 0; i < 36; i++)
        xv[i] = (double)(1 << (i % 6)) + 100.0 * (i / 6);
    gt_tensor *ones = gt_ones(GT_F64, GT_SHAPE(3, 3, 1, 1));
    gt_conv2d_desc d = {.strides = {2, 2}, .padding = GT_PADDING_SAME};
    /* in 6, k 3, s 2: out 3, pad_total 1, before 0: windows start at 0, 2, 4. */
    gt_tensor *x6 = gt_tensor_new(GT_F64, GT_SHAPE(1, 6, 6, 1), xv);
    gt_tensor *y6 = gt_conv2d(x6, ones, &d);
    GTT_OK(y6 && gt_tensor_dim(y6, 1) == 3 && gt_tensor_dim(y6, 2) == 3);
    double s00 = 0, s22 = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            s00 += xv[r * 6 + c];
    for (int r = 4; r < 6; r++)
        for (int c = 4; c < 6; c++)
            s22 += xv[r * 6 + c];
    GTT_CLOSE(gt_tensor_get(y6, 0), s00, 0, 0); /* exact: small integers */
    GTT_CLOSE(gt_tensor_get(y6, 8), s22, 0, 0);
    /* in 5, k 3, s 2: out 3, pad_total 2, before 1: windows start at -1, 1, 3. */
    double x5v[25];
    for (int i = 0; i < 25; i++)
        x5v[i] = (double)(1 << (i % 5)) + 100.0 * (i / 5);
    gt_tensor *y5 = gt_conv2d(gt_tensor_new(GT_F64, GT_SHAPE(1, 5, 5, 1), x5v), ones, &d);
    double t00 = x5v[0] + x5v[1] + x5v[5] + x5v[6];
    double t22 = x5v[18] + x5v[19] + x5v[23] + x5v[24];
    GTT_CLOSE(gt_tensor_get(y5, 0), t00, 0, 0);
    GTT_CLOSE(gt_tensor_get(y5, 8), t22, 0, 0);
    /* Dilation enters the padding: in 5, k 3, d 2, s 1 same: pad_total 4, before 2. */
    gt_tensor *y5d = gt_conv2d(gt_tensor_new(GT_F64, GT_SHAPE(1, 5, 5, 1), x5v), ones,
                               &(gt_conv2d_desc){.dilations = {2, 2}, .padding = GT_PADDING_SAME});
    GTT_CLOSE(gt_tensor_get(y5d, 0), x5v[0] + x5v[2] + x5v[10] + x5v[12], 0, 0);
    gt_scope_end();
}

/* ---- pools -------------------------------------------------------------------------------- */

static gt_tensor *grad_of_pool(gt_tensor *x, const gt_pool2d_desc *d, bool maxp) {
    gt_tape *t = gt_tape_begin(NULL);
    gt_tape_watch(t, x);
    gt_tensor *y = maxp ? gt_max_pool2d(x, d) : gt_avg_pool2d(x, d);
    gt_tensor *s = gt_reduce_sum(y, GT_ALL, false);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, s, x);
    gt_tape_free(t);
    return g;
}

static void test_max_pool_ties(void) {
    for (int k = 0; k < 2; k++) {
        gt_dtype dt = k ? GT_F32 : GT_F64;
        gt_scope_begin();
        /* One 2x2 window [0.6 0.6; 0.3 0.3]: all of the gradient to the first 0.6 (tf#4886),
         * where reduce_max would give [0.5 0.5 0 0]. */
        gt_tensor *x = gt_cast(
            gt_tensor_new(GT_F64, GT_SHAPE(1, 2, 2, 1), (double[]){0.6, 0.6, 0.3, 0.3}), dt);
        gt_tensor *g = grad_of_pool(x, NULL, true);
        gtt_tensor_close("tie first", g, (double[]){1, 0, 0, 0}, 4, 0, 0);
        /* The tie in the second row of the window still loses to the first in scan order. */
        x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(1, 2, 2, 1), (double[]){0.1, 0.6, 0.6, 0.6}),
                    dt);
        gtt_tensor_close("tie scan order", grad_of_pool(x, NULL, true), (double[]){0, 1, 0, 0}, 4,
                         0, 0);
        /* Overlapping windows (2x1, stride 1) add at a shared maximum: [1 5 2] -> [0 2 0]. */
        x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(1, 1, 3, 1), (double[]){1, 5, 2}), dt);
        gt_pool2d_desc ov = {.pool_size = {1, 2}, .strides = {1, 1}};
        gtt_tensor_close("overlap", grad_of_pool(x, &ov, true), (double[]){0, 2, 0}, 3, 0, 0);
        /* All -inf: the first cell still takes the gradient. */
        x = gt_cast(gt_fill(GT_F64, GT_SHAPE(1, 2, 2, 1), -INFINITY), dt);
        gtt_tensor_close("-inf window", grad_of_pool(x, NULL, true), (double[]){1, 0, 0, 0}, 4, 0,
                         0);
        /* Per channel: channel 0 ties, channel 1 has its max last. */
        x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(1, 2, 2, 2), (double[]){2, 0, 2, 1, 1, 2, 2, 3}),
                    dt);
        gtt_tensor_close("channels", grad_of_pool(x, NULL, true),
                         (double[]){1, 0, 0, 0, 0, 0, 0, 1}, 8, 0, 0);
        /* "same" pads with -inf: negative inputs, the padded cells never win. 3x3 input,
         * 2x2 pool stride 2 same: out 2x2, windows clipped at the bottom/right. */
        double nv[9] = {-5, -4, -3, -6, -7, -8, -9, -1, -2};
        x = gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(1, 3, 3, 1), nv), dt);
        gt_pool2d_desc sd = {.padding = GT_PADDING_SAME};
        gtt_tensor_close("same fwd", gt_max_pool2d(x, &sd), (double[]){-4, -3, -1, -2}, 4, 0, 0);
        gtt_tensor_close("same grad", grad_of_pool(x, &sd, true),
                         (double[]){0, 1, 1, 0, 0, 0, 0, 1, 1}, 9, 0, 0);
        /* The gather (MaxPoolGradGrad) reads the same positions. */
        gt_tensor *src = gt_reshape(gt_cast(gt_range(10, 19, 1, GT_F64), dt), GT_SHAPE(1, 3, 3, 1));
        gt_tensor *gg = gt_max_pool2d_grad_grad(x, src, &sd);
        gtt_tensor_close("grad_grad", gg, (double[]){11, 12, 17, 18}, 4, 0, 0);
        gt_scope_end();
    }
}

static void test_avg_pool_divisors(void) {
    for (int k = 0; k < 2; k++) {
        gt_dtype dt = k ? GT_F32 : GT_F64;
        gt_scope_begin();
        /* 5x5, 3x3 windows, stride 2, same: pad 1 on each side; corner windows hold 2x2 real
         * cells, edge windows 2x3, the centre 3x3. On ones the mean is 1 everywhere (dividing by
         * 9 would give 4/9 in the corners). */
        gt_pool2d_desc d = {.pool_size = {3, 3}, .strides = {2, 2}, .padding = GT_PADDING_SAME};
        gt_tensor *x = gt_ones(dt, GT_SHAPE(1, 5, 5, 1));
        double ones9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
        /* float32 division of a sum of 4, 6 or 9 ones by the count is exact. */
        gtt_tensor_close("same ones", gt_avg_pool2d(x, &d), ones9, 9, 0, 0);
        double xv[25];
        for (int i = 0; i < 25; i++)
            xv[i] = i;
        gt_tensor *y =
            gt_avg_pool2d(gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(1, 5, 5, 1), xv), dt), &d);
        /* Windows: rows/cols {0,1}, {1,2,3}, {3,4}. */
        static const int lo[3] = {0, 1, 3}, hi[3] = {2, 4, 5};
        double want[9];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                double s = 0;
                int cnt = 0;
                for (int i = lo[r]; i < hi[r]; i++)
                    for (int j = lo[c]; j < hi[c]; j++)
                        s += xv[i * 5 + j], cnt++;
                want[r * 3 + c] = s / cnt;
            }
        /* f32: one rounding per addition of values <= 24 and one for the division. */
        gtt_tensor_close("same means", y, want, 9, k ? 1e-5 : 1e-13, 0);
        /* Backward: each cell gets the sum over its windows of 1/count. */
        double gw[25] = {0};
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                int cnt = (hi[r] - lo[r]) * (hi[c] - lo[c]);
                for (int i = lo[r]; i < hi[r]; i++)
                    for (int j = lo[c]; j < hi[c]; j++)
                        gw[i * 5 + j] += 1.0 / cnt;
            }
        gtt_tensor_close("same grad", grad_of_pool(x, &d, false), gw, 25, k ? 1e-6 : 1e-15, 0);
        GTT_CLOSE(gw[0], 0.25, 1e-15, 0); /* the corner: one window of 4 real cells */
        /* Valid 2x2 on 3x3: one window, the last row and column are dropped. */
        gt_tensor *yv = gt_avg_pool2d(gt_cast(gt_tensor_new(GT_F64, GT_SHAPE(1, 3, 3, 1),
                                                            (double[]){1, 2, 9, 3, 4, 9, 9, 9, 9}),
                                              dt),
                                      NULL);
        gtt_tensor_close("valid", yv, (double[]){2.5}, 1, 0, 0);
        gt_scope_end();
    }
}

/* Forward pool values against a direct loop on random input and random geometry. */
static void test_pool_random(void) {
    for (int t = 0; t < 40; t++) {
        gt_scope_begin();
        int64_t n = rnd(1, 2), h = rnd(1, 8), w = rnd(1, 8), c = rnd(1, 70);
        int64_t ph = rnd(1, 4), pw = rnd(1, 4), sh = rnd(1, 3), sw = rnd(1, 3);
        int same = (int)rnd(0, 1);
        int64_t pt, pl, oh = out_dim(h, ph, sh, 1, same, &pt),
                        ow = out_dim(w, pw, sw, 1, same, &pl);
        gt_pool2d_desc d = {.pool_size = {ph, pw},
                            .strides = {sh, sw},
                            .padding = same ? GT_PADDING_SAME : GT_PADDING_VALID};
        gt_tensor *x = gtt_randn(4, (int64_t[]){n, h, w, c}, 1.0, 0.0, 4000 + (uint64_t)t);
        gt_tensor *ym = gt_max_pool2d(x, &d), *ya = gt_avg_pool2d(x, &d);
        if (oh <= 0 || ow <= 0) {
            GTT_CHECK(ym == NULL && ya == NULL, "valid pool with empty output must fail");
            GTT_ERROR_HAS("larger than the input");
            gt_scope_end();
            continue;
        }
        double *xv = to_f64(x);
        int64_t sz = n * oh * ow * c;
        double *wm = malloc(sizeof(double) * (size_t)sz), *wa = malloc(sizeof(double) * (size_t)sz);
        for (int64_t b = 0; b < n; b++)
            for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++)
                    for (int64_t ch = 0; ch < c; ch++) {
                        double mx = -INFINITY, s = 0;
                        int cnt = 0;
                        for (int64_t a = 0; a < ph; a++)
                            for (int64_t e = 0; e < pw; e++) {
                                int64_t ih = i * sh - pt + a, iw = j * sw - pl + e;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                                    continue;
                                double v = xv[((b * h + ih) * w + iw) * c + ch];
                                mx = v > mx ? v : mx;
                                s += v;
                                cnt++;
                            }
                        int64_t o = ((b * oh + i) * ow + j) * c + ch;
                        wm[o] = mx;
                        wa[o] = s / cnt;
                    }
        gtt_tensor_close("max random", ym, wm, sz, 0, 0); /* a max is exact */
        gtt_tensor_close("avg random", ya, wa, sz, 1e-14,
                         0); /* same summation order: rounding only */
        free(xv);
        free(wm);
        free(wa);
        gt_scope_end();
    }
}

/* ---- size 0, global pooling ----------------------------------------------------------------- */

static void test_empty_and_global(void) {
    gt_scope_begin();
    gt_tensor *y =
        gt_conv2d(gt_zeros(GT_F32, GT_SHAPE(0, 5, 5, 3)), gt_ones(GT_F32, GT_SHAPE(3, 3, 3, 4)),
                  &(gt_conv2d_desc){.padding = GT_PADDING_SAME});
    GTT_OK(y && gt_tensor_dim(y, 0) == 0 && gt_tensor_dim(y, 1) == 5 && gt_tensor_dim(y, 3) == 4);
    /* No input channels: every output is an empty sum, 0. */
    y = gt_conv2d(gt_zeros(GT_F32, GT_SHAPE(1, 3, 3, 0)), gt_ones(GT_F32, GT_SHAPE(2, 2, 0, 2)),
                  NULL);
    gtt_tensor_close("C = 0", y, (double[]){0, 0, 0, 0, 0, 0, 0, 0}, 8, 0, 0);
    /* "same" on an empty image: empty output. */
    y = gt_max_pool2d(gt_zeros(GT_F32, GT_SHAPE(2, 0, 4, 3)),
                      &(gt_pool2d_desc){.padding = GT_PADDING_SAME});
    GTT_OK(y && gt_tensor_size(y) == 0 && gt_tensor_dim(y, 2) == 2);
    gt_tensor *g =
        gt_conv2d_backprop_filter(gt_zeros(GT_F64, GT_SHAPE(0, 4, 4, 2)), (int64_t[]){3, 3, 2, 5},
                                  gt_zeros(GT_F64, GT_SHAPE(0, 2, 2, 5)), NULL);
    GTT_OK(g && gt_tensor_size(g) == 90 && gt_item(gt_reduce_sum(gt_abs(g), GT_ALL, false)) == 0);

    double xv[2 * 2 * 3 * 2];
    for (int i = 0; i < 24; i++)
        xv[i] = i;
    gt_tensor *x = gt_tensor_new(GT_F64, GT_SHAPE(2, 2, 3, 2), xv);
    gt_tensor *m = gt_global_avg_pool2d(x, false);
    /* image b, channel c: mean of xv[b*12 + p*2 + c], p < 6 = b*12 + c + 5 */
    gtt_tensor_close("global", m, (double[]){5, 6, 17, 18}, 4, 1e-14, 0);
    gt_tensor *mk = gt_global_avg_pool2d(x, true);
    GTT_OK(mk && gt_tensor_rank(mk) == 4 && gt_tensor_dim(mk, 1) == 1 && gt_tensor_dim(mk, 3) == 2);
    gt_scope_end();
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_errors(void) {
    gt_scope_begin();
    gt_tensor *x = gt_zeros(GT_F32, GT_SHAPE(2, 8, 8, 4));
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(3, 3, 3, 8)), NULL), "channel mismatch");
    GTT_ERROR_HAS("has 4 channels but filter [3,3,3,8] expects 3");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(3, 3, 1, 8)), &(gt_conv2d_desc){.groups = 3}),
              "groups");
    GTT_ERROR_HAS("groups=3 expects 1 x 3 = 3");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(3, 3, 2, 5)), &(gt_conv2d_desc){.groups = 2}),
              "F mod groups");
    GTT_ERROR_HAS("groups=2 does not divide the filter count 5");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(9, 3, 4, 8)), NULL), "too big");
    GTT_ERROR_HAS("height filter window (9, dilated to 9) is larger than the input's height (8)");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(3, 3, 4, 8)),
                         &(gt_conv2d_desc){.dilations = {1, 4}}),
              "dilated too big");
    GTT_ERROR_HAS("dilated to 9");
    GTT_CHECK(!gt_conv2d(gt_zeros(GT_F32, GT_SHAPE(8, 8, 4)),
                         gt_zeros(GT_F32, GT_SHAPE(3, 3, 4, 8)), NULL),
              "rank");
    GTT_ERROR_HAS("x has shape [8,8,4] (rank 3) but must have rank 4");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F64, GT_SHAPE(3, 3, 4, 8)), NULL), "dtype mix");
    GTT_ERROR_HAS("does not promote");
    GTT_CHECK(!gt_conv2d(gt_zeros(GT_I32, GT_SHAPE(1, 4, 4, 1)),
                         gt_zeros(GT_I32, GT_SHAPE(1, 1, 1, 1)), NULL),
              "int");
    GTT_ERROR_HAS("float32 or float64");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(0, 3, 4, 8)), NULL), "empty window");
    GTT_ERROR_HAS("empty window");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(3, 3, 4, 8)),
                         &(gt_conv2d_desc){.strides = {-1, 1}}),
              "stride");
    GTT_ERROR_HAS("strides[0] is -1");
    GTT_CHECK(!gt_conv2d(x, gt_zeros(GT_F32, GT_SHAPE(3, 3, 4, 8)),
                         &(gt_conv2d_desc){.padding = (gt_padding)7}),
              "padding");
    GTT_ERROR_HAS("use GT_PADDING_VALID or GT_PADDING_SAME");
    GTT_CHECK(!gt_conv2d(NULL, x, NULL), "NULL");
    GTT_ERROR_HAS("NULL");
    gt_tensor *w = gt_zeros(GT_F32, GT_SHAPE(3, 3, 4, 8));
    GTT_CHECK(!gt_conv2d_backprop_input((int64_t[]){2, 8, 8, 4}, w,
                                        gt_zeros(GT_F32, GT_SHAPE(2, 5, 6, 8)), NULL),
              "bpi dy");
    GTT_ERROR_HAS("dy has shape [2,5,6,8] but the convolution of input [2,8,8,4]");
    GTT_CHECK(!gt_conv2d_backprop_input(NULL, w, gt_zeros(GT_F32, GT_SHAPE(2, 6, 6, 8)), NULL),
              "bpi shape");
    GTT_ERROR_HAS("input_shape is NULL");
    GTT_CHECK(!gt_conv2d_backprop_filter(x, (int64_t[]){3, 3, 4, 8},
                                         gt_zeros(GT_F32, GT_SHAPE(1, 6, 6, 8)), NULL),
              "bpf dy");
    GTT_ERROR_HAS("dy has shape [1,6,6,8]");
    GTT_CHECK(!gt_conv2d_backprop_filter(x, (int64_t[]){3, -3, 4, 8},
                                         gt_zeros(GT_F32, GT_SHAPE(2, 6, 6, 8)), NULL),
              "bpf neg");
    GTT_ERROR_HAS("gt_conv2d_backprop_filter");

    GTT_CHECK(!gt_max_pool2d(x, &(gt_pool2d_desc){.pool_size = {9, 2}}), "pool too big");
    GTT_ERROR_HAS("pool window's height (9) is larger than the input's (8)");
    GTT_CHECK(!gt_avg_pool2d(gt_zeros(GT_F32, GT_SHAPE(8, 8)), NULL), "pool rank");
    GTT_ERROR_HAS("gt_avg_pool2d: x has shape [8,8] (rank 2) but must have rank 4");
    GTT_CHECK(!gt_max_pool2d(x, &(gt_pool2d_desc){.strides = {0, -2}}), "pool stride");
    GTT_ERROR_HAS("strides[1] is -2");
    GTT_CHECK(!gt_max_pool2d_grad(x, gt_zeros(GT_F32, GT_SHAPE(2, 4, 3, 4)), NULL), "maxgrad dy");
    GTT_ERROR_HAS("dy has shape [2,4,3,4] but must be [2,4,4,4]");
    GTT_CHECK(!gt_max_pool2d_grad(x, gt_zeros(GT_F64, GT_SHAPE(2, 4, 4, 4)), NULL),
              "maxgrad dtype");
    GTT_ERROR_HAS("does not promote");
    GTT_CHECK(
        !gt_avg_pool2d_grad((int64_t[]){2, 8, 8, 4}, gt_zeros(GT_F32, GT_SHAPE(2, 4, 4, 3)), NULL),
        "avggrad");
    GTT_ERROR_HAS("dy has shape [2,4,4,3] but must be [2,4,4,4]");
    GTT_CHECK(!gt_global_avg_pool2d(gt_zeros(GT_F32, GT_SHAPE(2, 3)), false), "global rank");
    GTT_ERROR_HAS("gt_global_avg_pool2d: x has shape [2,3] (rank 2)");
    gt_scope_end();
}

/* ---- the fused conv2d + bias + relu -------------------------------------------------------- */

/* Its output and all three gradients equal those of conv2d, add and relu bitwise: the epilogue
 * is the same float arithmetic, and the gradient rule is the composition's. Shapes of the
 * Fashion-MNIST CNN's two layers (with a smaller batch) and a strided "same" one. */
typedef struct conv_case {
    const gt_conv2d_desc *d;
    int relu;
} conv_case;

static gt_tensor *conv_fused(gt_tensor *const *x, void *u) {
    const conv_case *c = u;
    return gt_conv2d_bias_act(x[0], x[1], x[2], c->relu, c->d);
}

static gt_tensor *conv_composed(gt_tensor *const *x, void *u) {
    const conv_case *c = u;
    gt_tensor *o = gt_add(gt_conv2d(x[0], x[1], c->d), x[2]);
    return c->relu ? gt_relu(o) : o;
}

static void test_fused_matches_composition(void) {
    static const struct {
        int64_t x[4], w[4];
        gt_conv2d_desc d;
    } cs[] = {
        {{8, 28, 28, 1}, {3, 3, 1, 32}, {.padding = GT_PADDING_VALID}},
        {{8, 13, 13, 32}, {3, 3, 32, 64}, {.padding = GT_PADDING_VALID}},
        {{3, 9, 8, 4}, {3, 2, 4, 6}, {.strides = {2, 2}, .padding = GT_PADDING_SAME}},
    };
    for (size_t i = 0; i < sizeof cs / sizeof *cs; i++)
        for (int relu = 0; relu < 2; relu++) {
            gt_scope_begin();
            gt_tensor *x = gt_cast(gtt_randn(4, cs[i].x, 1.0, 0.0, 40 + i), GT_F32);
            gt_tensor *w = gt_cast(gtt_randn(4, cs[i].w, 0.3, 0.0, 50 + i), GT_F32);
            gt_tensor *b = gt_cast(gtt_randn(1, &cs[i].w[3], 0.5, 0.0, 60 + i), GT_F32);
            gt_tensor *in[3] = {x, w, b};
            const conv_case cc = {&cs[i].d, relu};
            char what[48];
            snprintf(what, sizeof what, "case %zu, relu %d", i, relu);
            gtt_check_fused(what, conv_fused, conv_composed, (void *)&cc, 3, in);
            gt_scope_end();
        }
    gt_scope_begin();
    gt_tensor *x = gt_zeros(GT_F32, GT_SHAPE(1, 4, 4, 2)), *w = gt_zeros(GT_F32, GT_SHAPE(3, 3, 2, 3));
    GTT_CHECK(!gt_conv2d_bias_act(x, w, gt_zeros(GT_F32, GT_SHAPE(2)), true, NULL), "bias size");
    GTT_ERROR_HAS("bias has shape [2] and dtype float32 but must be [3] of float32");
    GTT_CHECK(!gt_conv2d_bias_act(x, w, gt_zeros(GT_F64, GT_SHAPE(3)), true, NULL), "bias dtype");
    GTT_ERROR_HAS("must be [3] of float32");
    GTT_CHECK(!gt_conv2d_bias_act(x, w, NULL, true, NULL), "NULL bias");
    gt_error_clear();
    gt_scope_end();
}

/* ---- threads -------------------------------------------------------------------------------- */

typedef struct step_out {
    gt_tensor *y, *gx, *gw, *gw2;
} step_out;

/* conv + bias + relu (fused) -> max pool -> conv (grouped, strided) -> avg pool, and the
 * gradients. */
static step_out cnn_step(gt_tensor *x, gt_tensor *w1, gt_tensor *w2) {
    step_out o;
    gt_tape *t = gt_tape_begin(&(gt_tape_desc){.persistent = true});
    gt_tape_watch(t, x);
    gt_tape_watch(t, w1);
    gt_tape_watch(t, w2);
    gt_tensor *h = gt_conv2d_bias_act(x, w1, gt_zeros(GT_F32, GT_SHAPE(32)), true,
                                      &(gt_conv2d_desc){.padding = GT_PADDING_SAME});
    h = gt_max_pool2d(h, NULL);
    h = gt_conv2d(h, w2, &(gt_conv2d_desc){.groups = 2, .strides = {1, 2}});
    o.y = gt_avg_pool2d(h, &(gt_pool2d_desc){.pool_size = {3, 3}, .padding = GT_PADDING_SAME});
    gt_tensor *loss = gt_reduce_sum(gt_mul(o.y, o.y), GT_ALL, false);
    gt_tape_end(t);
    o.gx = gt_gradient(t, loss, x);
    o.gw = gt_gradient(t, loss, w1);
    o.gw2 = gt_gradient(t, loss, w2);
    gt_tape_free(t);
    return o;
}

/* Every GEMM backend (auto, portable, OpenBLAS when built in): 1, 2 and 3 threads agree. */
static void test_threads_bitwise(void) {
    static const int backends[] = {GT_GEMM_AUTO, GT_GEMM_PORTABLE, GT_GEMM_BLAS};
    int before = gt_get_num_threads();
    for (size_t k = 0; k < sizeof backends / sizeof *backends; k++) {
        gt_scope_begin();
        gt__gemm_force(backends[k]);
        gt_tensor *x = gt_cast(gtt_randn(4, (int64_t[]){24, 20, 20, 3}, 1.0, 0.0, 77), GT_F32);
        gt_tensor *w1 = gt_cast(gtt_randn(4, (int64_t[]){3, 3, 3, 32}, 0.3, 0.0, 78), GT_F32);
        gt_tensor *w2 = gt_cast(gtt_randn(4, (int64_t[]){3, 3, 16, 64}, 0.1, 0.0, 79), GT_F32);
        gt_set_num_threads(1);
        step_out a = cnn_step(x, w1, w2);
        gt_set_num_threads(2);
        step_out b = cnn_step(x, w1, w2);
        gt_set_num_threads(3);
        step_out c = cnn_step(x, w1, w2);
        gt_set_num_threads(before);
        const char *be = gt__gemm_backend();
        GTT_OK(a.y && a.gx && a.gw && a.gw2);
        GTT_CHECK(gt_tensor_equal(a.y, b.y) && gt_tensor_equal(a.y, c.y),
                  "forward differs by threads (%s)", be);
        GTT_CHECK(gt_tensor_equal(a.gx, b.gx) && gt_tensor_equal(a.gx, c.gx),
                  "input grad differs (%s)", be);
        GTT_CHECK(gt_tensor_equal(a.gw, b.gw) && gt_tensor_equal(a.gw, c.gw),
                  "filter grad differs (%s)", be);
        GTT_CHECK(gt_tensor_equal(a.gw2, b.gw2) && gt_tensor_equal(a.gw2, c.gw2),
                  "filter 2 grad differs (%s)", be);
        gt_scope_end();
    }
    gt__gemm_force(GT_GEMM_AUTO);
}

int main(void) {
    test_random_geometries();
    test_large_geometries();
    test_same_padding_placement();
    test_max_pool_ties();
    test_avg_pool_divisors();
    test_pool_random();
    test_empty_and_global();
    test_errors();
    test_fused_matches_composition();
    test_threads_bitwise();
    return gtt_finish();
}
