/* Copy kernels for the shape ops. A copy is described as a strided walk; merging axes that
 * are contiguous on both sides turns slices, concats, pads and tiles into a few long memcpy
 * runs, and a transpose into a tiled 2-D copy. Copies are exact, so splitting them over
 * threads cannot change results; the scatter-add keeps a fixed summation order per element. */
#include "kernels/shape.h"

#include "core/internal.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Elements per parallel block: large enough that a fork pays off, small enough to balance. */
#define BLOCK_ELEMS 16384
/* Tile edge of the 2-D transposing copy: 32x32 elements of 8 bytes = 8 KiB per side fits L1. */
#define TILE 32

typedef struct {
    int rank;
    int64_t dim[GT__COPY_MAX_RANK];
    int64_t ds[GT__COPY_MAX_RANK], ss[GT__COPY_MAX_RANK];
    size_t es;
    char *dst;
    const char *src;
    int outer;    /* leading axes walked one unit at a time */
    int mode;     /* 0 memcpy run, 1 fill run, 2 tiled 2-D, 3 strided 1-D */
    int64_t unit; /* elements per unit */
} copy_plan;

/* Typed element loops (the size is a constant, so memcpy compiles to plain moves and the
 * loops vectorise without breaking the aliasing rules). */
#define UNITS(N)                                                                                   \
    static void fill_##N(char *d, int64_t n, const char *s) {                                      \
        char v[N];                                                                                 \
        memcpy(v, s, N);                                                                           \
        for (int64_t i = 0; i < n; i++)                                                            \
            memcpy(d + i * N, v, N);                                                               \
    }                                                                                              \
    static void strided_##N(char *d, int64_t dsd, const char *s, int64_t sst, int64_t n) {         \
        for (int64_t i = 0; i < n; i++)                                                            \
            memcpy(d + i * dsd * N, s + i * sst * N, N);                                           \
    }                                                                                              \
    static void tiled_##N(char *d, const char *s, int64_t n0, int64_t n1, int64_t d0, int64_t d1,  \
                          int64_t s0, int64_t s1) {                                                \
        for (int64_t i0 = 0; i0 < n0; i0 += TILE) {                                                \
            int64_t i1 = i0 + TILE < n0 ? i0 + TILE : n0;                                          \
            for (int64_t j0 = 0; j0 < n1; j0 += TILE) {                                            \
                int64_t j1 = j0 + TILE < n1 ? j0 + TILE : n1;                                      \
                for (int64_t i = i0; i < i1; i++)                                                  \
                    for (int64_t j = j0; j < j1; j++)                                              \
                        memcpy(d + (i * d0 + j * d1) * N, s + (i * s0 + j * s1) * N, N);           \
            }                                                                                      \
        }                                                                                          \
    }
UNITS(1)
UNITS(2)
UNITS(4)
UNITS(8)

static void fill_run(char *d, int64_t n, const char *s, size_t es) {
    switch (es) {
    case 1:
        fill_1(d, n, s);
        break;
    case 2:
        fill_2(d, n, s);
        break;
    case 4:
        fill_4(d, n, s);
        break;
    default:
        fill_8(d, n, s);
        break;
    }
}

#if defined(__SSE2__)
/* The plain transpose layout, d[i*d0 + j] = s[i + j*s1], in 4x4 (4-byte) or 2x2 (8-byte)
 * register blocks inside cache tiles: three times faster than element moves, since each
 * strided source line is read four (two) elements at a time. Elements move as raw bits
 * (vector moves, or memcpy in the edges), so any 4- or 8-byte dtype is copied exactly. */
