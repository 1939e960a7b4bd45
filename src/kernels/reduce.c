/* Reduction kernels. Accuracy and determinism come from one rule: the reduction over R values
 * is a pairwise tree that always splits a range of n > leaf values at the largest power of two
 * below n. Because every chunk boundary used for parallel work (a power-of-two multiple of the
 * leaf) is also a split point of that tree, computing chunks on separate threads and combining
 * their partial results with the same split rule gives the very same bits as the sequential
 * recursion, for any thread count. */
#include "kernels/reduce.h"

#include "core/internal.h"

#include <math.h>
#include <stdlib.h>

#define LEAF 512     /* values per leaf of a row tree (sixteen lanes, 32 deep) */
#define CHUNK 8192   /* parallel chunk of one long row: a power-of-two multiple of LEAF */
#define CLEAF 16     /* rows per leaf of a column tree */
#define CCHUNK 1024  /* parallel chunk of rows of a tall column reduction (multiple of CLEAF) */
#define TI 128       /* columns per tile of a column reduction */
#define CDEPTH 24    /* column-tree levels kept on the stack (R up to CLEAF << 24 rows) */

/* The largest power of two strictly below n (n >= 2): the tree's split point. */
static inline int64_t split_pt(int64_t n) {
    uint64_t v = (uint64_t)(n - 1);
#if defined(__GNUC__)
    return (int64_t)1 << (63 - __builtin_clzll(v));
#else
    int b = 63;
    while (!(v >> b)) b--;
    return (int64_t)1 << b;
#endif
}

