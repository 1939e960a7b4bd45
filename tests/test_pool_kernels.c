/* Max pooling forward and MaxPoolGrad, bitwise, against a plain reference loop written here:
 * the internal kernels (src/kernels/pool.h: the portable loops and the float32 AVX2 paths that
 * run when the channel count is a multiple of 8) and the public ops (gt_max_pool2d, its
 * gradient through a tape, gt_max_pool2d_grad).
 *
 * The rule (pool.h, TensorFlow's CPU MaxPool / MaxPoolGrad): per window and channel, a running
 * maximum over the window's real cells in row-major order that moves to a later cell only when
 * that cell is strictly greater. So among equal maxima the first wins (+0 and -0 are equal: the
 * first of them wins, with its sign), a NaN first cell is the result (no comparison with it is
 * true), a later NaN never wins, and padded cells ("same") never win. The forward pass copies
 * the winner; the gradient is 0 + the window's dy at the winner, summed where windows overlap.
 *
 * Every comparison is memcmp: pooling copies values (NaN payloads and zero signs included) and
 * the dy of the reference comparisons are multiples of 1/8 (see fill_dy), whose sums are exact
 * in any order. Covered: channel counts 1 to 96 (the AVX2 body of 4 vectors, its 1-vector tail,
 * the portable loops and their 64-channel blocks), ties, +-0, NaN, +-inf, stride <, == and >
 * the pool, "valid" and "same", odd sizes, batches, f32 and f64, 1, 2 and 3 threads (bitwise
 * the same), unaligned buffers, outputs prefilled with garbage (the AVX2 gradient has no zeroing
 * pass) with guard bytes around them, and one input large enough for the streaming stores. */
#include "kernels/cpu.h"
#include "kernels/pool.h"

#include <gradtape_conv.h>

