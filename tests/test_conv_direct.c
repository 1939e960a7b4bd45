/* The direct float32 convolution (src/kernels/conv_direct.c: few taps, F % 8 == 0) against
 * plain loops written here, on geometries it takes: one channel and RGB, 3x3 and 5x5, strides,
 * dilations, "same" padding, a 1x1 kernel on 32 channels, filter counts whose blocks of 32 end
 * in 8, 16 or 24, and one output above the streaming-store bound.
 *
 * Forward: the reference runs the GEMM tile's arithmetic in scalar form (acc = fmaf(tap, w,
 * acc) over the taps from zero, then + bias, then relu as the op has it), so the kernel must
 * match it exactly; values compare equal or both NaN (a NaN's payload may depend on operand
 * order). Filter gradient: on values whose sums are exact (multiples of 1/8), equal to a
 * double-precision sum. Both must be bitwise the same at 1, 2 and 3 threads. */
#include "kernels/conv.h"
#include "kernels/cpu.h"

#include "gtt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct shape {
    int64_t n, h, w, c, kh, kw, f, sh, sw, dh, dw;
    bool same;
} shape;

static const shape shapes[] = {
    {2, 28, 28, 1, 3, 3, 32, 1, 1, 1, 1, false}, /* the CNN's first layer */
    {2, 9, 11, 3, 3, 3, 16, 2, 1, 1, 1, true},   /* RGB, strides, padding */
    {3, 10, 10, 1, 5, 5, 8, 1, 1, 1, 1, true},   /* K = 25 */
    {1, 12, 12, 2, 3, 3, 24, 1, 2, 2, 1, false}, /* dilation, three filter vectors */
    {2, 7, 7, 32, 1, 1, 40, 1, 1, 1, 1, false},  /* K = 32, filters 32 + 8 */
    {1, 6, 6, 3, 3, 3, 72, 3, 3, 1, 1, true},    /* filters 32 + 32 + 8, stride = kernel */
    {1, 5, 4, 1, 3, 3, 8, 1, 1, 1, 1, true},     /* every window but one leaves the image */
};

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float unif(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

/* A multiple of 1/8 in [-1, 1]. */
static float eighth(void) {
    return (float)((int)((unif() + 1.0f) * 8.0f) - 8) / 8.0f;
}

static bool make(const shape *s, gt__conv_geom *g) {
    int64_t oh, ow, pt, pl;
    if (!gt__conv_out_dim(s->h, s->kh, s->sh, s->dh, s->same, &oh, &pt) ||
        !gt__conv_out_dim(s->w, s->kw, s->sw, s->dw, s->same, &ow, &pl))
        return false;
    *g = (gt__conv_geom){s->n, s->h,  s->w,  s->c,  s->kh, s->kw, s->f, oh,
                         ow,   s->sh, s->sw, s->dh, s->dw, pt,    pl,   1};
    return true;
}

/* Tap k = (kh, kw, c) of output row r, 0 outside the image (as im2col writes it). */
static float tap(const gt__conv_geom *g, const float *x, int64_t r, int64_t k) {
    const int64_t opix = g->oh * g->ow, n = r / opix, oh = r % opix / g->ow, ow = r % g->ow;
    const int64_t c = k % g->c, kw = k / g->c % g->kw, kh = k / g->c / g->kw;
    const int64_t ih = oh * g->sh - g->pt + kh * g->dh, iw = ow * g->sw - g->pl + kw * g->dw;
    if (ih < 0 || ih >= g->h || iw < 0 || iw >= g->w)
        return 0.0f;
    return x[((n * g->h + ih) * g->w + iw) * g->c + c];
}

static bool same_value(float a, float b) {
    return (a != a && b != b) || memcmp(&a, &b, sizeof a) == 0;
}

static float *fill(int64_t n) {
    float *p = aligned_alloc(64, (size_t)((n * 4 + 63) / 64 * 64));
    for (int64_t i = 0; i < n; i++)
        p[i] = unif();
    return p;
}

static void check_forward(const gt__conv_geom *g, const float *x, const float *w, const float *b,
                          bool relu, const char *what) {
    const int64_t rows = g->n * g->oh * g->ow, F = g->f, K = g->kh * g->kw * g->c;
    float *y = aligned_alloc(64, (size_t)((rows * F * 4 + 63) / 64 * 64));
    float *y2 = aligned_alloc(64, (size_t)((rows * F * 4 + 63) / 64 * 64));
    gt_set_num_threads(1);
    GTT_OK(gt__conv2d_fwd(GT_F32, g, x, w, b, relu, y));
    int64_t bad = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t f = 0; f < F; f++) {
            float acc = 0.0f;
            for (int64_t k = 0; k < K; k++)
                acc = fmaf(tap(g, x, r, k), w[k * F + f], acc);
            if (b)
                acc = acc + b[f];
            if (relu)
                acc = acc > 0 || acc != acc ? acc : 0.0f;
            if (!same_value(acc, y[r * F + f]) && bad++ < 3)
                GTT_CHECK(false, "%s: y[%lld][%lld] = %.9g, want %.9g", what, (long long)r,
                          (long long)f, y[r * F + f], acc);
        }
    GTT_CHECK(bad == 0, "%s: %lld outputs differ from the reference", what, (long long)bad);
    for (int t = 2; t <= 3; t++) {
        gt_set_num_threads(t);
        GTT_OK(gt__conv2d_fwd(GT_F32, g, x, w, b, relu, y2));
        GTT_CHECK(memcmp(y, y2, (size_t)(rows * F) * sizeof(float)) == 0,
                  "%s: %d threads give other bits than 1", what, t);
    }
    free(y);
    free(y2);
}