/* Levels of scratch a column tree over R rows needs. */
static int col_depth(int64_t R) {
    int d = 0;
    while (R > CLEAF) {
        R = split_pt(R);
        d++;
    }
    return d;
}

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Max/min that propagate NaN (TensorFlow's reduce_max/min return NaN when a NaN is present). */
#define CMAX(a, b) ((a) > (b) || (a) != (a) ? (a) : (b))
#define CMIN(a, b) ((a) < (b) || (a) != (a) ? (a) : (b))
#define CADD(a, b) ((a) + (b))
#define CMUL(a, b) ((a) * (b))
#define LPLAIN(v, m) (v)

/* A reduction handed to the thread pool as tasks: for whole rows or tiles, the tensor and its
 * geometry; for the chunks of one long row or tall tile, that row or tile (x, its offsets mo)
 * and the partial results (y). rb: rows per row task. */
typedef struct red_job {
    const void *x, *mo;
    void *y, *big;
    int64_t O, R, I, nti, w, rb;
    bool mx; /* argmax (else argmin) */
} red_job;

/* The tasks through the pool when par, else on the calling thread (below the size threshold
 * handing out tasks costs more than it saves). */
static void run_tasks(bool par, int64_t n, gt__par_fn fn, red_job *j) {
    if (par) {
        gt__par_for(n, 0, fn, j);
        return;
    }
    for (int64_t t = 0; t < n; t++) fn(j, t, 0);
}

/* Rows per row task: about one CHUNK of values. */
static int64_t rows_per_task(int64_t R) { return R >= CHUNK ? 1 : CHUNK / (R > 0 ? R : 1); }

/* Scratch for the parallel splits comes from the stack, or from malloc for very long
 * reductions; a failed malloc only means "no split" (same bits, computed sequentially), so it
 * never reports an error. */

/* Defines the row and column drivers of one (reduction, type). LOAD(v, m) maps an input value
 * before combining; m is a per-output offset that only logsumexp's exp(v - m) uses (the
 * argument text is dropped by every other LOAD, so NULL offsets are never read). */
#define DEF_RED(NAME, T, INIT, COMB, LOAD)                                                       \
    static T NAME##_leaf(const T *x, int64_t n, T m) {                                           \
        (void)m;                                                                                 \
        /* two banks of 8 lanes: each inner loop is fully unrolled and kept in registers */      \
        T a[8], b[8];                                                                            \
        for (int j = 0; j < 8; j++) a[j] = b[j] = INIT;                                          \
        int64_t i = 0;                                                                           \
        for (; i + 16 <= n; i += 16) {                                                           \
            for (int j = 0; j < 8; j++) a[j] = COMB(a[j], LOAD(x[i + j], m));                    \
            for (int j = 0; j < 8; j++) b[j] = COMB(b[j], LOAD(x[i + 8 + j], m));                \
        }                                                                                        \
        for (int j = 0; j < 8; j++) a[j] = COMB(a[j], b[j]);                                     \
        for (int h = 4; h > 0; h /= 2) /* lanes combined pairwise */                             \
            for (int j = 0; j < h; j++) a[j] = COMB(a[j], a[j + h]);                             \
        T s = a[0];                                                                              \
        for (; i < n; i++) s = COMB(s, LOAD(x[i], m));                                           \
        return s;                                                                                \
    }                                                                                            \
    static T NAME##_tree(const T *x, int64_t n, T m) {                                           \
        if (n <= LEAF) return NAME##_leaf(x, n, m);                                              \
        int64_t p = split_pt(n);                                                                 \
        T l = NAME##_tree(x, p, m), r = NAME##_tree(x + p, n - p, m);                            \
        return COMB(l, r);                                                                       \
    }                                                                                            \
    /* The same tree over partial results of whole chunks. */                                    \
    static T NAME##_ptree(const T *p, int64_t n) {                                               \
        if (n == 1) return p[0];                                                                 \
        int64_t s = split_pt(n);                                                                 \
        T l = NAME##_ptree(p, s), r = NAME##_ptree(p + s, n - s);                                \
        return COMB(l, r);                                                                       \
    }                                                                                            \
    /* Chunk c of one long row into partial c. */                                               \
    static void NAME##_chunk_task(void *ctx, int64_t c, int tid) {                               \
        (void)tid;                                                                               \
        const red_job *j = ctx;                                                                  \
        const T *xo = j->x, *m = j->mo;                                                          \
        ((T *)j->y)[c] = NAME##_tree(xo + c * CHUNK, min64(CHUNK, j->R - c * CHUNK), m ? *m : (T)0); \
    }                                                                                            \
    /* Rows [t*rb, t*rb + rb). */                                                                \
    static void NAME##_row_task(void *ctx, int64_t t, int tid) {                                 \
        (void)tid;                                                                               \
        const red_job *j = ctx;                                                                  \
        const T *x = j->x, *mo = j->mo;                                                          \
        T *y = j->y;                                                                             \
        for (int64_t o = t * j->rb; o < min64(j->O, (t + 1) * j->rb); o++)                       \
            y[o] = NAME##_tree(x + o * j->R, j->R, mo ? mo[o] : (T)0);                           \
    }                                                                                            \
    static void NAME##_rows(const T *x, T *y, int64_t O, int64_t R, const T *mo) {               \
        int64_t nch = (R + CHUNK - 1) / CHUNK;                                                   \
        T pstk[512], *part = NULL;                                                               \
        if (O < gt__threads() && R >= 16 * CHUNK)                                                \
            part = nch <= 512 ? pstk : malloc(sizeof(T) * (size_t)nch);                          \
        if (part) { /* few long rows: split each row into chunks */                              \
            for (int64_t o = 0; o < O; o++) {                                                    \
                red_job j = {.x = x + o * R, .mo = mo ? mo + o : NULL, .y = part, .R = R};       \
                gt__par_for(nch, 0, NAME##_chunk_task, &j);                                      \
                y[o] = NAME##_ptree(part, nch);                                                  \
            }                                                                                    \
            if (part != pstk) free(part);                                                        \
            return;                                                                              \
        }                                                                                        \
        red_job j = {.x = x, .mo = mo, .y = y, .O = O, .R = R, .rb = rows_per_task(R)};          \
        run_tasks(O * R > GT__PAR_MIN, (O + j.rb - 1) / j.rb, NAME##_row_task, &j);              \
    }                                                                                            \
    /* y[i] = COMB(y[i], t[i]) for i < w, in blocks of 8 (y and t never overlap). */             \
    static void NAME##_vcomb(T *y, const T *t, int64_t w) {                                      \
        int64_t i = 0;                                                                           \
        for (; i + 8 <= w; i += 8) {                                                             \
            T a[8];                                                                              \
            for (int j = 0; j < 8; j++) a[j] = COMB(y[i + j], t[i + j]);                         \
            for (int j = 0; j < 8; j++) y[i + j] = a[j];                                         \
        }                                                                                        \
        for (; i < w; i++) y[i] = COMB(y[i], t[i]);                                              \
    }                                                                                            \
    /* y[0..w) = reduction of the R rows x[r*ld + i]; tmp holds TI values per tree level. */     \
    static void NAME##_ctree(const T *x, int64_t R, int64_t ld, int64_t w, const T *mc, T *y,    \
                             T *tmp) {                                                           \
        if (R <= CLEAF) { /* blocks of 8 columns held in registers (vectorises at -O2) */       \
            int64_t i = 0;                                                                       \
            for (; i + 16 <= w; i += 16) {                                                       \
                T a[8], b[8];                                                                    \
                for (int j = 0; j < 8; j++) a[j] = b[j] = INIT;                                  \
                for (int64_t r = 0; r < R; r++) {                                                \
                    const T *xr = x + r * ld + i;                                                \
                    for (int j = 0; j < 8; j++) a[j] = COMB(a[j], LOAD(xr[j], mc[i + j]));       \
                    for (int j = 0; j < 8; j++) b[j] = COMB(b[j], LOAD(xr[8 + j], mc[i + 8 + j])); \
                }                                                                                \
                for (int j = 0; j < 8; j++) y[i + j] = a[j], y[i + 8 + j] = b[j];                \
            }                                                                                    \
            for (; i + 8 <= w; i += 8) {                                                         \
                T a[8];                                                                          \
                for (int j = 0; j < 8; j++) a[j] = INIT;                                         \
                for (int64_t r = 0; r < R; r++) {                                                \
                    const T *xr = x + r * ld + i;                                                \
                    for (int j = 0; j < 8; j++) a[j] = COMB(a[j], LOAD(xr[j], mc[i + j]));       \
                }                                                                                \
                for (int j = 0; j < 8; j++) y[i + j] = a[j];                                     \
            }                                                                                    \
            for (; i < w; i++) {                                                                 \
                T a = INIT;                                                                      \
                for (int64_t r = 0; r < R; r++) a = COMB(a, LOAD(x[r * ld + i], mc[i]));         \
                y[i] = a;                                                                        \
            }                                                                                    \
            return;                                                                              \
        }                                                                                        \
        int64_t p = split_pt(R);                                                                 \
        NAME##_ctree(x, p, ld, w, mc, y, tmp);                                                   \
        NAME##_ctree(x + p * ld, R - p, ld, w, mc, tmp, tmp + TI);                               \
        NAME##_vcomb(y, tmp, w);                                                                 \
    }                                                                                            \
    /* Combines n partial rows (stride TI) into p[0..w) with the tree's split rule. */            \
    static void NAME##_cptree(T *p, int64_t n, int64_t w) {                                      \
        if (n == 1) return;                                                                      \
        int64_t s = split_pt(n);                                                                 \
        NAME##_cptree(p, s, w);                                                                  \
        NAME##_cptree(p + s * TI, n - s, w);                                                     \
        NAME##_vcomb(p, p + s * TI, w);                                                          \
    }                                                                                            \
    /* Chunk c of the rows of one tall tile into partial row c (stride TI). */                  \
    static void NAME##_cchunk_task(void *ctx, int64_t c, int tid) {                              \
        (void)tid;                                                                               \
        const red_job *j = ctx;                                                                  \
        T tmp[TI * 8];                                                                           \
        NAME##_ctree((const T *)j->x + c * CCHUNK * j->I, min64(CCHUNK, j->R - c * CCHUNK), j->I, \
                     j->w, j->mo, (T *)j->y + c * TI, tmp);                                      \
    }                                                                                            \
    /* Tile t: TI columns of one outer slab, the whole column tree. */                           \
    static void NAME##_tile_task(void *ctx, int64_t t, int tid) {                                \
        (void)tid;                                                                               \
        const red_job *j = ctx;                                                                  \
        const T *mo = j->mo;                                                                     \
        int64_t o = t / j->nti, i0 = (t % j->nti) * TI, w = min64(TI, j->I - i0);                \
        T stk[TI * CDEPTH];                                                                      \
        NAME##_ctree((const T *)j->x + o * j->R * j->I + i0, j->R, j->I, w,                      \
                     mo ? mo + o * j->I + i0 : NULL, (T *)j->y + o * j->I + i0,                  \
                     j->big ? (T *)j->big : stk);                                                \
    }                                                                                            \
    static void NAME##_cols(const T *x, T *y, int64_t O, int64_t R, int64_t I, const T *mo) {    \
        int64_t nti = (I + TI - 1) / TI, tasks = O * nti;                                        \
        int64_t nch = (R + CCHUNK - 1) / CCHUNK;                                                 \
        T pstk[TI * 16], *part = NULL;                                                           \
        if (tasks < gt__threads() && R >= 16 * CCHUNK)                                           \
            part = nch <= 16 ? pstk : malloc(sizeof(T) * TI * (size_t)nch);                      \
        if (part) { /* few tiles of tall columns: split the rows into chunks */                  \
            for (int64_t t = 0; t < tasks; t++) {                                                \
                int64_t o = t / nti, i0 = (t % nti) * TI, w = min64(TI, I - i0);                 \
                red_job j = {.x = x + o * R * I + i0, .mo = mo ? mo + o * I + i0 : NULL,         \
                             .y = part, .R = R, .I = I, .w = w};                                 \
                gt__par_for(nch, 0, NAME##_cchunk_task, &j);                                     \
                NAME##_cptree(part, nch, w);                                                     \
                memcpy(y + o * I + i0, part, sizeof(T) * (size_t)w);                             \
            }                                                                                    \
            if (part != pstk) free(part);                                                        \
            return;                                                                              \
        }                                                                                        \
        int d = col_depth(R);                                                                    \
        T *big = NULL; /* scratch for trees deeper than the stack's (> 268M rows), one thread */ \
        if (d >= CDEPTH && !(big = malloc(sizeof(T) * TI * (size_t)(d + 1)))) {                  \
            gt__error_oom("a reduction", sizeof(T) * TI * (size_t)(d + 1));                      \
            for (int64_t j = 0; j < O * I; j++) y[j] = INIT;                                     \
            return;                                                                              \
        }                                                                                        \
        red_job j = {.x = x, .mo = mo, .y = y, .big = big, .O = O, .R = R, .I = I, .nti = nti}; \
        run_tasks(!big && O * R * I > GT__PAR_MIN, tasks, NAME##_tile_task, &j);                 \
        free(big);                                                                               \
    }                                                                                            \
    static void NAME##_run(const T *x, T *y, int64_t O, int64_t R, int64_t I, const T *m) {      \
        if (R == 0) {                                                                            \
            for (int64_t j = 0; j < O * I; j++) y[j] = INIT;                                     \
        } else if (I == 1) {                                                                     \
            NAME##_rows(x, y, O, R, m);                                                          \
        } else {                                                                                 \
            NAME##_cols(x, y, O, R, I, m);                                                       \
        }                                                                                        \
    }

