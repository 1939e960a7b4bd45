/* Softmax-family kernels. The work is cut into items of (outer index, tile of up to TW inner
 * columns); each item reduces over the softmax axis with per-column accumulators on the
 * stack, so nothing is allocated and every result is computed by one thread in one fixed
 * order (bitwise identical whatever the thread count). inner == 1 (the last axis) takes a
 * plain row loop. float32 uses the vectorisable gt__expf. */
/* The library never inspects floating-point exception flags; without this GCC will not
 * if-convert (and so not vectorise) loops containing float comparisons. Before the includes
 * so the inline kernels of unary.h get it too. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "kernels/softmax.h"
#include "kernels/unary.h"

#include <tgmath.h>

#define TW 64

typedef struct sm_ctx {
    const void *a, *b; /* inputs */
    void *y, *z;       /* outputs */
    int64_t n, inner;
    bool log;
    gt_dtype ldt; /* label dtype (sparse) */
} sm_ctx;

typedef void (*tile_fn)(const sm_ctx *c, int64_t o, int64_t j0, int w);

static void run_tiles(tile_fn f, const sm_ctx *c, int64_t outer) {
    int64_t nt = (c->inner + TW - 1) / TW, nit = outer * nt;
    if (c->n == 0 && !c->z) return;
    bool par = outer * c->n * c->inner > GT__PAR_MIN && nit > 1;
    (void)par;
#ifdef GT_HAVE_OPENMP
#pragma omp parallel for schedule(static) if (par)
#endif
    for (int64_t it = 0; it < nit; it++) {
        int64_t j0 = (it % nt) * TW, rest = c->inner - j0;
        f(c, it / nt, j0, rest < TW ? (int)rest : TW);
    }
}

static int64_t label_at(gt_dtype ldt, const void *labels, int64_t r) {
    return ldt == GT_I32 ? (int64_t)((const int32_t *)labels)[r] : ((const int64_t *)labels)[r];
}

/* ACC is the accumulator type: double for both widths (float32 sums of many exponentials
 * would otherwise lose digits in long rows). */
