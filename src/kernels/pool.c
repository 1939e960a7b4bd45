/* 2-D max and average pooling (see pool.h for the tie and determinism rules).
 *
 * Windows are clipped to the real cells: for max pooling that is the same as padding with
 * -inf (TensorFlow's "same" windows always hold at least one real cell), for average pooling
 * it is TensorFlow's divisor. Channels are the innermost, contiguous loop. Each kernel below
 * does one unit of work (an output row, or an image for the scatters that add into dx) with
 * one signature; run() at the end runs the units of whichever kernel an op picked. */
#include "kernels/pool.h"

#include "core/internal.h"

/* Channels handled per pass when per-channel state (running max, its position) lives on the
 * stack. */
#define POOL_CB 64

/* Unit u of an op that reads x (the pooled input) and a (its other operand: dy, or gx) and
 * writes y. Kernels ignore the operands their op does not have. */
typedef void (*pool_unit)(const gt__pool_geom *g, const void *x, const void *a, void *y,
                          int64_t u);

/* The clipped window [lo, hi) of output position o along one axis. */
static void window(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t in, int64_t *lo,
                   int64_t *hi) {
    int64_t a = o * stride - pad, b = a + k;
    *lo = a < 0 ? 0 : a;
    *hi = b > in ? in : b;
}

static int64_t in_elems(const gt__pool_geom *g) { return g->n * g->h * g->w * g->c; }
static bool wide(const gt__pool_geom *g) { return g->h * g->w > INT32_MAX; }

/* Output row q = n * oh + oh: its windows' rows [h0, h1) of image n, which it returns. */
static int64_t row_window(const gt__pool_geom *g, int64_t q, int64_t *h0, int64_t *h1) {
    window(q % g->oh, g->sh, g->pt, g->ph, g->h, h0, h1);
    return q / g->oh;
}

/* Output column ow: its windows' columns [w0, w1). */
static void col_window(const gt__pool_geom *g, int64_t ow, int64_t *w0, int64_t *w1) {
    window(ow, g->sw, g->pl, g->pw, g->w, w0, w1);
}