#include "gtt.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- inputs ------------------------------------------------------------------------------- */

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_u64(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static int64_t irand(int64_t lo, int64_t hi) { /* [lo, hi] */
    return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1));
}
static double urand(void) { /* [-1, 1) */
    return (double)(next_u64() >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* Quiet NaNs with either sign and different payloads: the forward pass must copy the bits. */
static float nan_f32(int k) {
    static const uint32_t bits[4] = {0x7fc00000u, 0xffc00000u, 0x7fc12345u, 0xffe00001u};
    float f;
    memcpy(&f, &bits[k & 3], sizeof f);
    return f;
}
static double nan_f64(int k) {
    static const uint64_t bits[4] = {0x7ff8000000000000ull, 0xfff8000000000000ull,
                                     0x7ff8000012345678ull, 0xfffc000000000001ull};
    double d;
    memcpy(&d, &bits[k & 3], sizeof d);
    return d;
}

/* How x is drawn. */
enum {
    M_RANDOM,  /* uniform in [-1, 1): ties are rare, the max moves around */
    M_TIES,    /* integers in [-2, 2]: most windows hold several equal maxima */
    M_ZEROS,   /* mostly +0 and -0 (and some -1): the max is a zero, its sign tells which won */
    M_SPECIAL, /* NaN (4 kinds), +inf, -inf, +0, -0 and small integers mixed */
    M_NEGINF,  /* mostly -inf: whole windows of -inf, whose first cell must win */
    M_COUNT
};
static const char *mode_name[M_COUNT] = {"random", "ties", "zeros", "special", "neginf"};

/* One x value of the mode, as a double, except NaNs: *nan_kind >= 0 then (made per dtype so
 * that each dtype gets its own payload bits). */
static double draw(int mode, int *nan_kind) {
    *nan_kind = -1;
    const int64_t r = irand(0, 99);
    switch (mode) {
    case M_RANDOM:
        return urand();
    case M_TIES:
        return (double)irand(-2, 2);
    case M_ZEROS:
        return r < 45 ? 0.0 : r < 90 ? -0.0 : -1.0;
    case M_SPECIAL:
        if (r < 10) {
            *nan_kind = (int)irand(0, 3);
            return 0;
        }
        return r < 20   ? INFINITY
               : r < 30 ? -INFINITY
               : r < 40 ? 0.0
               : r < 50 ? -0.0
                        : (double)irand(-2, 2);
    default: /* M_NEGINF */
        return r < 90 ? -INFINITY : (double)irand(-2, 2);
    }
}

static void fill_x(gt_dtype dt, void *x, int64_t count, int mode) {
    for (int64_t i = 0; i < count; i++) {
        int nk;
        const double v = draw(mode, &nk);
        if (dt == GT_F32)
            ((float *)x)[i] = nk >= 0 ? nan_f32(nk) : (float)v;
        else
            ((double *)x)[i] = nk >= 0 ? nan_f64(nk) : v;
    }
}

/* dy for the reference comparisons: k / 8 with k in [-32, 32], and about 1 in 16 a -0 (the
 * gradient of a window is 0 + dy, so a -0 dy gives +0, as in TensorFlow's zero-then-add). A sum
 * of up to 25 of them (the most windows that share a cell here) is at most 100 and a multiple
 * of 1/8: 10 significant bits, exact in float32 in any order, so a reference that sums in
 * another order than the kernel would still agree bitwise. With exact == false, dy is uniform in
 * [-1, 1): sums then round, and agree bitwise only in the same order (the thread tests: pool.h
 * promises window order whatever the thread count, which is also the reference's order). */
static void fill_dy(gt_dtype dt, void *dy, int64_t count, bool exact) {
    for (int64_t i = 0; i < count; i++) {
        double v = exact ? (double)irand(-32, 32) / 8.0 : urand();
        if (exact && irand(0, 15) == 0)
            v = -0.0;
        if (dt == GT_F32)
            ((float *)dy)[i] = (float)v;
        else
            ((double *)dy)[i] = v;
    }
}

/* ---- geometry and the reference ------------------------------------------------------------ */

typedef struct pcase {
    int64_t n, h, w, ph, pw, sh, sw;
    int same;
} pcase;

/* TensorFlow's output size and leading pad, re-derived here: "valid": out = ceil((in - k + 1) /
 * s); "same": out = ceil(in / s), pad_total = max((out - 1) s + k - in, 0), before = total / 2. */
static int64_t out_dim(int64_t in, int64_t k, int64_t s, int same, int64_t *before) {
    if (same) {
        const int64_t o = (in + s - 1) / s, t = (o - 1) * s + k - in;
        *before = t > 0 ? t / 2 : 0;
        return o;
    }
    *before = 0;
    return (in - k + s) / s; /* the cases below all have in >= k */
}

static gt__pool_geom geom_of(const pcase *p, int64_t c) {
    gt__pool_geom g = {.n = p->n,
                       .h = p->h,
                       .w = p->w,
                       .c = c,
                       .ph = p->ph,
                       .pw = p->pw,
                       .sh = p->sh,
                       .sw = p->sw};
    g.oh = out_dim(p->h, p->ph, p->sh, p->same, &g.pt);
    g.ow = out_dim(p->w, p->pw, p->sw, p->same, &g.pl);
    return g;
}

/* arg[output element] = the x element the window picks. The window is walked over its ph x pw
 * cells from its origin (o * s - pad); cells outside the image are padding and skipped. */
#define DEFINE_REF_ARGMAX(T, SUF)                                                                  \
    static void ref_argmax_##SUF(const gt__pool_geom *g, const T *x, int64_t *arg) {               \
        for (int64_t b = 0; b < g->n; b++)                                                         \
            for (int64_t i = 0; i < g->oh; i++)                                                    \
                for (int64_t j = 0; j < g->ow; j++)                                                \
                    for (int64_t ch = 0; ch < g->c; ch++) {                                        \
                        int64_t best = -1;                                                         \
                        for (int64_t a = 0; a < g->ph; a++) {                                      \
                            const int64_t ih = i * g->sh - g->pt + a;                              \
                            if (ih < 0 || ih >= g->h)                                              \
                                continue;                                                          \
                            for (int64_t e = 0; e < g->pw; e++) {                                  \
                                const int64_t iw = j * g->sw - g->pl + e;                          \
                                if (iw < 0 || iw >= g->w)                                          \
                                    continue;                                                      \
                                const int64_t at = ((b * g->h + ih) * g->w + iw) * g->c + ch;      \
                                /* Strictly greater only: ties keep the earlier cell, and any      \
                                 * comparison with a NaN is false. */                              \
                                if (best < 0 || x[at] > x[best])                                   \
                                    best = at;                                                     \
                            }                                                                      \
                        }                                                                          \
                        arg[((b * g->oh + i) * g->ow + j) * g->c + ch] = best;                     \
                    }                                                                              \
    }                                                                                              \
    /* dx = +0 everywhere, then each window's dy added at its pick, windows in row-major order. */ \
    static void ref_scatter_##SUF(const gt__pool_geom *g, const int64_t *arg, const T *dy, T *dx,  \
                                  int64_t nin, int64_t nout) {                                     \
        for (int64_t k = 0; k < nin; k++)                                                          \
            dx[k] = 0;                                                                             \
        for (int64_t o = 0; o < nout; o++)                                                         \
            dx[arg[o]] += dy[o];                                                                   \
        (void)g;                                                                                   \
    }
DEFINE_REF_ARGMAX(float, f32)
DEFINE_REF_ARGMAX(double, f64)