#define LEXPF(v, m) expf((v) - (m))
#define LEXP(v, m) exp((v) - (m))

DEF_RED(sum_f32, float, 0.0f, CADD, LPLAIN)
DEF_RED(sum_f64, double, 0.0, CADD, LPLAIN)
DEF_RED(prod_f32, float, 1.0f, CMUL, LPLAIN)
DEF_RED(prod_f64, double, 1.0, CMUL, LPLAIN)
DEF_RED(max_f32, float, -INFINITY, CMAX, LPLAIN)
DEF_RED(max_f64, double, -INFINITY, CMAX, LPLAIN)
DEF_RED(min_f32, float, INFINITY, CMIN, LPLAIN)
DEF_RED(min_f64, double, INFINITY, CMIN, LPLAIN)
DEF_RED(sexp_f32, float, 0.0f, CADD, LEXPF)
DEF_RED(sexp_f64, double, 0.0, CADD, LEXP)
/* Integer sums and products in unsigned arithmetic: two's-complement wrap-around without
 * signed-overflow undefined behaviour. */
DEF_RED(sum_u32, uint32_t, 0u, CADD, LPLAIN)
DEF_RED(sum_u64, uint64_t, 0u, CADD, LPLAIN)
DEF_RED(prod_u32, uint32_t, 1u, CMUL, LPLAIN)
DEF_RED(prod_u64, uint64_t, 1u, CMUL, LPLAIN)
DEF_RED(max_i32, int32_t, INT32_MIN, CMAX, LPLAIN)
DEF_RED(max_i64, int64_t, INT64_MIN, CMAX, LPLAIN)
DEF_RED(min_i32, int32_t, INT32_MAX, CMIN, LPLAIN)
DEF_RED(min_i64, int64_t, INT64_MAX, CMIN, LPLAIN)

