/* 2-D max and average pooling (see pool.h for the tie and determinism rules).
 *
 * Windows are clipped to the real cells: for max pooling that is the same as padding with
 * -inf (TensorFlow's "same" windows always hold at least one real cell), for average pooling
 * it is TensorFlow's divisor. Channels are the innermost, contiguous loop. The typed kernels
 * below each do one unit of work (an output row for gathers, an image for scatters); the
 * dispatchers at the end run the units in parallel. */
#include "kernels/pool.h"

#include "core/internal.h"

/* The channel loops have no cross-iteration dependence; OpenMP's simd has GCC vectorise them
 * at -O2 too (its default cost model there gives up on loops of unknown trip count). */
#ifdef GT_HAVE_OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

/* Channels handled per pass when per-channel state (running max, its position) lives on the
 * stack. */
#define POOL_CB 64

/* The clipped window [lo, hi) of output position o along one axis. */
static void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in, int64_t *lo,
                   int64_t *hi) {
    int64_t a = o * stride - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > in ? in : b;
}

/* Row q = n * oh + oh of the output: max / mean over each window. */
#define DEFINE_POOL(T, SUF)                                                                        \
    static void max_fwd_##SUF(const gt__pool_geom *g, const T *x, T *y, int64_t q) {               \
        const int64_t c = g->c, n = q / g->oh, oh = q % g->oh;                                     \
        const T *xn = x + n * g->h * g->w * c;                                                     \
        int64_t h0, h1;                                                                            \
        window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                           \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                   \
            T *yo = y + (q * g->ow + ow) * c;                                                      \
            int64_t w0, w1;                                                                        \
            window(ow, g->sw, g->pl, g->pw, g->w, &w0, &w1);                                       \
            const T *first = xn + (h0 * g->w + w0) * c;                                            \
            SIMD for (int64_t j = 0; j < c; j++) yo[j] = first[j];                                 \
            for (int64_t ih = h0; ih < h1; ih++)                                                   \
                for (int64_t iw = (ih == h0 ? w0 + 1 : w0); iw < w1; iw++) {                       \
                    const T *s = xn + (ih * g->w + iw) * c;                                        \
                    SIMD for (int64_t j = 0; j < c; j++) yo[j] = yo[j] < s[j] ? s[j] : yo[j];      \
                }                                                                                  \
        }                                                                                          \
    }                                                                                              \
    static void avg_fwd_##SUF(const gt__pool_geom *g, const T *x, T *y, int64_t q) {               \
        const int64_t c = g->c, n = q / g->oh, oh = q % g->oh;                                     \
        const T *xn = x + n * g->h * g->w * c;                                                     \
        int64_t h0, h1;                                                                            \
        window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                           \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                   \
            T *yo = y + (q * g->ow + ow) * c;                                                      \
            int64_t w0, w1;                                                                        \
            window(ow, g->sw, g->pl, g->pw, g->w, &w0, &w1);                                       \
            SIMD for (int64_t j = 0; j < c; j++) yo[j] = 0;                                        \
            for (int64_t ih = h0; ih < h1; ih++)                                                   \
                for (int64_t iw = w0; iw < w1; iw++) {                                             \
                    const T *s = xn + (ih * g->w + iw) * c;                                        \
                    SIMD for (int64_t j = 0; j < c; j++) yo[j] += s[j];                            \
                }                                                                                  \
            const T cnt = (T)((h1 - h0) * (w1 - w0));                                              \
            SIMD for (int64_t j = 0; j < c; j++) yo[j] /= cnt;                                     \
        }                                                                                          \
    }                                                                                              \
    /* Image n of dx: each dy spread over its window's real cells. */                              \
    static void avg_bwd_##SUF(const gt__pool_geom *g, const T *dy, T *dx, int64_t n) {             \
        const int64_t c = g->c, img = g->h * g->w * c;                                             \
        T *dxn = dx + n * img;                                                                     \
        memset(dxn, 0, sizeof(T) * (size_t)img);                                                   \
        for (int64_t oh = 0; oh < g->oh; oh++) {                                                   \
            int64_t h0, h1;                                                                        \
            window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                       \
            for (int64_t ow = 0; ow < g->ow; ow++) {                                               \
                int64_t w0, w1;                                                                    \
                window(ow, g->sw, g->pl, g->pw, g->w, &w0, &w1);                                   \
                const T *d = dy + ((n * g->oh + oh) * g->ow + ow) * c;                             \
                /* TensorFlow's AvgPoolGrad multiplies by the reciprocal of the count. */          \
                const T coef = (T)(1.0 / (double)((h1 - h0) * (w1 - w0)));                         \
                for (int64_t ih = h0; ih < h1; ih++)                                               \
                    for (int64_t iw = w0; iw < w1; iw++) {                                         \
                        T *o = dxn + (ih * g->w + iw) * c;                                         \
                        SIMD for (int64_t j = 0; j < c; j++) o[j] += d[j] * coef;                  \
                    }                                                                              \
            }                                                                                      \
        }                                                                                          \
    }