#define DEFINE_SOFTMAX(SUF, T, EXP)                                                                     \
    static void softmax_tile_##SUF(const sm_ctx *c, int64_t o, int64_t j0, int w) {                \
        const int64_t n = c->n, in = c->inner;                                                     \
        const T *x = (const T *)c->a + o * n * in + j0;                                            \
        T *y = (T *)c->y + o * n * in + j0;                                                        \
        if (in == 1) {                                                                             \
            T m = -(T)INFINITY;                                                                    \
            for (int64_t k = 0; k < n; k++) m = x[k] > m ? x[k] : m;                               \
            GT__SIMD for (int64_t k = 0; k < n; k++) y[k] = EXP(x[k] - m);                         \
            /* four partial sums in a fixed order: fast and independent of the ISA */             \
            double s4[4] = {0, 0, 0, 0};                                                           \
            int64_t k = 0;                                                                         \
            for (; k + 4 <= n; k += 4)                                                             \
                for (int q = 0; q < 4; q++) s4[q] += y[k + q];                                     \
            for (; k < n; k++) s4[0] += y[k];                                                      \
            double s = (s4[0] + s4[1]) + (s4[2] + s4[3]);                                          \
            if (c->log) {                                                                          \
                T ls = log((T)s);                                                                  \
                GT__SIMD for (int64_t i = 0; i < n; i++) y[i] = (x[i] - m) - ls;                   \
            } else {                                                                               \
                T inv = 1 / (T)s;                                                                  \
                GT__SIMD for (int64_t i = 0; i < n; i++) y[i] *= inv;                              \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        T m[TW];                                                                                   \
        double s[TW];                                                                              \
        for (int j = 0; j < w; j++) m[j] = -(T)INFINITY, s[j] = 0;                                 \
        for (int64_t k = 0; k < n; k++)                                                            \
            for (int j = 0; j < w; j++) m[j] = x[k * in + j] > m[j] ? x[k * in + j] : m[j];        \
        for (int64_t k = 0; k < n; k++)                                                            \
            GT__SIMD for (int j = 0; j < w; j++) {                                                 \
                T e = EXP(x[k * in + j] - m[j]);                                                   \
                s[j] += e;                                                                         \
                if (!c->log) y[k * in + j] = e;                                                    \
            }                                                                                      \
        T f[TW];                                                                                   \
        for (int j = 0; j < w; j++) f[j] = c->log ? log((T)s[j]) : 1 / (T)s[j];                    \
        for (int64_t k = 0; k < n; k++)                                                            \
            GT__SIMD for (int j = 0; j < w; j++) {                                                 \
                if (c->log) y[k * in + j] = (x[k * in + j] - m[j]) - f[j];                         \
                else y[k * in + j] *= f[j];                                                        \
            }                                                                                      \
    }                                                                                              \
                                                                                                   \
    static void softmax_grad_tile_##SUF(const sm_ctx *c, int64_t o, int64_t j0, int w) {           \
        const int64_t n = c->n, in = c->inner, base = o * n * in + j0;                             \
        const T *g = (const T *)c->a + base, *yv = (const T *)c->b + base;                         \
        T *out = (T *)c->y + base;                                                                 \
        double s[TW];                                                                              \
        for (int j = 0; j < w; j++) s[j] = 0;                                                      \
        for (int64_t k = 0; k < n; k++)                                                            \
            for (int j = 0; j < w; j++)                                                            \
                s[j] += c->log ? g[k * in + j] : g[k * in + j] * yv[k * in + j];                   \
        T sv[TW];                                                                                  \
        for (int j = 0; j < w; j++) sv[j] = (T)s[j];                                               \
        for (int64_t k = 0; k < n; k++)                                                            \
            GT__SIMD for (int j = 0; j < w; j++) {                                                 \
                int64_t i = k * in + j;                                                            \
                out[i] = c->log ? g[i] - sv[j] * EXP(yv[i]) : (g[i] - sv[j]) * yv[i];              \
            }                                                                                      \
    }                                                                                              \
                                                                                                   \
    static void xent_tile_##SUF(const sm_ctx *c, int64_t o, int64_t j0, int w) {                   \
        const int64_t n = c->n, in = c->inner, base = o * n * in + j0;                             \
        const T *z = (const T *)c->a + base, *x = (const T *)c->b + base;                          \
        T *loss = (T *)c->z + o * in + j0, *bp = (T *)c->y + base;                                 \
        T m[TW], sv[TW], ls[TW];                                                                   \
        double s[TW], l[TW];                                                                       \
        for (int j = 0; j < w; j++) m[j] = -(T)INFINITY, s[j] = 0, l[j] = 0;                       \
        for (int64_t k = 0; k < n; k++)                                                            \
            for (int j = 0; j < w; j++) m[j] = x[k * in + j] > m[j] ? x[k * in + j] : m[j];        \
        for (int64_t k = 0; k < n; k++)                                                            \
            GT__SIMD for (int j = 0; j < w; j++) {                                                 \
                T e = EXP(x[k * in + j] - m[j]);                                                   \
                bp[k * in + j] = e;                                                                \
                s[j] += e;                                                                         \
            }                                                                                      \
        for (int j = 0; j < w; j++) sv[j] = (T)s[j], ls[j] = log(sv[j]);                           \
        for (int64_t k = 0; k < n; k++)                                                            \
            GT__SIMD for (int j = 0; j < w; j++) {                                                 \
                int64_t i = k * in + j;                                                            \
                l[j] += z[i] * (ls[j] - (x[i] - m[j]));                                            \
                bp[i] = bp[i] / sv[j] - z[i];                                                      \
            }                                                                                      \
        for (int j = 0; j < w; j++) loss[j] = (T)l[j];                                             \
    }                                                                                              \
                                                                                                   \
    static void sparse_tile_##SUF(const sm_ctx *c, int64_t r, int64_t j0, int w) {                 \
        (void)j0, (void)w;                                                                         \
        const int64_t n = c->n;                                                                    \
        const T *x = (const T *)c->b + r * n;                                                      \
        T *bp = (T *)c->y + r * n;                                                                 \
        int64_t lab = label_at(c->ldt, c->a, r);                                                   \
        T m = -(T)INFINITY;                                                                        \
        for (int64_t k = 0; k < n; k++) m = x[k] > m ? x[k] : m;                                   \
        double s = 0;                                                                              \
        for (int64_t k = 0; k < n; k++) {                                                          \
            T e = EXP(x[k] - m);                                                                   \
            bp[k] = e;                                                                             \
            s += e;                                                                                \
        }                                                                                          \
        T sv = (T)s;                                                                               \
        ((T *)c->z)[r] = log(sv) - (x[lab] - m);                                                   \
        for (int64_t k = 0; k < n; k++) bp[k] = bp[k] / sv - (k == lab ? (T)1 : (T)0);             \
    }                                                                                              \
                                                                                                   \
    static void scale_tile_##SUF(const sm_ctx *c, int64_t o, int64_t j0, int w) {                  \
        const int64_t n = c->n, in = c->inner, base = o * n * in + j0;                             \
        const T *g = (const T *)c->a + o * in + j0, *b = (const T *)c->b + base;                   \
        T *out = (T *)c->y + base;                                                                 \
        for (int64_t k = 0; k < n; k++)                                                            \
            for (int j = 0; j < w; j++) out[k * in + j] = g[j] * b[k * in + j];                    \
    }