/* logsumexp as TensorFlow composes it: m = max (replaced by 0 when not finite, so all -inf
 * gives log(0) = -inf and +inf gives +inf), then log(sum(exp(x - m))) + m. */
#define DEF_LSE(S, T, ISFIN, LOG)                                                                \
    static void lse_##S(const T *x, T *y, int64_t O, int64_t R, int64_t I) {                     \
        int64_t n = O * I;                                                                       \
        gt__storage *st = gt__storage_new(sizeof(T) * (size_t)n);                                \
        if (!st) {                                                                               \
            for (int64_t j = 0; j < n; j++) y[j] = (T)NAN;                                       \
            return;                                                                              \
        }                                                                                        \
        T *m = st->data;                                                                         \
        max_##S##_run(x, m, O, R, I, NULL);                                                      \
        for (int64_t j = 0; j < n; j++)                                                          \
            if (!ISFIN(m[j])) m[j] = 0;                                                          \
        sexp_##S##_run(x, y, O, R, I, m);                                                        \
        for (int64_t j = 0; j < n; j++) y[j] = LOG(y[j]) + m[j];                                 \
        gt__storage_release(st);                                                                 \
    }
DEF_LSE(f32, float, isfinite, logf)
DEF_LSE(f64, double, isfinite, log)

bool gt__reduce_supported(gt__red_kind kind, gt_dtype dtype) {
    if (dtype == GT_F32 || dtype == GT_F64) return true;
    if (dtype == GT_I32 || dtype == GT_I64) return kind != GT__RED_LSE;
    return false;
}