/* The argmax-based kernels, with the cell index type IT (int32_t lets f32 compares and index
 * blends share vector lanes). */
#define DEFINE_ARGMAX(T, SUF, IT)                                                                  \
    /* Cell index (ih * w + iw) of the first maximum of channels [c0, c0 + nb) of a window. */     \
    static void argmax_##SUF(const gt__pool_geom *g, const T *xn, int64_t h0, int64_t h1,          \
                             int64_t w0, int64_t w1, int64_t c0, int64_t nb, IT *idx) {            \
        T best[POOL_CB];                                                                           \
        const int64_t c = g->c;                                                                    \
        const T *first = xn + (h0 * g->w + w0) * c + c0;                                           \
        for (int64_t j = 0; j < nb; j++) {                                                         \
            best[j] = first[j];                                                                    \
            idx[j] = (IT)(h0 * g->w + w0);                                                         \
        }                                                                                          \
        for (int64_t ih = h0; ih < h1; ih++)                                                       \
            for (int64_t iw = (ih == h0 ? w0 + 1 : w0); iw < w1; iw++) {                           \
                const IT cell = (IT)(ih * g->w + iw);                                              \
                const T *s = xn + cell * c + c0;                                                   \
                /* A mask select: GCC does not vectorise `later ? cell : idx[j]`. */               \
                SIMD for (int64_t j = 0; j < nb; j++) {                                            \
                    const T b = best[j], v = s[j];                                                 \
                    const IT m = -(IT)(b < v);                                                     \
                    best[j] = b < v ? v : b;                                                       \
                    idx[j] = (IT)((idx[j] & ~m) | (cell & m));                                     \
                }                                                                                  \
            }                                                                                      \
    }                                                                                              \
    /* Image n of dx: each window's dy added at its first maximum. */                              \
    static void max_bwd_##SUF(const gt__pool_geom *g, const T *x, const T *dy, T *dx, int64_t n) { \
        const int64_t c = g->c, img = g->h * g->w * c;                                             \
        const T *xn = x + n * img;                                                                 \
        T *dxn = dx + n * img;                                                                     \
        IT idx[POOL_CB];                                                                           \
        memset(dxn, 0, sizeof(T) * (size_t)img);                                                   \
        for (int64_t oh = 0; oh < g->oh; oh++) {                                                   \
            int64_t h0, h1;                                                                        \
            window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                       \
            for (int64_t ow = 0; ow < g->ow; ow++) {                                               \
                int64_t w0, w1;                                                                    \
                window(ow, g->sw, g->pl, g->pw, g->w, &w0, &w1);                                   \
                const T *d = dy + ((n * g->oh + oh) * g->ow + ow) * c;                             \
                for (int64_t c0 = 0; c0 < c; c0 += POOL_CB) {                                      \
                    const int64_t nb = c - c0 < POOL_CB ? c - c0 : POOL_CB;                        \
                    argmax_##SUF(g, xn, h0, h1, w0, w1, c0, nb, idx);                              \
                    for (int64_t j = 0; j < nb; j++)                                               \
                        dxn[(int64_t)idx[j] * c + c0 + j] += d[c0 + j];                            \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* Row q of the output: gx read at each window's first maximum. */                             \
    static void max_gather_##SUF(const gt__pool_geom *g, const T *x, const T *gx, T *out,          \
                                 int64_t q) {                                                      \
        const int64_t c = g->c, n = q / g->oh, oh = q % g->oh, img = g->h * g->w * c;              \
        IT idx[POOL_CB];                                                                           \
        int64_t h0, h1;                                                                            \
        window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                           \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                   \
            int64_t w0, w1;                                                                        \
            window(ow, g->sw, g->pl, g->pw, g->w, &w0, &w1);                                       \
            T *o = out + (q * g->ow + ow) * c;                                                     \
            for (int64_t c0 = 0; c0 < c; c0 += POOL_CB) {                                          \
                const int64_t nb = c - c0 < POOL_CB ? c - c0 : POOL_CB;                            \
                argmax_##SUF(g, x + n * img, h0, h1, w0, w1, c0, nb, idx);                         \
                for (int64_t j = 0; j < nb; j++)                                                   \
                    o[c0 + j] = gx[n * img + (int64_t)idx[j] * c + c0 + j];                        \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)
DEFINE_ARGMAX(float, f32, int32_t)
DEFINE_ARGMAX(float, f32w, int64_t) /* images of more than 2^31 cells */
DEFINE_ARGMAX(double, f64, int64_t)

/* Elements touched: threads only pay off above GT__PAR_MIN / 4 of them (a window visit costs
 * a few operations per element). */
#define BIG(elems) ((elems) > GT__PAR_MIN / 4)

/* Every kernel is a no-op on an empty output or input: with no window there is nothing to
 * write, and an empty input image (h or w == 0) has an empty output under both paddings. */

void gt__max_pool_fwd(gt_dtype dt, const gt__pool_geom *g, const void *x, void *y) {
    const int64_t rows = g->n * g->oh;
    if (rows * g->ow * g->c == 0)
        return;
#pragma omp parallel for schedule(static) if (BIG(rows * g->ow * g->c))
    for (int64_t q = 0; q < rows; q++) {
        if (dt == GT_F32)
            max_fwd_f32(g, x, y, q);
        else
            max_fwd_f64(g, x, y, q);
    }
}

void gt__avg_pool_fwd(gt_dtype dt, const gt__pool_geom *g, const void *x, void *y) {
    const int64_t rows = g->n * g->oh;
    if (rows * g->ow * g->c == 0)
        return;
#pragma omp parallel for schedule(static) if (BIG(rows * g->ow * g->c))
    for (int64_t q = 0; q < rows; q++) {
        if (dt == GT_F32)
            avg_fwd_f32(g, x, y, q);
        else
            avg_fwd_f64(g, x, y, q);
    }
}

void gt__max_pool_gather(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *gx,
                         void *out) {
    const int64_t rows = g->n * g->oh;
    const bool wide = g->h * g->w > INT32_MAX;
    if (rows * g->ow * g->c == 0)
        return;
#pragma omp parallel for schedule(static) if (BIG(rows * g->ow * g->c))
    for (int64_t q = 0; q < rows; q++) {
        if (dt == GT_F64)
            max_gather_f64(g, x, gx, out, q);
        else if (wide)
            max_gather_f32w(g, x, gx, out, q);
        else
            max_gather_f32(g, x, gx, out, q);
    }
}

/* The scatters: one image per unit, so no two threads add into the same element. */

void gt__max_pool_bwd(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *dy,
                      void *dx) {
    const int64_t img = g->h * g->w * g->c;
    const bool wide = g->h * g->w > INT32_MAX;
    if (g->n * img == 0)
        return;
#pragma omp parallel for schedule(static) if (BIG(g->n * img))
    for (int64_t n = 0; n < g->n; n++) {
        if (dt == GT_F64)
            max_bwd_f64(g, x, dy, dx, n);
        else if (wide)
            max_bwd_f32w(g, x, dy, dx, n);
        else
            max_bwd_f32(g, x, dy, dx, n);
    }
}

void gt__avg_pool_bwd(gt_dtype dt, const gt__pool_geom *g, const void *dy, void *dx) {
    const int64_t img = g->h * g->w * g->c;
    if (g->n * img == 0)
        return;
#pragma omp parallel for schedule(static) if (BIG(g->n * img))
    for (int64_t n = 0; n < g->n; n++) {
        if (dt == GT_F32)
            avg_bwd_f32(g, dy, dx, n);
        else
            avg_bwd_f64(g, dy, dx, n);
    }
}