typedef struct ref_out {
    void *y, *dx, *gather; /* forward, MaxPoolGrad of dy, MaxPoolGradGrad of gx */
} ref_out;

static ref_out reference(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *dy,
                         const void *gx) {
    const size_t es = dt == GT_F32 ? sizeof(float) : sizeof(double);
    const int64_t nin = g->n * g->h * g->w * g->c, nout = g->n * g->oh * g->ow * g->c;
    int64_t *arg = malloc(sizeof(int64_t) * (size_t)(nout + 1));
    ref_out r = {malloc(es * (size_t)(nout + 1)), malloc(es * (size_t)(nin + 1)),
                 gx ? malloc(es * (size_t)(nout + 1)) : NULL};
    if (dt == GT_F32)
        ref_argmax_f32(g, x, arg);
    else
        ref_argmax_f64(g, x, arg);
    for (int64_t o = 0; o < nout; o++) {
        /* Every "valid" or "same" window holds a real cell. */
        if (arg[o] < 0) {
            fprintf(stderr, "test bug: empty window\n");
            abort();
        }
        memcpy((char *)r.y + (size_t)o * es, (const char *)x + (size_t)arg[o] * es, es);
        if (gx)
            memcpy((char *)r.gather + (size_t)o * es, (const char *)gx + (size_t)arg[o] * es, es);
    }
    if (dt == GT_F32)
        ref_scatter_f32(g, arg, dy, r.dx, nin, nout);
    else
        ref_scatter_f64(g, arg, dy, r.dx, nin, nout);
    free(arg);
    return r;
}

static void free_ref(ref_out *r) {
    free(r->y);
    free(r->dx);
    free(r->gather);
}

/* ---- checks --------------------------------------------------------------------------------- */

static char ctx[256]; /* the case being run, for failure messages */

static void set_ctx(const char *what, const gt__pool_geom *g, int same, gt_dtype dt, int mode,
                    int threads) {
    snprintf(ctx, sizeof ctx,
             "%s %s x[%lld,%lld,%lld,%lld] pool %lldx%lld stride %lldx%lld %s mode %s threads %d",
             what, dt == GT_F32 ? "f32" : "f64", (long long)g->n, (long long)g->h, (long long)g->w,
             (long long)g->c, (long long)g->ph, (long long)g->pw, (long long)g->sh,
             (long long)g->sw, same ? "same" : "valid", mode >= 0 ? mode_name[mode] : "-", threads);
}

/* got == want bit for bit (want: the reference, or the hand-made table of the patterns); on a
 * difference, the first differing element, where it is (n, h, w,
 * c for a tensor of spatial size hh x ww), and both values with their bits. */
static void check_bits(const char *what, gt_dtype dt, const void *got, const void *want,
                       int64_t count, int64_t hh, int64_t ww, int64_t c) {
    const size_t es = dt == GT_F32 ? sizeof(float) : sizeof(double);
    int64_t bad = -1;
    if (memcmp(got, want, es * (size_t)count) != 0)
        for (int64_t i = 0; i < count && bad < 0; i++)
            if (memcmp((const char *)got + (size_t)i * es, (const char *)want + (size_t)i * es, es))
                bad = i;
    double gv = 0, wv = 0;
    uint64_t gb = 0, wb = 0;
    if (bad >= 0) {
        if (dt == GT_F32) {
            float a = ((const float *)got)[bad], b = ((const float *)want)[bad];
            uint32_t ab, bb;
            memcpy(&ab, &a, 4);
            memcpy(&bb, &b, 4);
            gv = a, wv = b, gb = ab, wb = bb;
        } else {
            gv = ((const double *)got)[bad], wv = ((const double *)want)[bad];
            memcpy(&gb, &gv, 8);
            memcpy(&wb, &wv, 8);
        }
    }
    const int64_t cell = bad < 0 ? 0 : bad / c;
    GTT_CHECK(bad < 0,
              "%s: %s: element %lld ([%lld,%lld,%lld,%lld]) is %g (0x%" PRIx64
              ") but should be %g (0x%" PRIx64 ")",
              ctx, what, (long long)bad, (long long)(cell / (hh * ww)), (long long)(cell / ww % hh),
              (long long)(cell % ww), (long long)(bad % c), gv, gb, wv, wb);
}

/* A buffer with 64 guard bytes of 0xA5 on each side, its data `offset` bytes past a 64-byte
 * boundary, prefilled with 0xFF bytes (a NaN in both dtypes, never what a kernel should leave:
 * every output element is written by the kernels, whatever was there before). */
typedef struct gbuf {
    unsigned char *base;
    void *p;
    size_t bytes, offset;
} gbuf;