void gt__reduce(gt__red_kind kind, gt_dtype dt, const void *x, void *y, int64_t O, int64_t R,
                int64_t I) {
    if (O <= 0 || I <= 0) return;
#define CASE(K, D, NAME, T)                                                                      \
    if (kind == K && dt == D) {                                                                  \
        NAME##_run((const T *)x, (T *)y, O, R, I, NULL);                                         \
        return;                                                                                  \
    }
    CASE(GT__RED_SUM, GT_F32, sum_f32, float)
    CASE(GT__RED_SUM, GT_F64, sum_f64, double)
    CASE(GT__RED_SUM, GT_I32, sum_u32, uint32_t)
    CASE(GT__RED_SUM, GT_I64, sum_u64, uint64_t)
    CASE(GT__RED_PROD, GT_F32, prod_f32, float)
    CASE(GT__RED_PROD, GT_F64, prod_f64, double)
    CASE(GT__RED_PROD, GT_I32, prod_u32, uint32_t)
    CASE(GT__RED_PROD, GT_I64, prod_u64, uint64_t)
    CASE(GT__RED_MAX, GT_F32, max_f32, float)
    CASE(GT__RED_MAX, GT_F64, max_f64, double)
    CASE(GT__RED_MAX, GT_I32, max_i32, int32_t)
    CASE(GT__RED_MAX, GT_I64, max_i64, int64_t)
    CASE(GT__RED_MIN, GT_F32, min_f32, float)
    CASE(GT__RED_MIN, GT_F64, min_f64, double)
    CASE(GT__RED_MIN, GT_I32, min_i32, int32_t)
    CASE(GT__RED_MIN, GT_I64, min_i64, int64_t)
#undef CASE
    if (kind == GT__RED_LSE && dt == GT_F32) lse_f32(x, y, O, R, I);
    if (kind == GT__RED_LSE && dt == GT_F64) lse_f64(x, y, O, R, I);
}

/* ---- argmax / argmin ------------------------------------------------------------------- */