/* Output row q: max / mean over each window. */
#define DEFINE_POOL(T, SUF)                                                                        \
    static void max_fwd_##SUF(const gt__pool_geom *g, const void *xv, const void *av, void *yv,    \
                              int64_t q) {                                                         \
        (void)av;                                                                                  \
        int64_t h0, h1;                                                                            \
        const int64_t c = g->c, n = row_window(g, q, &h0, &h1);                                    \
        const T *xn = (const T *)xv + n * g->h * g->w * c;                                         \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                   \
            T *yo = (T *)yv + (q * g->ow + ow) * c;                                                \
            int64_t w0, w1;                                                                        \
            col_window(g, ow, &w0, &w1);                                                           \
            const T *first = xn + (h0 * g->w + w0) * c;                                            \
            GT__SIMD for (int64_t j = 0; j < c; j++) yo[j] = first[j];                                 \
            for (int64_t ih = h0; ih < h1; ih++)                                                   \
                for (int64_t iw = (ih == h0 ? w0 + 1 : w0); iw < w1; iw++) {                       \
                    const T *s = xn + (ih * g->w + iw) * c;                                        \
                    GT__SIMD for (int64_t j = 0; j < c; j++) yo[j] = yo[j] < s[j] ? s[j] : yo[j];      \
                }                                                                                  \
        }                                                                                          \
    }                                                                                              \
    static void avg_fwd_##SUF(const gt__pool_geom *g, const void *xv, const void *av, void *yv,    \
                              int64_t q) {                                                         \
        (void)av;                                                                                  \
        int64_t h0, h1;                                                                            \
        const int64_t c = g->c, n = row_window(g, q, &h0, &h1);                                    \
        const T *xn = (const T *)xv + n * g->h * g->w * c;                                         \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                   \
            T *yo = (T *)yv + (q * g->ow + ow) * c;                                                \
            int64_t w0, w1;                                                                        \
            col_window(g, ow, &w0, &w1);                                                           \
            GT__SIMD for (int64_t j = 0; j < c; j++) yo[j] = 0;                                        \
            for (int64_t ih = h0; ih < h1; ih++)                                                   \
                for (int64_t iw = w0; iw < w1; iw++) {                                             \
                    const T *s = xn + (ih * g->w + iw) * c;                                        \
                    GT__SIMD for (int64_t j = 0; j < c; j++) yo[j] = s[j] + yo[j];                     \
                }                                                                                  \
            const T cnt = (T)((h1 - h0) * (w1 - w0));                                              \
            GT__SIMD for (int64_t j = 0; j < c; j++) yo[j] /= cnt;                                     \
        }                                                                                          \
    }                                                                                              \
    /* Image n of dx: each dy spread over its window's real cells. */                              \
    static void avg_bwd_##SUF(const gt__pool_geom *g, const void *xv, const void *av, void *yv,    \
                              int64_t n) {                                                         \
        (void)xv;                                                                                  \
        const int64_t c = g->c, img = g->h * g->w * c;                                             \
        T *dxn = (T *)yv + n * img;                                                                \
        memset(dxn, 0, sizeof(T) * (size_t)img);                                                   \
        for (int64_t oh = 0; oh < g->oh; oh++) {                                                   \
            int64_t h0, h1;                                                                        \
            window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                       \
            for (int64_t ow = 0; ow < g->ow; ow++) {                                               \
                int64_t w0, w1;                                                                    \
                col_window(g, ow, &w0, &w1);                                                       \
                const T *d = (const T *)av + ((n * g->oh + oh) * g->ow + ow) * c;                  \
                /* TensorFlow's AvgPoolGrad multiplies by the reciprocal of the count. */          \
                const T coef = (T)(1.0 / (double)((h1 - h0) * (w1 - w0)));                         \
                for (int64_t ih = h0; ih < h1; ih++)                                               \
                    for (int64_t iw = w0; iw < w1; iw++) {                                         \
                        T *o = dxn + (ih * g->w + iw) * c;                                         \
                        GT__SIMD for (int64_t j = 0; j < c; j++) o[j] += d[j] * coef;                  \
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
                GT__SIMD for (int64_t j = 0; j < nb; j++) {                                            \
                    const T b = best[j], v = s[j];                                                 \
                    const IT m = -(IT)(b < v);                                                     \
                    best[j] = b < v ? v : b;                                                       \
                    idx[j] = (IT)((idx[j] & ~m) | (cell & m));                                     \
                }                                                                                  \
            }                                                                                      \
    }                                                                                              \
    /* Image n of dx: each window's dy added at its first maximum. */                              \
    static void max_bwd_##SUF(const gt__pool_geom *g, const void *xv, const void *av, void *yv,    \
                              int64_t n) {                                                         \
        const int64_t c = g->c, img = g->h * g->w * c;                                             \
        const T *xn = (const T *)xv + n * img;                                                     \
        T *dxn = (T *)yv + n * img;                                                                \
        IT idx[POOL_CB];                                                                           \
        memset(dxn, 0, sizeof(T) * (size_t)img);                                                   \
        for (int64_t oh = 0; oh < g->oh; oh++) {                                                   \
            int64_t h0, h1;                                                                        \
            window(oh, g->sh, g->pt, g->ph, g->h, &h0, &h1);                                       \
            for (int64_t ow = 0; ow < g->ow; ow++) {                                               \
                int64_t w0, w1;                                                                    \
                col_window(g, ow, &w0, &w1);                                                       \
                const T *d = (const T *)av + ((n * g->oh + oh) * g->ow + ow) * c;                  \
                for (int64_t c0 = 0; c0 < c; c0 += POOL_CB) {                                      \
                    const int64_t nb = c - c0 < POOL_CB ? c - c0 : POOL_CB;                        \
                    argmax_##SUF(g, xn, h0, h1, w0, w1, c0, nb, idx);                              \
                    for (int64_t j = 0; j < nb; j++)                                               \
                        dxn[(int64_t)idx[j] * c + c0 + j] += d[c0 + j];                            \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* Output row q: gx read at each window's first maximum. */                                    \
    static void max_gather_##SUF(const gt__pool_geom *g, const void *xv, const void *av, void *yv, \
                                 int64_t q) {                                                      \
        int64_t h0, h1;                                                                            \
        const int64_t c = g->c, n = row_window(g, q, &h0, &h1), img = g->h * g->w * c;             \
        const T *xn = (const T *)xv + n * img, *gxn = (const T *)av + n * img;                     \
        IT idx[POOL_CB];                                                                           \
        for (int64_t ow = 0; ow < g->ow; ow++) {                                                   \
            int64_t w0, w1;                                                                        \
            col_window(g, ow, &w0, &w1);                                                           \
            T *o = (T *)yv + (q * g->ow + ow) * c;                                                 \
            for (int64_t c0 = 0; c0 < c; c0 += POOL_CB) {                                          \
                const int64_t nb = c - c0 < POOL_CB ? c - c0 : POOL_CB;                            \
                argmax_##SUF(g, xn, h0, h1, w0, w1, c0, nb, idx);                                  \
                for (int64_t j = 0; j < nb; j++)                                                   \
                    o[c0 + j] = gxn[(int64_t)idx[j] * c + c0 + j];                                 \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_POOL(float, f32)
DEFINE_POOL(double, f64)
DEFINE_ARGMAX(float, f32, int32_t)
DEFINE_ARGMAX(float, f32w, int64_t) /* images of more than 2^31 cells */
DEFINE_ARGMAX(double, f64, int64_t)

/* ---- float32 max pooling with AVX2 ---------------------------------------------------------- */

/* When the channels fill whole 8-lane vectors: each window's running maxima stay in registers,
 * and the gradient writes every cell of dx once, by output row, where the portable scatter
 * zeroes dx and then adds into it. That needs windows that do not overlap (stride >= pool size
 * on both axes): then no cell gets two windows' dy and no sum, hence no order, is involved. */
#if defined(__x86_64__) || defined(__i386__)
#include "kernels/cpu.h"

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
/* Vectors per pass over a window: 4 running maxima, 4 dy vectors and the loads fit the 16 ymm
 * registers. */
#define VG 4
/* A common last-level cache size. Data larger than that come from memory, and an op's output
 * larger than that (with its inputs) is out of the cache again before the next op reads it. */
#define LLC_BYTES ((int64_t)8 << 20)

/* A window as the kernels below walk it: rows x cols cells, w cells to an image row, c floats
 * to a cell; `ahead` floats on, the same cell in the next output row's window, to prefetch
 * (0: none). */
typedef struct vwin {
    int64_t rows, cols, w, c, ahead;
} vwin;

/* The windows of an output row, at rows [h0, h1) of image n (cols is set per window). A thread
 * runs consecutive output rows, whose windows read consecutive input rows. When x comes from
 * memory, the hardware prefetcher does not keep up with the two or more interleaved row streams
 * a window row reads, so each cell asks for its counterpart of the next output row (from the
 * cache the requests only cost time). */
static vwin vwindows(const gt__pool_geom *g, int64_t n, int64_t h0, int64_t h1) {
    const bool prefetch = in_elems(g) * (int64_t)sizeof(float) > LLC_BYTES &&
                          n * g->h + h1 + g->sh <= g->n * g->h;
    return (vwin){h1 - h0, 0, g->w, g->c, prefetch ? g->sh * g->w * g->c : 0};
}

/* m[0, kv) = the max over window v of the kv vectors at x (its first cell, channel j).
 * _mm256_max_ps(s, m) is s > m ? s : m, the portable kernel's m < s ? s : m, and returns the
 * bits of one of its operands. The first cell is taken twice: max(a, a) is a, NaN or not. */
AVX2 static GT__ALWAYS_INLINE void max_vecs(vwin v, const float *x, __m256 *m, int kv) {
    for (int k = 0; k < kv; k++)
        m[k] = _mm256_loadu_ps(x + 8 * k);
    const float *row = x;
    for (int64_t ih = 0; ih < v.rows; ih++, row += v.w * v.c)
        for (const float *s = row; s < row + v.cols * v.c; s += v.c) {
            for (int k = 0; v.ahead && k < kv; k += 2) /* a 64-byte line holds two vectors */
                _mm_prefetch((const char *)(s + v.ahead + 8 * k), _MM_HINT_T0);
            for (int k = 0; k < kv; k++)
                m[k] = _mm256_max_ps(_mm256_loadu_ps(s + 8 * k), m[k]);
        }
}

/* y[0, 8 kv) = that max. */
AVX2 static GT__ALWAYS_INLINE void max_out(vwin v, const float *x, float *y, int kv) {
    __m256 m[VG];
    max_vecs(v, x, m, kv);
    for (int k = 0; k < kv; k++)
        _mm256_storeu_ps(y + 8 * k, m[k]);
}

/* Stores 8 floats of dx, streamed past the caches or plain. */
AVX2 static GT__ALWAYS_INLINE void put(float *p, __m256 v, bool stream) {
    if (stream)
        _mm256_stream_ps(p, v);
    else
        _mm256_storeu_ps(p, v);
}

/* dx over window v (dx and x at its first cell, channel j, as d): d at each channel's first
 * maximum, 0 elsewhere. The first maximum is the first cell holding the max's bits: the running
 * max moves only to a strictly greater value, so no earlier cell can equal the final one, and a
 * NaN max (a NaN first cell, which no later cell replaces) matches itself as bits. The value
 * written is 0 + d, as the adding scatter makes it (a -0 dy becomes +0). */
AVX2 static GT__ALWAYS_INLINE void grad_vecs(vwin v, const float *x, const float *d, float *dx,
                                             int kv, bool stream) {
    __m256 m[VG], rest[VG]; /* rest: the dy no cell has taken yet */
    max_vecs(v, x, m, kv);
    for (int k = 0; k < kv; k++)
        rest[k] = _mm256_add_ps(_mm256_setzero_ps(), _mm256_loadu_ps(d + 8 * k));
    for (int64_t ih = 0; ih < v.rows; ih++)
        for (int64_t iw = 0; iw < v.cols; iw++) {
            const int64_t at = (ih * v.w + iw) * v.c;
            for (int k = 0; k < kv; k++) {
                const __m256i bits = _mm256_castps_si256(_mm256_loadu_ps(x + at + 8 * k));
                const __m256 hit =
                    _mm256_castsi256_ps(_mm256_cmpeq_epi32(bits, _mm256_castps_si256(m[k])));
                put(dx + at + 8 * k, _mm256_and_ps(hit, rest[k]), stream);
                rest[k] = _mm256_andnot_ps(hit, rest[k]);
            }
        }
}

/* Zeroes rows [h0, h1), columns [w0, w1) of the dx image dxn: cells no window covers. */
AVX2 static void zero_cells(const gt__pool_geom *g, float *dxn, int64_t h0, int64_t h1,
                            int64_t w0, int64_t w1, bool stream) {
    for (int64_t ih = h0; ih < h1; ih++) {
        float *o = dxn + (ih * g->w + w0) * g->c;
        for (int64_t j = 0; j < (w1 - w0) * g->c; j += 8)
            put(o + j, _mm256_setzero_ps(), stream);
    }
}

/* Output row q: max over each window. */
AVX2 static void max_fwd_avx2(const gt__pool_geom *g, const void *xv, const void *av, void *yv,
                              int64_t q) {
    (void)av;
    int64_t h0, h1;
    const int64_t c = g->c, n = row_window(g, q, &h0, &h1);
    const float *xr = (const float *)xv + (n * g->h + h0) * g->w * c;
    vwin v = vwindows(g, n, h0, h1);
    for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t w0, w1;
        col_window(g, ow, &w0, &w1);
        v.cols = w1 - w0;
        const float *s = xr + w0 * c;
        float *yo = (float *)yv + (q * g->ow + ow) * c;
        int64_t j = 0;
        for (; j + 8 * VG <= c; j += 8 * VG)
            max_out(v, s + j, yo + j, VG);
        for (; j < c; j += 8)
            max_out(v, s + j, yo + j, 1);
    }
}

/* Output row q of a gradient with non-overlapping windows: the rows of dx its windows cover,
 * and the uncovered rows above them (below them too for the last row), all written once. */
AVX2 static void max_bwd_avx2(const gt__pool_geom *g, const void *xv, const void *av, void *yv,
                              int64_t q) {
    int64_t h0, h1, prev0, above = 0, left = 0;
    const int64_t c = g->c, oh = q % g->oh, n = row_window(g, q, &h0, &h1);
    const int64_t img = g->h * g->w * c;
    /* dx goes straight to memory (streaming stores, no read of each line before writing it)
     * when x, dy and dx exceed the cache: dx would not stay cached for the next op anyway, and
     * skipping the read halves the store's memory traffic. A streaming store needs 32-byte
     * alignment: with c a multiple of 8, every cell has it when dx does. */
    const int64_t bytes = (2 * in_elems(g) + g->n * g->oh * g->ow * c) * (int64_t)sizeof(float);
    const bool stream = bytes > LLC_BYTES && (uintptr_t)yv % sizeof(__m256) == 0;
    const float *xr = (const float *)xv + n * img + h0 * g->w * c;
    float *dxn = (float *)yv + n * img, *dxr = dxn + h0 * g->w * c;
    if (oh > 0)
        window(oh - 1, g->sh, g->pt, g->ph, g->h, &prev0, &above);
    zero_cells(g, dxn, above, h0, 0, g->w, stream);
    if (oh == g->oh - 1)
        zero_cells(g, dxn, h1, g->h, 0, g->w, stream);
    vwin v = vwindows(g, n, h0, h1);
    for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t w0, w1;
        col_window(g, ow, &w0, &w1);
        if (left < w0)
            zero_cells(g, dxn, h0, h1, left, w0, stream);
        left = w1;
        v.cols = w1 - w0;
        const float *d = (const float *)av + (q * g->ow + ow) * c;
        int64_t j = 0;
        for (; j + 8 * VG <= c; j += 8 * VG)
            grad_vecs(v, xr + w0 * c + j, d + j, dxr + w0 * c + j, VG, stream);
        for (; j < c; j += 8)
            grad_vecs(v, xr + w0 * c + j, d + j, dxr + w0 * c + j, 1, stream);
    }
    zero_cells(g, dxn, h0, h1, left, g->w, stream);
    /* Streaming stores are weakly ordered: make them visible before the op returns. */
    if (stream)
        _mm_sfence();
}

static bool avx2_f32(gt_dtype dt, const gt__pool_geom *g) {
    return dt == GT_F32 && g->c % 8 == 0 && gt__cpu_has_avx2_fma();
}
#else
/* Only the portable kernels run here: avx2_f32 says no, so these names are never called. */
static bool avx2_f32(gt_dtype dt, const gt__pool_geom *g) {
    (void)dt;
    (void)g;
    return false;
}
#define max_fwd_avx2 max_fwd_f32
#define max_bwd_avx2 max_bwd_f32
#endif

/* ---- dispatch ------------------------------------------------------------------------------- */

/* Tasks per thread: a few, so that when a thread starts late or is preempted the pool hands
 * its share to the others, and no more, each a contiguous run of units streaming through its
 * own stretch of x (tasks of some 20 output rows, interleaving the threads' streams, made the
 * CNN shapes 20% slower). Tasks are no smaller than GT__PAR_MIN elements, below which threads
 * do not pay off: an op of fewer than twice that runs on the calling thread. */
#define TASKS_PER_THREAD 4

typedef struct unit_job {
    pool_unit f;
    const gt__pool_geom *g;
    const void *x, *a;
    void *y;
    int64_t units, per; /* per: units a task */
} unit_job;

static void unit_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const unit_job *j = ctx;
    const int64_t lo = t * j->per, hi = lo + j->per < j->units ? lo + j->per : j->units;
    for (int64_t u = lo; u < hi; u++)
        j->f(j->g, j->x, j->a, j->y, u);
}

/* Runs units [0, units) of f, each an equal share of x's elements. Every kernel is a no-op on an
 * empty input, and so on an empty output: an input image with h or w == 0 has an empty output
 * under both paddings, and a nonempty one at least one window. */
static void run(pool_unit f, int64_t units, const gt__pool_geom *g, const void *x, const void *a,
                void *y) {
    const int64_t elems = in_elems(g), threads = gt__threads();
    if (elems == 0)
        return;
    int64_t tasks = TASKS_PER_THREAD * threads;
    if (tasks > elems / GT__PAR_MIN)
        tasks = elems / GT__PAR_MIN;
    if (tasks > units)
        tasks = units;
    if (tasks <= 1 || threads == 1) {
        for (int64_t u = 0; u < units; u++)
            f(g, x, a, y, u);
        return;
    }
    const int64_t per = (units + tasks - 1) / tasks;
    unit_job j = {f, g, x, a, y, units, per};
    gt__par_for((units + per - 1) / per, 0, unit_task, &j);
}

void gt__max_pool_fwd(gt_dtype dt, const gt__pool_geom *g, const void *x, void *y) {
    pool_unit f = dt == GT_F64 ? max_fwd_f64 : avx2_f32(dt, g) ? max_fwd_avx2 : max_fwd_f32;
    run(f, g->n * g->oh, g, x, NULL, y);
}

void gt__avg_pool_fwd(gt_dtype dt, const gt__pool_geom *g, const void *x, void *y) {
    run(dt == GT_F64 ? avg_fwd_f64 : avg_fwd_f32, g->n * g->oh, g, x, NULL, y);
}

void gt__max_pool_gather(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *gx,
                         void *out) {
    pool_unit f = dt == GT_F64 ? max_gather_f64 : wide(g) ? max_gather_f32w : max_gather_f32;
    run(f, g->n * g->oh, g, x, gx, out);
}

/* The adding scatters run one image per unit, so no two threads add into the same element;
 * the AVX2 gradient adds nothing and runs by output row. */

void gt__max_pool_bwd(gt_dtype dt, const gt__pool_geom *g, const void *x, const void *dy,
                      void *dx) {
    if (avx2_f32(dt, g) && g->sh >= g->ph && g->sw >= g->pw)
        run(max_bwd_avx2, g->n * g->oh, g, x, dy, dx);
    else
        run(dt == GT_F64 ? max_bwd_f64 : wide(g) ? max_bwd_f32w : max_bwd_f32, g->n, g, x, dy,
            dx);
}

void gt__avg_pool_bwd(gt_dtype dt, const gt__pool_geom *g, const void *dy, void *dx) {
    run(dt == GT_F64 ? avg_bwd_f64 : avg_bwd_f32, g->n, g, NULL, dy, dx);
}