static gbuf gbuf_new(size_t bytes, size_t offset) {
    const size_t total = (64 + offset + bytes + 64 + 63) / 64 * 64; /* aligned_alloc: a multiple */
    gbuf b = {aligned_alloc(64, total), NULL, bytes, offset};
    if (!b.base) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    memset(b.base, 0xA5, total);
    b.p = b.base + 64 + offset;
    memset(b.p, 0xFF, bytes);
    return b;
}

static void gbuf_check_free(gbuf *b, const char *what) {
    bool ok = true;
    for (size_t i = 0; i < 64 + b->offset; i++)
        ok &= b->base[i] == 0xA5;
    for (size_t i = 0; i < 64; i++)
        ok &= ((unsigned char *)b->p)[b->bytes + i] == 0xA5;
    GTT_CHECK(ok, "%s: %s: bytes written outside the buffer", ctx, what);
    free(b->base);
}

/* ---- the kernels against the reference ------------------------------------------------------ */

/* Runs the three argmax kernels on one case at `threads` threads, buffers `offset` bytes past a
 * 64-byte boundary, and checks them against the reference (computed here when r is NULL). The
 * outputs are returned in outs (when not NULL; the caller frees them) for thread comparisons. */
static void kernel_case(const gt__pool_geom *g, int same, gt_dtype dt, int mode, int threads,
                        size_t offset, const void *x, const void *dy, const void *gx,
                        const ref_out *r, void **outs) {
    const size_t es = dt == GT_F32 ? sizeof(float) : sizeof(double);
    const int64_t nin = g->n * g->h * g->w * g->c, nout = g->n * g->oh * g->ow * g->c;
    set_ctx("kernel", g, same, dt, mode, threads);
    gbuf bx = gbuf_new(es * (size_t)nin, offset), bdy = gbuf_new(es * (size_t)nout, offset),
         bgx = gbuf_new(es * (size_t)nin, offset), by = gbuf_new(es * (size_t)nout, offset),
         bdx = gbuf_new(es * (size_t)nin, offset), bgg = gbuf_new(es * (size_t)nout, offset);
    memcpy(bx.p, x, es * (size_t)nin);
    memcpy(bdy.p, dy, es * (size_t)nout);
    memcpy(bgx.p, gx, es * (size_t)nin);
    gt_set_num_threads(threads);
    gt__max_pool_fwd(dt, g, bx.p, by.p);
    gt__max_pool_bwd(dt, g, bx.p, bdy.p, bdx.p);
    gt__max_pool_gather(dt, g, bx.p, bgx.p, bgg.p);
    check_bits("forward", dt, by.p, r->y, nout, g->oh, g->ow, g->c);
    check_bits("MaxPoolGrad", dt, bdx.p, r->dx, nin, g->h, g->w, g->c);
    check_bits("MaxPoolGradGrad", dt, bgg.p, r->gather, nout, g->oh, g->ow, g->c);
    /* The kernels must not write their inputs either. */
    GTT_CHECK(!memcmp(bx.p, x, es * (size_t)nin) && !memcmp(bdy.p, dy, es * (size_t)nout),
              "%s: an input changed", ctx);
    if (outs) {
        void *bufs[3] = {by.p, bdx.p, bgg.p};
        const int64_t sizes[3] = {nout, nin, nout};
        for (int k = 0; k < 3; k++) {
            outs[k] = malloc(es * (size_t)sizes[k]);
            memcpy(outs[k], bufs[k], es * (size_t)sizes[k]);
        }
    }
    gbuf_check_free(&bx, "x");
    gbuf_check_free(&bdy, "dy");
    gbuf_check_free(&bgx, "gx");
    gbuf_check_free(&by, "y");
    gbuf_check_free(&bdx, "dx");
    gbuf_check_free(&bgg, "gather");
}

/* Inputs of a case: x of the mode, dy (exact or not), gx (integers, distinct within 2^20
 * elements, so a gather from the wrong cell shows). */
typedef struct inputs {
    void *x, *dy, *gx;
} inputs;

static inputs make_inputs(gt_dtype dt, const gt__pool_geom *g, int mode, bool exact_dy) {
    const size_t es = dt == GT_F32 ? sizeof(float) : sizeof(double);
    const int64_t nin = g->n * g->h * g->w * g->c, nout = g->n * g->oh * g->ow * g->c;
    inputs in = {malloc(es * (size_t)(nin + 1)), malloc(es * (size_t)(nout + 1)),
                 malloc(es * (size_t)(nin + 1))};
    fill_x(dt, in.x, nin, mode);
    fill_dy(dt, in.dy, nout, exact_dy);
    for (int64_t i = 0; i < nin; i++) { /* i mod 2^20 + 1: exact in float32 */
        if (dt == GT_F32)
            ((float *)in.gx)[i] = (float)(i % (1 << 20) + 1);
        else
            ((double *)in.gx)[i] = (double)(i + 1);
    }
    return in;
}