static void transpose_4(char *dc, const char *sc, int64_t n0, int64_t n1, int64_t d0, int64_t s1) {
    float *d = (float *)(void *)dc;
    const float *s = (const float *)(const void *)sc;
    for (int64_t i0 = 0; i0 < n0; i0 += TILE) {
        int64_t i1 = i0 + TILE < n0 ? i0 + TILE : n0;
        for (int64_t j0 = 0; j0 < n1; j0 += TILE) {
            int64_t j1 = j0 + TILE < n1 ? j0 + TILE : n1, i = i0;
            for (; i + 4 <= i1; i += 4) {
                int64_t j = j0;
                for (; j + 4 <= j1; j += 4) {
                    __m128 r0 = _mm_loadu_ps(s + j * s1 + i),
                           r1 = _mm_loadu_ps(s + (j + 1) * s1 + i);
                    __m128 r2 = _mm_loadu_ps(s + (j + 2) * s1 + i),
                           r3 = _mm_loadu_ps(s + (j + 3) * s1 + i);
                    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                    _mm_storeu_ps(d + i * d0 + j, r0);
                    _mm_storeu_ps(d + (i + 1) * d0 + j, r1);
                    _mm_storeu_ps(d + (i + 2) * d0 + j, r2);
                    _mm_storeu_ps(d + (i + 3) * d0 + j, r3);
                }
                for (; j < j1; j++)
                    for (int64_t k = i; k < i + 4; k++)
                        memcpy(d + k * d0 + j, s + k + j * s1, 4);
            }
            for (; i < i1; i++)
                for (int64_t j = j0; j < j1; j++)
                    memcpy(d + i * d0 + j, s + i + j * s1, 4);
        }
    }
}

static void transpose_8(char *dc, const char *sc, int64_t n0, int64_t n1, int64_t d0, int64_t s1) {
    double *d = (double *)(void *)dc;
    const double *s = (const double *)(const void *)sc;
    for (int64_t i0 = 0; i0 < n0; i0 += TILE) {
        int64_t i1 = i0 + TILE < n0 ? i0 + TILE : n0;
        for (int64_t j0 = 0; j0 < n1; j0 += TILE) {
            int64_t j1 = j0 + TILE < n1 ? j0 + TILE : n1, i = i0;
            for (; i + 2 <= i1; i += 2) {
                int64_t j = j0;
                for (; j + 2 <= j1; j += 2) {
                    __m128d r0 = _mm_loadu_pd(s + j * s1 + i),
                            r1 = _mm_loadu_pd(s + (j + 1) * s1 + i);
                    _mm_storeu_pd(d + i * d0 + j, _mm_unpacklo_pd(r0, r1));
                    _mm_storeu_pd(d + (i + 1) * d0 + j, _mm_unpackhi_pd(r0, r1));
                }
                for (; j < j1; j++) {
                    memcpy(d + i * d0 + j, s + i + j * s1, 8);
                    memcpy(d + (i + 1) * d0 + j, s + i + 1 + j * s1, 8);
                }
            }
            for (; i < i1; i++)
                for (int64_t j = j0; j < j1; j++)
                    memcpy(d + i * d0 + j, s + i + j * s1, 8);
        }
    }
}
#endif

static void unit_copy(const copy_plan *p, char *d, const char *s) {
    int r = p->rank;
    switch (p->mode) {
    case 0:
        memcpy(d, s, (size_t)p->unit * p->es);
        break;
    case 1:
        fill_run(d, p->unit, s, p->es);
        break;
    case 2: {
        int64_t n0 = p->dim[r - 2], n1 = p->dim[r - 1];
        int64_t d0 = p->ds[r - 2], d1 = p->ds[r - 1], s0 = p->ss[r - 2], s1 = p->ss[r - 1];
#if defined(__SSE2__)
        if (d1 == 1 && s0 == 1 && (p->es == 4 || p->es == 8)) {
            if (p->es == 4)
                transpose_4(d, s, n0, n1, d0, s1);
            else
                transpose_8(d, s, n0, n1, d0, s1);
            break;
        }
#endif
        switch (p->es) {
        case 1:
            tiled_1(d, s, n0, n1, d0, d1, s0, s1);
            break;
        case 2:
            tiled_2(d, s, n0, n1, d0, d1, s0, s1);
            break;
        case 4:
            tiled_4(d, s, n0, n1, d0, d1, s0, s1);
            break;
        default:
            tiled_8(d, s, n0, n1, d0, d1, s0, s1);
            break;
        }
        break;
    }
    default: {
        int64_t n = p->dim[r - 1], dd = p->ds[r - 1], ss = p->ss[r - 1];
        switch (p->es) {
        case 1:
            strided_1(d, dd, s, ss, n);
            break;
        case 2:
            strided_2(d, dd, s, ss, n);
            break;
        case 4:
            strided_4(d, dd, s, ss, n);
            break;
        default:
            strided_8(d, dd, s, ss, n);
            break;
        }
    }
    }
}

