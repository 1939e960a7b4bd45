/* Softmax-family kernels.
 *
 * Two layouts. The last axis (inner == 1) is processed in blocks of RB rows: per-row max and
 * shift, then one flat exp over the whole block (it vectorises fully even for rows of 10
 * classes), then per-row sums. Other axes are cut into items of (outer index, tile of up to
 * TW inner columns) that reduce over the axis with per-column accumulators on the stack.
 * Both add a row's terms in the same fixed order (four interleaved partial sums, in double),
 * so a softmax gives the same bits along any axis, nothing is allocated, and each result is
 * computed by one thread: bitwise identical whatever the thread count. float32 uses the
 * vectorisable gt__expf. */
/* The library never inspects floating-point exception flags; without this GCC will not
 * if-convert (and so not vectorise) loops containing float comparisons. Before the includes
 * so the inline kernels of unary.h get it too. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include "kernels/softmax.h"
#include "kernels/unary.h"

#include <tgmath.h>

#define TW 64  /* inner columns per strided item */
#define RB 128 /* rows per block on the last axis */

enum { M_SOFTMAX, M_LOG_SOFTMAX, M_XENT, M_SPARSE, M_GRAD, M_LOG_GRAD, M_SCALE };

typedef struct sm_ctx {
    int mode;
    const void *x;   /* logits / softmax input; dy for the gradients; g for M_SCALE */
    const void *aux; /* labels (xent, sparse); y (gradients); backprop (M_SCALE) */
    void *y;         /* softmax output, backprop or gradient */
    void *loss;      /* per-row loss (xent, sparse) */
    int64_t outer, n, inner;
    gt_dtype ldt; /* label dtype (sparse) */
} sm_ctx;

typedef void (*item_fn)(const sm_ctx *c, int64_t it);

typedef struct item_job {
    item_fn f;
    const sm_ctx *c;
} item_job;

static void item_task(void *ctx, int64_t it, int tid) {
    (void)tid;
    const item_job *j = ctx;
    j->f(j->c, it);
}

static void run_items(item_fn f, const sm_ctx *c, int64_t nit) {
    /* Small softmaxes stay on the calling thread: handing out tasks costs more. */
    if (c->outer * c->n * c->inner <= GT__PAR_MIN || nit <= 1) {
        for (int64_t it = 0; it < nit; it++) f(c, it);
        return;
    }
    item_job j = {f, c};
    gt__par_for(nit, 0, item_task, &j);
}

static int64_t label_at(gt_dtype ldt, const void *labels, int64_t r) {
    return ldt == GT_I32 ? (int64_t)((const int32_t *)labels)[r] : ((const int64_t *)labels)[r];
}

/* Term k of a row goes to partial sum k % 4, except the tail past the last multiple of 4,
 * which goes to the first; the partials are combined as (s0 + s1) + (s2 + s3). */
#define PART(k, n4) ((k) < (n4) ? (int)((k)&3) : 0)