static void free_inputs(inputs *in) {
    free(in->x);
    free(in->dy);
    free(in->gx);
}

/* Small geometries (threads do not engage below 2 * 32768 input elements: these run on the
 * calling thread whatever the count). */
static const pcase small_cases[] = {
    {2, 7, 9, 2, 2, 2, 2, 0},   /* stride == pool, odd sizes: the last row and column unused */
    {2, 7, 9, 2, 2, 2, 2, 1},   /* the same, "same": the last windows clipped */
    {1, 9, 7, 3, 3, 1, 1, 0},   /* stride < pool: each cell in up to 9 windows */
    {2, 8, 7, 3, 3, 2, 2, 1},   /* overlap with padding: left 1, top 0, bottom/right 1 */
    {1, 9, 10, 2, 3, 3, 4, 0},  /* stride > pool: rows and columns between windows */
    {2, 10, 11, 2, 2, 3, 3, 1}, /* stride > pool, "same" */
    {1, 5, 8, 4, 4, 3, 3, 1},   /* overlap, padding 1 before and after on both axes */
    {1, 3, 3, 3, 3, 2, 2, 1},   /* windows mostly padding */
    {1, 3, 3, 4, 4, 1, 1, 1},   /* a window larger than the image ("same" allows it) */
    {1, 5, 5, 5, 5, 1, 1, 0},   /* one window over the whole image */
    {1, 5, 5, 5, 5, 1, 1, 1},   /* 25 overlapping windows, heavily clipped */
    {3, 7, 7, 3, 1, 3, 1, 1},   /* 3x1 windows, stride == pool per axis, top pad 1 */
    {2, 7, 8, 2, 3, 3, 1, 0},   /* stride > pool in rows, < pool in columns */
    {1, 4, 6, 1, 3, 1, 2, 1},   /* 1x3 windows overlapping in columns only */
    {2, 6, 5, 1, 1, 1, 1, 0},   /* 1x1: a copy, and the gradient a copy of dy */
    {1, 1, 1, 1, 1, 1, 1, 1},   /* one cell */
};
/* 8, 16, 32, 40, 64, 72, 96: the AVX2 f32 paths with 1, 2 vectors of its 1-vector tail, one
 * 4-vector body, a body and a tail, ...; 1, 3, 9, 65: the portable loops only (65: a second
 * block of 64 channels with one channel in it). */
static const int64_t small_channels[] = {1, 3, 8, 9, 16, 32, 40, 64, 65, 72, 96};

#define COUNT(a) ((int)(sizeof(a) / sizeof *(a)))

static void test_kernels_small(void) {
    int run = 0;
    for (int ci = 0; ci < COUNT(small_cases); ci++)
        for (int k = 0; k < COUNT(small_channels); k++)
            for (int d = 0; d < 2; d++)
                for (int mode = 0; mode < M_COUNT; mode++, run++) {
                    const gt_dtype dt = d ? GT_F64 : GT_F32;
                    const gt__pool_geom g = geom_of(&small_cases[ci], small_channels[k]);
                    inputs in = make_inputs(dt, &g, mode, true);
                    ref_out r = reference(dt, &g, in.x, in.dy, in.gx);
                    /* Threads cycle 1, 2, 3 (a no-op at this size, but cheap); every other run
                     * has its buffers one element off a 32-byte boundary (unaligned loads and
                     * stores, no streaming). */
                    const size_t off = run % 2 ? (d ? sizeof(double) : sizeof(float)) : 0;
                    kernel_case(&g, small_cases[ci].same, dt, mode, 1 + run % 3, off, in.x, in.dy,
                                in.gx, &r, NULL);
                    free_ref(&r);
                    free_inputs(&in);
                }
}

/* Hand-made windows whose winner is written down here, not computed: they pin the rule itself
 * (the reference above could share a misreading of it). One 2x2 window, pool 2x2 stride 2;
 * channel j holds pattern j % NPAT, so each pattern sits in several vector lanes. */