/* Strictly better only, so ties keep the first index (TensorFlow's rule). */
#define DEF_ARG(NAME, T, IT)                                                                     \
    /* Rows [t*rb, t*rb + rb) of an innermost-axis argmax / argmin. */                           \
    static void NAME##_row_task(void *ctx, int64_t t, int tid) {                                 \
        (void)tid;                                                                               \
        const red_job *j = ctx;                                                                  \
        for (int64_t o = t * j->rb; o < min64(j->O, (t + 1) * j->rb); o++) {                     \
            const T *xo = (const T *)j->x + o * j->R;                                            \
            T b = xo[0];                                                                         \
            int64_t bi = 0;                                                                      \
            for (int64_t r = 1; r < j->R; r++)                                                   \
                if (j->mx ? xo[r] > b : xo[r] < b) b = xo[r], bi = r;                            \
            ((IT *)j->y)[o] = (IT)bi;                                                            \
        }                                                                                        \
    }                                                                                            \
    /* Tile t: TI columns of one outer slab. */                                                  \
    static void NAME##_tile_task(void *ctx, int64_t t, int tid) {                                \
        (void)tid;                                                                               \
        const red_job *j = ctx;                                                                  \
        int64_t o = t / j->nti, i0 = (t % j->nti) * TI, w = min64(TI, j->I - i0);                \
        const T *xo = (const T *)j->x + o * j->R * j->I + i0;                                    \
        T b[TI];                                                                                 \
        IT bi[TI];                                                                               \
        for (int64_t i = 0; i < w; i++) b[i] = xo[i], bi[i] = 0;                                 \
        for (int64_t r = 1; r < j->R; r++) {                                                     \
            const T *xr = xo + r * j->I;                                                         \
            for (int64_t i = 0; i < w; i++)                                                      \
                if (j->mx ? xr[i] > b[i] : xr[i] < b[i]) b[i] = xr[i], bi[i] = (IT)r;            \
        }                                                                                        \
        memcpy((IT *)j->y + o * j->I + i0, bi, sizeof(IT) * (size_t)w);                          \
    }                                                                                            \
    static void NAME(bool mx, const T *x, IT *y, int64_t O, int64_t R, int64_t I) {              \
        red_job j = {.x = x, .y = y, .O = O, .R = R, .I = I, .mx = mx};                          \
        if (I == 1) {                                                                            \
            j.rb = rows_per_task(R);                                                             \
            run_tasks(O * R > GT__PAR_MIN, (O + j.rb - 1) / j.rb, NAME##_row_task, &j);          \
            return;                                                                              \
        }                                                                                        \
        j.nti = (I + TI - 1) / TI;                                                               \
        run_tasks(O * R * I > GT__PAR_MIN, O * j.nti, NAME##_tile_task, &j);                     \
    }

DEF_ARG(arg_f32_i32, float, int32_t)
DEF_ARG(arg_f64_i32, double, int32_t)
DEF_ARG(arg_i32_i32, int32_t, int32_t)
DEF_ARG(arg_i64_i32, int64_t, int32_t)
DEF_ARG(arg_f32_i64, float, int64_t)
DEF_ARG(arg_f64_i64, double, int64_t)
DEF_ARG(arg_i32_i64, int32_t, int64_t)
DEF_ARG(arg_i64_i64, int64_t, int64_t)

void gt__argreduce(bool is_max, gt_dtype dt, const void *x, gt_dtype idt, void *y, int64_t O,
                   int64_t R, int64_t I) {
    if (O <= 0 || I <= 0 || R <= 0) return;
#define CASE(D, ID, NAME, T, IT)                                                                 \
    if (dt == D && idt == ID) {                                                                  \
        NAME(is_max, (const T *)x, (IT *)y, O, R, I);                                            \
        return;                                                                                  \
    }
    CASE(GT_F32, GT_I32, arg_f32_i32, float, int32_t)
    CASE(GT_F64, GT_I32, arg_f64_i32, double, int32_t)
    CASE(GT_I32, GT_I32, arg_i32_i32, int32_t, int32_t)
    CASE(GT_I64, GT_I32, arg_i64_i32, int64_t, int32_t)
    CASE(GT_F32, GT_I64, arg_f32_i64, float, int64_t)
    CASE(GT_F64, GT_I64, arg_f64_i64, double, int64_t)
    CASE(GT_I32, GT_I64, arg_i32_i64, int32_t, int64_t)
    CASE(GT_I64, GT_I64, arg_i64_i64, int64_t, int64_t)
#undef CASE
}