DEFINE_SOFTMAX(f32, float, gt__expf)
DEFINE_SOFTMAX(f64, double, exp)

#define PICK(name, dt) ((dt) == GT_F32 ? name##_f32 : name##_f64)

void gt__softmax(gt_dtype dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                 bool log) {
    sm_ctx c = {.a = x, .y = y, .n = n, .inner = inner, .log = log};
    run_tiles(PICK(softmax_tile, dt), &c, outer);
}

void gt__softmax_grad(gt_dtype dt, const void *g, const void *y, void *out, int64_t outer,
                      int64_t n, int64_t inner, bool log) {
    sm_ctx c = {.a = g, .b = y, .y = out, .n = n, .inner = inner, .log = log};
    run_tiles(PICK(softmax_grad_tile, dt), &c, outer);
}

void gt__softmax_xent(gt_dtype dt, const void *labels, const void *logits, void *loss,
                      void *backprop, int64_t outer, int64_t n, int64_t inner) {
    sm_ctx c = {.a = labels, .b = logits, .y = backprop, .z = loss, .n = n, .inner = inner};
    run_tiles(PICK(xent_tile, dt), &c, outer);
}

void gt__sparse_xent(gt_dtype dt, gt_dtype label_dt, const void *labels, const void *logits,
                     void *loss, void *backprop, int64_t rows, int64_t c) {
    sm_ctx k = {.a = labels, .b = logits, .y = backprop, .z = loss, .n = c, .inner = 1,
                .ldt = label_dt};
    run_tiles(PICK(sparse_tile, dt), &k, rows);
}

void gt__scale_rows(gt_dtype dt, const void *g, const void *b, void *out, int64_t outer,
                    int64_t n, int64_t inner) {
    sm_ctx c = {.a = g, .b = b, .y = out, .n = n, .inner = inner};
    run_tiles(PICK(scale_tile, dt), &c, outer);
}

int64_t gt__bad_label(gt_dtype label_dt, const void *labels, int64_t rows, int64_t c) {
    for (int64_t r = 0; r < rows; r++) {
        int64_t v = label_at(label_dt, labels, r);
        if (v < 0 || v >= c) return r;
    }
    return -1;
}