#define NPAT 15
static const struct {
    double v[4]; /* the window's cells in row-major order; 100 + k: NaN of kind k */
    int win;     /* the cell that must win */
} patterns[NPAT] = {
    {{1, 1, 1, 1}, 0},                                 /* all equal: the first */
    {{0.5, 2, 2, 1}, 1},                               /* a tie in the first row */
    {{1, 0.5, 2, 2}, 2},                               /* a tie in the second row */
    {{0.5, 2, 1, 2}, 1},                               /* a tie across rows */
    {{0.0, -0.0, -0.0, 0.0}, 0},                       /* +0 first: +0 */
    {{-0.0, 0.0, 0.0, -0.0}, 0},                       /* -0 first: -0, +0 is not greater */
    {{-1, -0.0, 0.0, -0.0}, 1},                        /* -0 then +0: -0 */
    {{100, 5, 6, 7}, 0},                               /* NaN first: NaN */
    {{2, 100, 3, 3}, 2},                               /* NaN later: ignored, first 3 wins */
    {{1, 2, 101, 0}, 1},                               /* NaN later, max before it */
    {{-INFINITY, -INFINITY, -INFINITY, -INFINITY}, 0}, /* all -inf: the first */
    {{INFINITY, 1, INFINITY, 102}, 0},                 /* +inf ties: the first */
    {{-INFINITY, -1, -INFINITY, -1}, 1},               /* -inf below everything */
    {{3, 2, 1, INFINITY}, 3},                          /* +inf last */
    {{103, 101, 1, 2}, 0},                             /* NaN (negative, payload) first */
};

static void test_kernels_patterns(void) {
    static const int64_t chans[] = {1, 8, 9, 15, 16, 24, 64, 65, 96};
    for (int k = 0; k < COUNT(chans); k++)
        for (int d = 0; d < 2; d++) {
            const gt_dtype dt = d ? GT_F64 : GT_F32;
            const size_t es = d ? sizeof(double) : sizeof(float);
            const pcase pc = {1, 2, 2, 2, 2, 2, 2, 0};
            const gt__pool_geom g = geom_of(&pc, chans[k]);
            const int64_t c = chans[k];
            unsigned char *x = malloc(es * 4 * (size_t)c), *dy = malloc(es * (size_t)c),
                          *gx = malloc(es * 4 * (size_t)c), *wy = malloc(es * (size_t)c),
                          *wdx = calloc(4 * (size_t)c, es), *wgg = malloc(es * (size_t)c);
            for (int64_t j = 0; j < c; j++) {
                const int p = (int)(j % NPAT), win = patterns[p].win;
                for (int cell = 0; cell < 4; cell++) {
                    const double v = patterns[p].v[cell];
                    const int64_t at = cell * c + j;
                    const bool isnan_code = v >= 100 && v < 104; /* not +inf */
                    if (d)
                        ((double *)x)[at] = isnan_code ? nan_f64((int)v - 100) : v;
                    else
                        ((float *)x)[at] = isnan_code ? nan_f32((int)v - 100) : (float)v;
                    if (d)
                        ((double *)gx)[at] = (double)at;
                    else
                        ((float *)gx)[at] = (float)at;
                }
                /* dy = (j + 1) / 8, exact; the expected dx is 0 + dy at the winner, +0 elsewhere
                 * (calloc), y and the gather the winner's bits. */
                if (d)
                    ((double *)dy)[j] = (double)(j + 1) / 8;
                else
                    ((float *)dy)[j] = (float)(j + 1) / 8;
                memcpy(wy + (size_t)j * es, x + (size_t)(win * c + j) * es, es);
                memcpy(wdx + (size_t)(win * c + j) * es, dy + (size_t)j * es, es);
                memcpy(wgg + (size_t)j * es, gx + (size_t)(win * c + j) * es, es);
            }
            /* The reference must say the same as the table... */
            set_ctx("pattern reference", &g, 0, dt, -1, 1);
            ref_out r = reference(dt, &g, x, dy, gx);
            check_bits("forward", dt, r.y, wy, c, 1, 1, c);
            check_bits("MaxPoolGrad", dt, r.dx, wdx, 4 * c, 2, 2, c);
            check_bits("MaxPoolGradGrad", dt, r.gather, wgg, c, 1, 1, c);
            free_ref(&r);
            /* ...and so must the kernels, aligned and not. */
            const ref_out table = {wy, wdx, wgg};
            for (int off = 0; off < 2; off++)
                kernel_case(&g, 0, dt, -1, 1, off ? es : 0, x, dy, gx, &table, NULL);
            free(x), free(dy), free(gx), free(wy), free(wdx), free(wgg);
        }
}

/* Geometries big enough for the kernels to split over threads (>= 2 * 32768 input elements;
 * tasks are output rows, or whole images for the adding scatter, so n > 1 there). dy is not
 * exact: sums round, and must still agree bitwise across thread counts and with the
 * reference's window order (pool.h). */