#define DEFINE_SOFTMAX(SUF, T, EXP)                                                                \
    /* Item it: rows [it*RB, it*RB + RB) of a last-axis softmax / cross-entropy. */                \
    static void rows_##SUF(const sm_ctx *c, int64_t it) {                                          \
        const int64_t n = c->n, n4 = n - n % 4, r0 = it * RB;                                      \
        const int64_t nr = c->outer - r0 < RB ? c->outer - r0 : RB;                                \
        const T *x = (const T *)c->x + r0 * n;                                                     \
        T *y = (T *)c->y + r0 * n, m[RB];                                                          \
        for (int64_t r = 0; r < nr; r++) {                                                         \
            const T *xr = x + r * n;                                                               \
            T a0 = -(T)INFINITY, a1 = a0, a2 = a0, a3 = a0; /* four chains; max is exact */        \
            int64_t k = 0;                                                                         \
            for (; k < n4; k += 4) {                                                               \
                a0 = xr[k] > a0 ? xr[k] : a0, a1 = xr[k + 1] > a1 ? xr[k + 1] : a1;                \
                a2 = xr[k + 2] > a2 ? xr[k + 2] : a2, a3 = xr[k + 3] > a3 ? xr[k + 3] : a3;        \
            }                                                                                      \
            for (; k < n; k++) a0 = xr[k] > a0 ? xr[k] : a0;                                       \
            a0 = a1 > a0 ? a1 : a0, a2 = a3 > a2 ? a3 : a2;                                        \
            const T mr = a2 > a0 ? a2 : a0;                                                        \
            m[r] = mr;                                                                             \
            GT__SIMD for (int64_t i = 0; i < n; i++) y[r * n + i] = xr[i] - mr;                    \
        }                                                                                          \
        GT__SIMD for (int64_t i = 0; i < nr * n; i++) y[i] = EXP(y[i]);                            \
        for (int64_t r = 0; r < nr; r++) {                                                         \
            const T *xr = x + r * n;                                                               \
            T *yr = y + r * n;                                                                     \
            double p0 = 0, p1 = 0, p2 = 0, p3 = 0; /* PART's order, in registers */                \
            int64_t q = 0;                                                                         \
            for (; q < n4; q += 4) p0 += yr[q], p1 += yr[q + 1], p2 += yr[q + 2], p3 += yr[q + 3]; \
            for (; q < n; q++) p0 += yr[q];                                                        \
            const T sv = (T)((p0 + p1) + (p2 + p3)), mr = m[r];                                    \
            if (c->mode == M_SOFTMAX) {                                                            \
                const T inv = 1 / sv;                                                              \
                GT__SIMD for (int64_t k = 0; k < n; k++) yr[k] *= inv;                             \
            } else if (c->mode == M_LOG_SOFTMAX) {                                                 \
                const T ls = log(sv);                                                              \
                GT__SIMD for (int64_t k = 0; k < n; k++) yr[k] = (xr[k] - mr) - ls;                \
            } else if (c->mode == M_XENT) {                                                        \
                const T ls = log(sv), *zr = (const T *)c->aux + (r0 + r) * n;                      \
                double l = 0;                                                                      \
                for (int64_t k = 0; k < n; k++) {                                                  \
                    l += zr[k] * (ls - (xr[k] - mr));                                              \
                    yr[k] = yr[k] / sv - zr[k];                                                    \
                }                                                                                  \
                ((T *)c->loss)[r0 + r] = (T)l;                                                     \
            } else {                                                                               \
                const int64_t lab = label_at(c->ldt, c->aux, r0 + r);                              \
                ((T *)c->loss)[r0 + r] = log(sv) - (xr[lab] - mr);                                 \
                GT__SIMD for (int64_t k = 0; k < n; k++) yr[k] = yr[k] / sv - (k == lab ? 1 : 0);  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    /* Item it: outer index it / nt, columns [j0, j0 + w) with the axis at stride inner. */        \
    static void cols_##SUF(const sm_ctx *c, int64_t it) {                                          \
        const int64_t n = c->n, in = c->inner, nt = (in + TW - 1) / TW, n4 = n - n % 4;            \
        const int64_t o = it / nt, j0 = (it % nt) * TW, base = o * n * in + j0;                    \
        const int w = in - j0 < TW ? (int)(in - j0) : TW;                                          \
        const T *x = (const T *)c->x + base, *a = (const T *)c->aux + base;                        \
        T *y = (T *)c->y + base;                                                                   \
        double p[4][TW];                                                                           \
        T m[TW], sv[TW], f[TW];                                                                    \
        for (int j = 0; j < w; j++) p[0][j] = p[1][j] = p[2][j] = p[3][j] = 0;                     \
        if (c->mode == M_SCALE) { /* y = g[o, j] * backprop: g is per row, x indexes it */         \
            const T *g = (const T *)c->x + o * in + j0;                                            \
            for (int64_t k = 0; k < n; k++)                                                        \
                GT__SIMD for (int j = 0; j < w; j++) y[k * in + j] = g[j] * a[k * in + j];         \
            return;                                                                                \
        }                                                                                          \
        if (c->mode == M_GRAD || c->mode == M_LOG_GRAD) { /* x = dy, a = y */                      \
            const bool lg = c->mode == M_LOG_GRAD;                                                 \
            for (int64_t k = 0; k < n; k++)                                                        \
                GT__SIMD for (int j = 0; j < w; j++)                                               \
                    p[PART(k, n4)][j] += lg ? x[k * in + j] : x[k * in + j] * a[k * in + j];       \
            for (int j = 0; j < w; j++) sv[j] = (T)((p[0][j] + p[1][j]) + (p[2][j] + p[3][j]));    \
            for (int64_t k = 0; k < n; k++)                                                        \
                GT__SIMD for (int j = 0; j < w; j++) {                                             \
                    const int64_t i = k * in + j;                                                  \
                    y[i] = lg ? x[i] - sv[j] * EXP(a[i]) : (x[i] - sv[j]) * a[i];                  \
                }                                                                                  \
            return;                                                                                \
        }                                                                                          \
        for (int j = 0; j < w; j++) m[j] = -(T)INFINITY;                                           \
        for (int64_t k = 0; k < n; k++)                                                            \
            for (int j = 0; j < w; j++) m[j] = x[k * in + j] > m[j] ? x[k * in + j] : m[j];        \
        for (int64_t k = 0; k < n; k++)                                                            \
            GT__SIMD for (int j = 0; j < w; j++) {                                                 \
                const T e = EXP(x[k * in + j] - m[j]);                                             \
                y[k * in + j] = e;                                                                 \
                p[PART(k, n4)][j] += e;                                                            \
            }                                                                                      \
        for (int j = 0; j < w; j++) {                                                              \
            sv[j] = (T)((p[0][j] + p[1][j]) + (p[2][j] + p[3][j]));                                \
            f[j] = c->mode == M_SOFTMAX ? 1 / sv[j] : log(sv[j]);                                  \
        }                                                                                          \
        if (c->mode == M_SOFTMAX) {                                                                \
            for (int64_t k = 0; k < n; k++)                                                        \
                GT__SIMD for (int j = 0; j < w; j++) y[k * in + j] *= f[j];                        \
        } else if (c->mode == M_LOG_SOFTMAX) {                                                     \
            for (int64_t k = 0; k < n; k++)                                                        \
                GT__SIMD for (int j = 0; j < w; j++) {                                             \
                    const int64_t i = k * in + j;                                                  \
                    y[i] = (x[i] - m[j]) - f[j];                                                   \
                }                                                                                  \
        } else { /* M_XENT: a = labels */                                                          \
            double l[TW];                                                                          \
            for (int j = 0; j < w; j++) l[j] = 0;                                                  \
            for (int64_t k = 0; k < n; k++)                                                        \
                for (int j = 0; j < w; j++) {                                                      \
                    const int64_t i = k * in + j;                                                  \
                    l[j] += a[i] * (f[j] - (x[i] - m[j]));                                         \
                    y[i] = y[i] / sv[j] - a[i];                                                    \
                }                                                                                  \
            T *loss = (T *)c->loss + o * in + j0;                                                  \
            for (int j = 0; j < w; j++) loss[j] = (T)l[j];                                         \
        }                                                                                          \
    }

DEFINE_SOFTMAX(f32, float, gt__expf)
DEFINE_SOFTMAX(f64, double, exp)

/* Runs mode over [outer, n, inner]: blocks of rows on the last axis for the modes that have
 * a row form, column tiles otherwise. */
static void run(sm_ctx *c, gt_dtype dt) {
    bool f32 = dt == GT_F32;
    if (c->inner == 1 && c->mode <= M_SPARSE) {
        run_items(f32 ? rows_f32 : rows_f64, c, (c->outer + RB - 1) / RB);
        return;
    }
    int64_t nt = (c->inner + TW - 1) / TW;
    run_items(f32 ? cols_f32 : cols_f64, c, c->outer * nt);
}

void gt__softmax(gt_dtype dt, const void *x, void *y, int64_t outer, int64_t n, int64_t inner,
                 bool log) {
    if (n == 0) return;
    sm_ctx c = {.mode = log ? M_LOG_SOFTMAX : M_SOFTMAX, .x = x, .aux = x, .y = y,
                .outer = outer, .n = n, .inner = inner};
    run(&c, dt);
}

void gt__softmax_grad(gt_dtype dt, const void *g, const void *y, void *out, int64_t outer,
                      int64_t n, int64_t inner, bool log) {
    if (n == 0) return;
    sm_ctx c = {.mode = log ? M_LOG_GRAD : M_GRAD, .x = g, .aux = y, .y = out, .outer = outer,
                .n = n, .inner = inner};
    run(&c, dt);
}

void gt__softmax_xent(gt_dtype dt, const void *labels, const void *logits, void *loss,
                      void *backprop, int64_t outer, int64_t n, int64_t inner) {
    if (n == 0) { /* no classes: every loss is an empty sum */
        for (int64_t i = 0; i < outer * inner; i++) {
            if (dt == GT_F32) ((float *)loss)[i] = 0;
            else ((double *)loss)[i] = 0;
        }
        return;
    }
    sm_ctx c = {.mode = M_XENT, .x = logits, .aux = labels, .y = backprop, .loss = loss,
                .outer = outer, .n = n, .inner = inner};
    run(&c, dt);
}

void gt__sparse_xent(gt_dtype dt, gt_dtype label_dt, const void *labels, const void *logits,
                     void *loss, void *backprop, int64_t rows, int64_t c) {
    if (c == 0) return; /* then rows == 0: any label would have been out of range */
    sm_ctx k = {.mode = M_SPARSE, .x = logits, .aux = labels, .y = backprop, .loss = loss,
                .outer = rows, .n = c, .inner = 1, .ldt = label_dt};
    run(&k, dt);
}

void gt__scale_rows(gt_dtype dt, const void *g, const void *b, void *out, int64_t outer,
                    int64_t n, int64_t inner) {
    if (n == 0) return;
    sm_ctx c = {.mode = M_SCALE, .x = g, .aux = b, .y = out, .outer = outer, .n = n,
                .inner = inner};
    run(&c, dt);
}

int64_t gt__bad_label(gt_dtype label_dt, const void *labels, int64_t rows, int64_t c) {
    for (int64_t r = 0; r < rows; r++) {
        int64_t v = label_at(label_dt, labels, r);
        if (v < 0 || v >= c) return r;
    }
    return -1;
}