/* Units lo..hi-1 of the outer walk, with an odometer after one division-based start. */
static void copy_range(const copy_plan *p, int64_t lo, int64_t hi) {
    int k = p->outer;
    int64_t idx[GT__COPY_MAX_RANK], od = 0, os = 0, rem = lo;
    for (int i = k - 1; i >= 0; i--) {
        idx[i] = rem % p->dim[i];
        rem /= p->dim[i];
        od += idx[i] * p->ds[i];
        os += idx[i] * p->ss[i];
    }
    for (int64_t u = lo; u < hi; u++) {
        unit_copy(p, p->dst + od * (int64_t)p->es, p->src + os * (int64_t)p->es);
        for (int i = k - 1; i >= 0; i--) {
            od += p->ds[i];
            os += p->ss[i];
            if (++idx[i] < p->dim[i])
                break;
            od -= p->ds[i] * p->dim[i];
            os -= p->ss[i] * p->dim[i];
            idx[i] = 0;
        }
    }
}

/* A copy split into blocks of `per` units. */
typedef struct copy_job {
    const copy_plan *p;
    int64_t per, nunits;
} copy_job;

static void copy_task(void *ctx, int64_t b, int tid) {
    (void)tid;
    const copy_job *j = ctx;
    const int64_t lo = b * j->per, hi = lo + j->per < j->nunits ? lo + j->per : j->nunits;
    copy_range(j->p, lo, hi);
}

void gt__k_copy_strided(void *dst, const void *src, size_t esize, int rank, const int64_t *shape,
                        const int64_t *dst_stride, const int64_t *src_stride) {
    copy_plan p = {.es = esize, .dst = dst, .src = src};
    /* Drop size-1 axes, then merge an axis into its outer neighbour where both sides are
     * contiguous across the pair. */
    int r = 0;
    for (int i = 0; i < rank; i++) {
        if (shape[i] == 0)
            return;
        if (shape[i] == 1)
            continue;
        if (r > 0 && p.ds[r - 1] == dst_stride[i] * shape[i] &&
            p.ss[r - 1] == src_stride[i] * shape[i]) {
            p.dim[r - 1] *= shape[i];
            p.ds[r - 1] = dst_stride[i];
            p.ss[r - 1] = src_stride[i];
            continue;
        }
        p.dim[r] = shape[i];
        p.ds[r] = dst_stride[i];
        p.ss[r] = src_stride[i];
        r++;
    }
    if (r == 0) {
        memcpy(dst, src, esize);
        return;
    }
    p.rank = r;
    if (p.ds[r - 1] == 1 && p.ss[r - 1] == 1) {
        p.mode = 0, p.outer = r - 1, p.unit = p.dim[r - 1];
    } else if (p.ds[r - 1] == 1 && p.ss[r - 1] == 0) {
        p.mode = 1, p.outer = r - 1, p.unit = p.dim[r - 1];
    } else if (r >= 2) {
        p.mode = 2, p.outer = r - 2, p.unit = p.dim[r - 1] * p.dim[r - 2];
    } else {
        p.mode = 3, p.outer = 0, p.unit = p.dim[0];
    }
    int64_t nunits = 1;
    for (int i = 0; i < p.outer; i++)
        nunits *= p.dim[i];
    int64_t total = nunits * p.unit;
    if (total <= GT__PAR_MIN || nunits == 1) {
        copy_range(&p, 0, nunits);
        return;
    }
    copy_job j = {&p, BLOCK_ELEMS / p.unit > 0 ? BLOCK_ELEMS / p.unit : 1, nunits};
    gt__par_for((nunits + j.per - 1) / j.per, 0, copy_task, &j);
}

void gt__k_fill(void *dst, size_t esize, int64_t n, const void *value) {
    if (n <= 0)
        return;
    bool zero = true;
    for (size_t i = 0; i < esize; i++)
        zero &= ((const unsigned char *)value)[i] == 0;
    if (zero) {
        memset(dst, 0, (size_t)n * esize);
        return;
    }
    fill_run(dst, n, value, esize);
}