static const struct {
    pcase p;
    int64_t c;
    gt_dtype dt;
    int mode;
} thread_cases[] = {
    {{4, 32, 33, 2, 2, 2, 2, 0}, 64, GT_F32, M_TIES},    /* AVX2 forward and gradient */
    {{4, 45, 43, 2, 2, 3, 3, 1}, 24, GT_F32, M_SPECIAL}, /* AVX2, gaps between windows */
    {{5, 21, 19, 3, 3, 2, 2, 1}, 65, GT_F32, M_TIES},    /* overlap: the adding scatter */
    {{3, 20, 22, 3, 3, 1, 1, 0}, 64, GT_F32, M_RANDOM},  /* overlap, c % 8 == 0: portable */
    {{6, 40, 37, 3, 3, 1, 1, 1}, 9, GT_F64, M_SPECIAL},  /* f64 overlap, "same" */
    {{4, 80, 80, 3, 3, 3, 3, 1}, 3, GT_F64, M_ZEROS},    /* f64 stride == pool */
    {{3, 26, 27, 2, 2, 2, 2, 1}, 96, GT_F64, M_NEGINF},  /* f64, two channel blocks */
};

static void test_kernels_threads(void) {
    for (int t = 0; t < COUNT(thread_cases); t++) {
        const gt_dtype dt = thread_cases[t].dt;
        const size_t es = dt == GT_F32 ? sizeof(float) : sizeof(double);
        const gt__pool_geom g = geom_of(&thread_cases[t].p, thread_cases[t].c);
        const int64_t nin = g.n * g.h * g.w * g.c, nout = g.n * g.oh * g.ow * g.c;
        inputs in = make_inputs(dt, &g, thread_cases[t].mode, false);
        ref_out r = reference(dt, &g, in.x, in.dy, in.gx);
        void *outs[3][3];
        for (int th = 1; th <= 3; th++)
            kernel_case(&g, thread_cases[t].p.same, dt, thread_cases[t].mode, th, 0, in.x, in.dy,
                        in.gx, &r, outs[th - 1]);
        /* Implied by the reference checks, but said outright. */
        const int64_t sizes[3] = {nout, nin, nout};
        set_ctx("threads", &g, thread_cases[t].p.same, dt, thread_cases[t].mode, 0);
        for (int k = 0; k < 3; k++) {
            GTT_CHECK(!memcmp(outs[0][k], outs[1][k], es * (size_t)sizes[k]) &&
                          !memcmp(outs[0][k], outs[2][k], es * (size_t)sizes[k]),
                      "%s: output %d differs between 1, 2 and 3 threads", ctx, k);
            for (int th = 0; th < 3; th++)
                free(outs[th][k]);
        }
        free_ref(&r);
        free_inputs(&in);
    }
}

/* The streaming stores: the AVX2 gradient streams dx when x, dy and dx together exceed 8 MiB
 * and dx is 32-byte aligned; the forward pass prefetches when x alone exceeds 8 MiB. x here is
 * 2 x 131 x 129 x 64 floats, 8.65 MB (dx the same): both. 3x2 windows, stride 3: columns
 * between the windows, "same": the last row of windows clipped, so the streamed zero stores
 * run too. One case only (it dominates the run time), at 1 and 3 threads. */
static void test_kernels_streaming(void) {
    const pcase p = {2, 131, 129, 3, 2, 3, 3, 1};
    const gt__pool_geom g = geom_of(&p, 64);
    const int64_t nin = g.n * g.h * g.w * g.c, nout = g.n * g.oh * g.ow * g.c;
    set_ctx("streaming", &g, 1, GT_F32, M_SPECIAL, 0);
    /* The kernel's thresholds (pool.c's LLC_BYTES), so that the case cannot shrink below them
     * unnoticed. */
    const int64_t llc = (int64_t)8 << 20;
    GTT_CHECK(nin * 4 > llc && (2 * nin + nout) * 4 > llc, "%s: too small to stream", ctx);
    inputs in = make_inputs(GT_F32, &g, M_SPECIAL, true);
    ref_out r = reference(GT_F32, &g, in.x, in.dy, in.gx);
    void *outs[2][3];
    kernel_case(&g, 1, GT_F32, M_SPECIAL, 1, 0, in.x, in.dy, in.gx, &r, outs[0]);
    kernel_case(&g, 1, GT_F32, M_SPECIAL, 3, 0, in.x, in.dy, in.gx, &r, outs[1]);
    set_ctx("streaming", &g, 1, GT_F32, M_SPECIAL, 0);
    GTT_CHECK(!memcmp(outs[0][1], outs[1][1], sizeof(float) * (size_t)nin),
              "%s: dx differs between 1 and 3 threads", ctx);
    for (int k = 0; k < 3; k++)
        free(outs[0][k]), free(outs[1][k]);
    free_ref(&r);
    free_inputs(&in);
}

/* ---- the public ops ------------------------------------------------------------------------ */

/* gt_max_pool2d, its gradient through a tape with dy as the output gradient, and
 * gt_max_pool2d_grad, against the reference. */