static void check_filter(const gt__conv_geom *g, const float *x, const float *dz,
                         const char *what) {
    const int64_t rows = g->n * g->oh * g->ow, F = g->f, K = g->kh * g->kw * g->c;
    float *dw = malloc((size_t)(K * F) * sizeof(float));
    float *dw2 = malloc((size_t)(K * F) * sizeof(float));
    gt_set_num_threads(1);
    GTT_OK(gt__conv2d_bwd_filter(GT_F32, g, x, dz, dw));
    int64_t bad = 0;
    for (int64_t k = 0; k < K; k++)
        for (int64_t f = 0; f < F; f++) {
            double s = 0;
            for (int64_t r = 0; r < rows; r++)
                s += (double)tap(g, x, r, k) * dz[r * F + f];
            if ((double)dw[k * F + f] != s && bad++ < 3)
                GTT_CHECK(false, "%s: dw[%lld][%lld] = %.9g, want %.9g", what, (long long)k,
                          (long long)f, dw[k * F + f], s);
        }
    GTT_CHECK(bad == 0, "%s: %lld filter-gradient values off", what, (long long)bad);
    for (int t = 2; t <= 3; t++) {
        gt_set_num_threads(t);
        GTT_OK(gt__conv2d_bwd_filter(GT_F32, g, x, dz, dw2));
        GTT_CHECK(memcmp(dw, dw2, (size_t)(K * F) * sizeof(float)) == 0,
                  "%s: filter gradient at %d threads differs from 1 thread", what, t);
    }
    free(dw);
    free(dw2);
}

/* all: every bias/relu combination; else bias + relu only (the large case, to keep it fast) */
static void run(const shape *s, int index, bool all) {
    gt__conv_geom g;
    GTT_CHECK(make(s, &g), "shape %d: no output", index);
    GTT_CHECK(gt__conv_direct_ok(GT_F32, &g), "shape %d is not one the direct path takes", index);
    const int64_t rows = g.n * g.oh * g.ow, K = g.kh * g.kw * g.c;
    float *x = fill(g.n * g.h * g.w * g.c), *w = fill(K * g.f), *b = fill(g.f);
    float *dz = fill(rows * g.f);
    /* special values: they must travel through the taps as im2col's copies carry them */
    x[0] = NAN;
    x[g.n * g.h * g.w * g.c - 1] = INFINITY;
    if (g.n * g.h * g.w * g.c > 7)
        x[7] = -0.0f;
    char what[64];
    const bool flags[4][2] = {{false, false}, {true, false}, {false, true}, {true, true}};
    for (int v = all ? 0 : 3; v < 4; v++) {
        snprintf(what, sizeof what, "shape %d%s%s", index, flags[v][0] ? " bias" : "",
                 flags[v][1] ? " relu" : "");
        check_forward(&g, x, w, flags[v][0] ? b : NULL, flags[v][1], what);
    }
    /* The gradient on multiples of 1/8 in [-1, 1]: every product is a multiple of 1/64 and
     * every partial sum one below 2^18 in magnitude, so float sums are exact in any order and
     * the kernel must give the double reference exactly: a chunk added twice, missed or
     * scaled cannot hide in a rounding tolerance. */
    for (int64_t i = 0; i < g.n * g.h * g.w * g.c; i++)
        x[i] = eighth();
    for (int64_t i = 0; i < rows * g.f; i++)
        dz[i] = eighth();
    snprintf(what, sizeof what, "shape %d dw", index);
    check_filter(&g, x, dz, what);
    free(x);
    free(w);
    free(b);
    free(dz);
}

int main(void) {
    if (!gt__cpu_has_avx2_fma()) {
        printf("no AVX2+FMA: the direct path is off on this CPU; nothing to check\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        run(&shapes[i], (int)i, true);
    /* An output above the streaming-store bound (8 MiB): 20 x 62 x 62 x 32 floats. */
    run(&(shape){20, 64, 64, 1, 3, 3, 32, 1, 1, 1, 1, false}, 99, false);
    /* More chunks (2048 rows each at K = 32) than filter-gradient parts (16): parts that add
     * several chunks. */
    run(&(shape){720, 7, 7, 32, 1, 1, 8, 1, 1, 1, 1, false}, 100, false);
    /* Geometries the direct path must leave to im2col + GEMM. */
    gt__conv_geom g;
    make(&(shape){1, 8, 8, 1, 3, 3, 12, 1, 1, 1, 1, false}, &g);
    GTT_CHECK(!gt__conv_direct_ok(GT_F32, &g), "F = 12 is not a multiple of 8");
    make(&(shape){1, 8, 8, 4, 3, 3, 8, 1, 1, 1, 1, false}, &g);
    GTT_CHECK(!gt__conv_direct_ok(GT_F32, &g), "K = 36 is above 32");
    make(&(shape){1, 8, 8, 1, 3, 3, 8, 1, 1, 1, 1, false}, &g);
    GTT_CHECK(!gt__conv_direct_ok(GT_F64, &g), "float64 is not taken");
    g.groups = 2;
    g.c = 2;
    GTT_CHECK(!gt__conv_direct_ok(GT_F32, &g), "groups are not taken");
    return gtt_finish();
}