static inline int64_t index_at(const void *idx, bool idx64, int64_t j) {
    return idx64 ? ((const int64_t *)idx)[j] : (int64_t)((const int32_t *)idx)[j];
}

int64_t gt__k_index_check(const void *idx, bool idx64, int64_t n, int64_t limit) {
    for (int64_t j = 0; j < n; j++) {
        int64_t v = index_at(idx, idx64, j);
        if (v < 0 || v >= limit)
            return j;
    }
    return -1;
}

/* Rows of a gather, GATHER_ROWS per task. */
#define GATHER_ROWS 64
typedef struct gather_job {
    char *out;
    const char *params;
    size_t row_bytes;
    int64_t n;
    const void *idx;
    bool idx64;
    int64_t nidx, rows;
} gather_job;

static void gather_rows(const gather_job *g, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
        int64_t a = r / g->nidx, j = r % g->nidx;
        int64_t src_row = a * g->n + index_at(g->idx, g->idx64, j);
        memcpy(g->out + (size_t)r * g->row_bytes, g->params + (size_t)src_row * g->row_bytes,
               g->row_bytes);
    }
}

static void gather_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const gather_job *g = ctx;
    const int64_t r0 = t * GATHER_ROWS;
    gather_rows(g, r0, r0 + GATHER_ROWS < g->rows ? r0 + GATHER_ROWS : g->rows);
}

void gt__k_gather(void *out, const void *params, size_t esize, int64_t outer, int64_t n,
                  int64_t inner, const void *idx, bool idx64, int64_t nidx) {
    int64_t rows = outer * nidx;
    size_t row_bytes = (size_t)inner * esize;
    if (rows == 0 || row_bytes == 0)
        return;
    gather_job g = {out, params, row_bytes, n, idx, idx64, nidx, rows};
    if (rows * inner <= GT__PAR_MIN) {
        gather_rows(&g, 0, rows);
        return;
    }
    gt__par_for((rows + GATHER_ROWS - 1) / GATHER_ROWS, 0, gather_task, &g);
}

/* Columns per scatter-add work item: each item owns a column range of one outer slab, so
 * threads never write the same element and each element sums in increasing j. */
#define SCATTER_COLS 1024

typedef struct scatter_job {
    void *out;
    const void *upd;
    bool is_f64;
    int64_t n, inner, nidx, ncb;
    const void *idx;
    bool idx64;
} scatter_job;

#define SCATTER_ITEM(T)                                                                            \
    do {                                                                                           \
        T *o = j->out;                                                                             \
        const T *u = j->upd;                                                                       \
        for (int64_t k = 0; k < j->nidx; k++) {                                                    \
            T *dr = o + (a * j->n + index_at(j->idx, j->idx64, k)) * j->inner;                     \
            const T *ur = u + (a * j->nidx + k) * j->inner;                                        \
            for (int64_t c = c0; c < c1; c++)                                                      \
                dr[c] += ur[c];                                                                    \
        }                                                                                          \
    } while (0)

static void scatter_task(void *ctx, int64_t it, int tid) {
    (void)tid;
    const scatter_job *j = ctx;
    const int64_t a = it / j->ncb, c0 = it % j->ncb * SCATTER_COLS;
    const int64_t c1 = c0 + SCATTER_COLS < j->inner ? c0 + SCATTER_COLS : j->inner;
    if (j->is_f64)
        SCATTER_ITEM(double);
    else
        SCATTER_ITEM(float);
}

void gt__k_scatter_add(void *out, const void *upd, bool is_f64, int64_t outer, int64_t n,
                       int64_t inner, const void *idx, bool idx64, int64_t nidx) {
    size_t total = (size_t)(outer * n * inner);
    if (total)
        memset(out, 0, total * (is_f64 ? sizeof(double) : sizeof(float)));
    if (outer * nidx * inner == 0)
        return;
    const int64_t ncb = (inner + SCATTER_COLS - 1) / SCATTER_COLS;
    scatter_job j = {out, upd, is_f64, n, inner, nidx, ncb, idx, idx64};
    if (outer * nidx * inner <= GT__PAR_MIN) {
        for (int64_t it = 0; it < outer * ncb; it++)
            scatter_task(&j, it, 0);
        return;
    }
    gt__par_for(outer * ncb, 0, scatter_task, &j);
}