static void public_case(const pcase *p, int64_t c, gt_dtype dt, int mode, int threads) {
    const gt__pool_geom g = geom_of(p, c);
    const int64_t nin = g.n * g.h * g.w * g.c, nout = g.n * g.oh * g.ow * g.c;
    inputs in = make_inputs(dt, &g, mode, true);
    ref_out r = reference(dt, &g, in.x, in.dy, in.gx);
    set_ctx("public", &g, p->same, dt, mode, threads);
    gt_set_num_threads(threads);
    gt_scope_begin();
    const int64_t xs[4] = {g.n, g.h, g.w, c}, ys[4] = {g.n, g.oh, g.ow, c};
    gt_tensor *x = gt_tensor_new(dt, 4, xs, in.x), *dy = gt_tensor_new(dt, 4, ys, in.dy);
    const gt_pool2d_desc desc = {.pool_size = {p->ph, p->pw},
                                 .strides = {p->sh, p->sw},
                                 .padding = p->same ? GT_PADDING_SAME : GT_PADDING_VALID};
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tape_watch(tape, x);
    gt_tensor *y = gt_max_pool2d(x, &desc);
    gt_tape_end(tape);
    gt_tensor *dx = NULL;
    const gt_tensor *targets[1] = {y}, *ograds[1] = {dy}, *sources[1] = {x};
    const bool ok =
        y && gt_tape_gradient(tape, 1, targets, ograds, 1, sources, GT_UNCONNECTED_NONE, &dx);
    gt_tensor *dx2 = gt_max_pool2d_grad(x, dy, &desc);
    GTT_CHECK(ok && dx && dx2, "%s: %s", ctx, gt_error() ? gt_error() : "no result");
    if (ok && dx && dx2) {
        GTT_CHECK(!memcmp(gt_tensor_shape(y), ys, sizeof ys), "%s: output shape", ctx);
        check_bits("gt_max_pool2d", dt, gt_tensor_data(y), r.y, nout, g.oh, g.ow, c);
        check_bits("tape gradient", dt, gt_tensor_data(dx), r.dx, nin, g.h, g.w, c);
        check_bits("gt_max_pool2d_grad", dt, gt_tensor_data(dx2), r.dx, nin, g.h, g.w, c);
    }
    gt_tape_free(tape);
    gt_scope_end();
    free_ref(&r);
    free_inputs(&in);
}

static void test_public(void) {
    static const pcase cases[] = {
        {2, 7, 9, 2, 2, 2, 2, 0},  {2, 7, 9, 2, 2, 2, 2, 1},   {2, 8, 7, 3, 3, 2, 2, 1},
        {1, 9, 10, 2, 3, 3, 4, 0}, {2, 10, 11, 2, 2, 3, 3, 1}, {1, 3, 3, 4, 4, 1, 1, 1},
    };
    static const int64_t chans[] = {1, 3, 8, 9, 32, 64, 65};
    int run = 0;
    for (int i = 0; i < COUNT(cases); i++)
        for (int k = 0; k < COUNT(chans); k++)
            for (int d = 0; d < 2; d++, run++)
                public_case(&cases[i], chans[k], d ? GT_F64 : GT_F32, run % 2 ? M_SPECIAL : M_TIES,
                            1);
    /* Big enough for threads: the AVX2 row split and the per-image scatter. */
    for (int th = 1; th <= 3; th++) {
        public_case(&(pcase){4, 32, 33, 2, 2, 2, 2, 1}, 64, GT_F32, M_SPECIAL, th);
        public_case(&(pcase){5, 21, 19, 3, 3, 2, 2, 0}, 65, GT_F32, M_ZEROS, th);
        public_case(&(pcase){3, 30, 31, 3, 3, 1, 1, 1}, 32, GT_F64, M_TIES, th);
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
    const int before = gt_get_num_threads();
    printf("AVX2+FMA: %s\n",
           gt__cpu_has_avx2_fma() ? "yes (the f32 AVX2 paths run)" : "no (portable loops only)");
    static const struct {
        const char *name;
        void (*f)(void);
    } parts[] = {{"patterns", test_kernels_patterns},
                 {"kernels small", test_kernels_small},
                 {"kernels threads", test_kernels_threads},
                 {"streaming", test_kernels_streaming},
                 {"public ops", test_public}};
    for (int i = 0; i < COUNT(parts); i++) {
        const double t0 = now();
        const int p0 = gtt_passed + gtt_failed;
        parts[i].f();
        printf("%-16s %6d checks %7.3f s\n", parts[i].name, gtt_passed + gtt_failed - p0,
               now() - t0);
    }
    gt_set_num_threads(before);
    return gtt_finish();
}
