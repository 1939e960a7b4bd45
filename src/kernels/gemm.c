/* GEMM dispatch, portable packed-panel driver, BLAS path and f64 GEMM.
 *
 * Design (f32, large products): the classic Goto/BLIS loop nest
 *   jc (NC cols of C) -> pc (KC of k) -> pack B -> ic (MC rows) -> pack A
 *     -> jr (NR) -> ir (MR) -> microkernel
 * with op(A) packed into MR-row panels (for each p: MR consecutive values)
 * and op(B) into NR-column panels (for each p: NR consecutive values), both
 * zero-padded, so one register-blocked microkernel serves all four transpose
 * combinations; transposition is absorbed entirely by the packers.  Kernels
 * that can read op(A) in place skip packing it where that is cheaper.
 *
 * Determinism: threads own disjoint rectangles of C (never a slice of K) and
 * the K blocking depends only on k, so each C element is accumulated in the
 * same order with the same instructions whatever the thread count.  Edge
 * tiles run a kernel with the per-element arithmetic of the full one (an
 * edge kernel, or the full kernel on a scratch tile), so an element's
 * arithmetic does not depend on where a thread boundary falls either. */
#include "kernels/gemm.h"

#include "core/internal.h" /* gt__par_active */

#include "kernels/cpu.h"

#include <limits.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define GT_GEMM_PTHREAD_KEY 1
#else
#define GT_GEMM_PTHREAD_KEY 0
#endif
#ifdef GT_HAVE_CBLAS
#include <cblas.h>
#endif

/* Below this many multiply-adds the packing and blocking machinery costs more
 * than it saves: use a plain loop (no malloc, no threads). */
#define GT_GEMM_SMALL_MACS 32768
/* Below this many multiply-adds a second thread does not pay for the fork and
 * the duplicated packing (measured with bench/sgemm.c). */
#ifndef GT_GEMM_PAR_MACS
#define GT_GEMM_PAR_MACS (1 << 18)
#endif
/* Work handed to each thread must be at least this many multiply-adds. */
#ifndef GT_GEMM_MACS_PER_THREAD
#define GT_GEMM_MACS_PER_THREAD (1 << 17)
#endif

/* ------------------------------------------------------------------------ */
/* Thread-local packing buffer                                               */
/* ------------------------------------------------------------------------ */

/* One scratch area per thread and slot (0: f32 packing, 1: f64 packing),
 * grown geometrically and never shrunk: after the first few calls the steady
 * state performs no allocation at all. */
typedef struct {
    void *p[2];
    size_t cap[2]; /* bytes */
} scratch_tls;

static _Thread_local scratch_tls tl_scratch;

#if GT_GEMM_PTHREAD_KEY
/* Threads that exit (a user's threads that ran ops) free their buffers through
 * a pthread key destructor, so threads coming and going cannot leak. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok; /* written once under pthread_once */

/* Key destructor: runs in the exiting thread while its TLS is still live. */
static void scratch_free(void *v) {
    scratch_tls *t = v;
    for (int i = 0; i < 2; i++) {
        free(t->p[i]);
        t->p[i] = NULL;
        t->cap[i] = 0;
    }
}

/* pthread_once callback creating the key. */
static void scratch_key_init(void) {
    scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}
#endif

/* Return a 64-byte aligned scratch area of at least bytes, or NULL. */
static void *scratch(int slot, size_t bytes) {
    scratch_tls *t = &tl_scratch;
    if (bytes <= t->cap[slot]) return t->p[slot];
    size_t cap = t->cap[slot] ? t->cap[slot] : 16384;
    while (cap < bytes) cap *= 2;
    void *p = aligned_alloc(64, cap); /* cap is a power-of-two multiple of 64 */
    if (!p) return NULL;
#if GT_GEMM_PTHREAD_KEY
    if (!t->p[0] && !t->p[1]) {
        pthread_once(&scratch_once, scratch_key_init);
        if (scratch_key_ok) pthread_setspecific(scratch_key, t);
    }
#endif
    free(t->p[slot]);
    t->p[slot] = p;
    t->cap[slot] = cap;
    return p;
}

/* f32 packing buffer of at least n floats. */
static float *pack_buffer(size_t n) { return scratch(0, n * sizeof(float)); }

/* ------------------------------------------------------------------------ */
/* Portable microkernel and packer                                           */
/* ------------------------------------------------------------------------ */

#define PMR 4
#define PNR 8

/* Generic packer (layout in gemm.h) for any panel width; the portable kernel
 * uses it directly, SIMD kernels may supply faster ones. */
static void pack_panel(int w, int64_t kc, int64_t rows, const float *src, int64_t ld,
                       bool rcontig, float *dst) {
    if (rcontig) {
        for (int64_t p = 0; p < kc; p++) {
            const float *s = src + p * ld;
            float *d = dst + p * w;
            int64_t r = 0;
            for (; r < rows; r++) d[r] = s[r];
            for (; r < w; r++) d[r] = 0.0f;
        }
    } else {
        for (int64_t r = 0; r < rows; r++) {
            const float *s = src + r * ld;
            for (int64_t p = 0; p < kc; p++) dst[p * w + r] = s[p];
        }
        for (int64_t r = rows; r < w; r++)
            for (int64_t p = 0; p < kc; p++) dst[p * w + r] = 0.0f;
    }
}

/* Portable 4x8 tile: plain C the compiler can keep in SSE registers on the
 * baseline ISA; always available, and the yardstick for the SIMD paths. */
static void pk_4x8(int64_t kc, const float *pa, const float *pb, float *c, int64_t ldc,
                   float alpha, float beta, int first) {
    float acc[PMR][PNR];
    for (int i = 0; i < PMR; i++)
        for (int j = 0; j < PNR; j++) acc[i][j] = 0.0f;
    for (int64_t p = 0; p < kc; p++) {
        const float *a = pa + p * PMR, *b = pb + p * PNR;
        for (int i = 0; i < PMR; i++)
            for (int j = 0; j < PNR; j++) acc[i][j] += a[i] * b[j];
    }
    for (int i = 0; i < PMR; i++) {
        float *ci = c + i * ldc;
        if (first && beta == 0.0f) {
            for (int j = 0; j < PNR; j++) ci[j] = alpha * acc[i][j];
        } else if (first) {
            for (int j = 0; j < PNR; j++) {
                float t = alpha * acc[i][j];
                float u = beta * ci[j];
                ci[j] = t + u;
            }
        } else {
            for (int j = 0; j < PNR; j++) {
                float t = alpha * acc[i][j];
                ci[j] = t + ci[j];
            }
        }
    }
}

static const gt__sgemm_kernel portable_kernel = {
    PMR, PNR, 256, 128, 2048, pk_4x8, NULL, NULL, NULL, NULL,
};

/* ------------------------------------------------------------------------ */
/* Blocked driver for one rectangle of C, single thread                       */
/* ------------------------------------------------------------------------ */

typedef struct {
    bool ta, tb;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int64_t lda, ldb, ldc;
    int64_t m, n, k;
} sgemm_args;

/* Split len into the fewest chunks of at most blk, each a multiple of unit
 * (except the last), so the tail block is not tiny.  Depends only on its
 * arguments, which keeps the K split identical for every thread count. */
static int64_t balanced_block(int64_t len, int64_t blk, int64_t unit) {
    if (len <= blk) return len;
    int64_t nb = (len + blk - 1) / blk;
    int64_t b = (len + nb - 1) / nb;
    b = (b + unit - 1) / unit * unit;
    return b < blk ? b : blk;
}

/* Naive fallback used when a packing buffer cannot be obtained: slow but it
 * keeps the library correct under memory pressure. */
static void sgemm_naive(const sgemm_args *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    for (int64_t i = i0; i < i1; i++)
        for (int64_t j = j0; j < j1; j++) {
            float s = 0.0f;
            for (int64_t p = 0; p < g->k; p++) {
                float av = g->ta ? g->a[p * g->lda + i] : g->a[i * g->lda + p];
                float bv = g->tb ? g->b[j * g->ldb + p] : g->b[p * g->ldb + j];
                s += av * bv;
            }
            float *cp = &g->c[i * g->ldc + j];
            *cp = g->beta == 0.0f ? g->alpha * s : g->alpha * s + g->beta * *cp;
        }
}

/* Pack a whole cols-wide block of op(A) or op(B) as consecutive w-wide
 * panels (panel q at dst + q*w*kc).  When each step's values are contiguous
 * in memory (A^T, or plain B), every panel reads one short piece of kc
 * different rows; walking all panels a few steps at a time instead consumes
 * each cache line and page fully before moving on (measured ~5x faster
 * packing for A^T with lda = 1024). */
static void pack_block(gt__spack_fn fn, int w, int64_t kc, int64_t cols, const float *src, int64_t ld,
                       bool rcontig, float *dst) {
    enum { PSTEP = 16 };
    const int64_t pstep = rcontig ? PSTEP : kc;
    for (int64_t p0 = 0; p0 < kc; p0 += pstep) {
        const int64_t ks = kc - p0 < pstep ? kc - p0 : pstep;
        for (int64_t q = 0; q < cols; q += w) {
            const int64_t rows = cols - q < w ? cols - q : w;
            const float *s = rcontig ? src + p0 * ld + q : src + q * ld + p0;
            float *d = dst + q * kc + p0 * w;
            if (fn) fn(ks, rows, s, ld, rcontig, d);
            else pack_panel(w, ks, rows, s, ld, rcontig, d);
        }
    }
}

/* Edge tiles run the full-size kernel on a scratch tile (then only the
 * valid part is copied back), so their arithmetic matches interior tiles. */
static void load_edge(float *tile, const float *cp, const sgemm_args *g, int first, int mr, int nr,
                      int64_t rows, int64_t cols) {
    if (first && g->beta == 0.0f) return; /* C is write-only */
    for (int64_t r = 0; r < mr; r++)
        for (int64_t q = 0; q < nr; q++)
            tile[r * nr + q] = (r < rows && q < cols) ? cp[r * g->ldc + q] : 0.0f;
}

/* Compute rows [i0,i1) x cols [j0,j1) of C with kernel kr.  This is the whole
 * single-thread algorithm; threads just call it on disjoint rectangles.
 * direct_a: read op(A) in place instead of packing it (see use_direct_a). */
static void sgemm_rect(const gt__sgemm_kernel *kr, const sgemm_args *g, bool direct_a,
                       int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    const int mr = kr->mr, nr = kr->nr;
    const int64_t m = i1 - i0, n = j1 - j0, k = g->k;
    if (m <= 0 || n <= 0) return;
    const int64_t kcb = balanced_block(k, kr->kc, 1);
    const int64_t mcb = balanced_block(m, kr->mc, mr);
    const int64_t ncb = balanced_block(n, kr->nc, nr);
    const int64_t mcp = (mcb + mr - 1) / mr * mr, ncp = (ncb + nr - 1) / nr * nr;
    const int64_t a_len = direct_a ? 0 : (mcp * kcb + 15) & ~(int64_t)15; /* keeps pb 64B aligned */
    float *buf = pack_buffer((size_t)(a_len + ncp * kcb));
    if (!buf) {
        sgemm_naive(g, i0, i1, j0, j1);
        return;
    }
    float *pa_buf = buf, *pb_buf = buf + a_len;
    _Alignas(64) float tile[16 * 32]; /* >= any MR x NR */
    const gt__spack_fn pack_a = kr->pack_a, pack_b = kr->pack_b;

    for (int64_t jc = 0; jc < n; jc += ncb) {
        const int64_t nc = n - jc < ncb ? n - jc : ncb;
        for (int64_t pc = 0; pc < k; pc += kcb) {
            const int64_t kc = k - pc < kcb ? k - pc : kcb;
            const int first = pc == 0;
            /* op(B)[pc:pc+kc, j0+jc : +nc] -> NR-wide panels */
            pack_block(pack_b, nr, kc, nc, g->tb ? g->b + (j0 + jc) * g->ldb + pc : g->b + pc * g->ldb + j0 + jc,
                       g->ldb, !g->tb, pb_buf);
            for (int64_t ic = 0; ic < m; ic += mcb) {
                const int64_t mc = m - ic < mcb ? m - ic : mcb;
                /* op(A)[i0+ic : +mc, pc:pc+kc] -> MR-tall panels */
                if (!direct_a)
                    pack_block(pack_a, mr, kc, mc, g->ta ? g->a + pc * g->lda + i0 + ic : g->a + (i0 + ic) * g->lda + pc,
                               g->lda, g->ta, pa_buf);
                /* op(A) rows i.. at steps pc..: in place, or the packed panel */
                const int64_t rsa = direct_a ? (g->ta ? 1 : g->lda) : 1, csa = direct_a ? (g->ta ? g->lda : 1) : mr;
                for (int64_t jr = 0; jr < nc; jr += nr) {
                    const int64_t cols = nc - jr < nr ? nc - jr : nr;
                    const float *pb = pb_buf + jr * kc;
                    int64_t ir = 0;
                    if (direct_a && cols == nr && mc >= mr) { /* the full tiles in one call */
                        const int64_t i = i0 + ic;
                        ir = mc / mr * mr;
                        kr->ukernel_ua(mc / mr, kc, g->ta ? g->a + pc * g->lda + i : g->a + i * g->lda + pc, rsa,
                                       csa, pb, g->c + i * g->ldc + (j0 + jc + jr), g->ldc, g->alpha, g->beta, first);
                    }
                    for (; ir < mc; ir += mr) {
                        const int64_t rows = mc - ir < mr ? mc - ir : mr, i = i0 + ic + ir;
                        float *cp = g->c + i * g->ldc + (j0 + jc + jr);
                        const float *ap = pa_buf + ir * kc;
                        if (direct_a) ap = g->ta ? g->a + pc * g->lda + i : g->a + i * g->lda + pc;
                        if (!direct_a && rows == mr && cols == nr) {
                            kr->ukernel(kc, ap, pb, cp, g->ldc, g->alpha, g->beta, first);
                        } else if (kr->edge) {
                            kr->edge((int)rows, (int)cols, kc, ap, rsa, csa, pb, cp, g->ldc, g->alpha, g->beta, first);
                        } else {
                            load_edge(tile, cp, g, first, mr, nr, rows, cols);
                            kr->ukernel(kc, ap, pb, tile, nr, g->alpha, g->beta, first);
                            for (int64_t r = 0; r < rows; r++)
                                memcpy(cp + r * g->ldc, tile + r * nr, (size_t)cols * sizeof(float));
                        }
                    }
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Thread partition                                                           */
/* ------------------------------------------------------------------------ */

/* Thread count worth using for an m*n*k product (1 inside a task of the
 * kernel thread pool, where a nested job would run serially anyway). */
static int useful_threads(int64_t m, int64_t n, int64_t k) {
    const double macs = (double)m * (double)n * (double)k;
    if (macs < GT_GEMM_PAR_MACS || gt__par_active()) return 1;
    int nt = gt__threads();
    const double cap = macs / GT_GEMM_MACS_PER_THREAD;
    if ((double)nt > cap) nt = (int)cap;
    return nt < 1 ? 1 : nt;
}

/* Reading op(A) in place instead of packing it.  Row-major A: a tile's six
 * rows are six sequential streams the hardware prefetcher follows, and the
 * kernel's broadcasts cost the same from them as from a packed panel, so
 * packing is pure overhead (measured, AVX2, 1 thread: never slower, 4-7%
 * faster at m = 128 and n = 288..1600, 5% at 1024^3).  A^T read in place
 * strides by lda per step, so a tile touches kc cache lines of A and loses
 * to packing beyond n = 64 (for narrower C packing costs about as much as
 * the multiply).  Decided from the global shape only. */
static bool use_direct_a(const gt__sgemm_kernel *kr, const sgemm_args *g) {
    return kr->ukernel_ua != NULL && kr->edge != NULL && (!g->ta || g->n <= 64);
}

/* C cut into a tm x tn grid of rectangles, one pool task each.  Boundaries
 * fall on multiples of gm rows and gn columns: the register tile for a
 * kernel without an edge kernel, otherwise any row and any 8-column vector
 * (an edge tile then has the arithmetic of a full one), which splits C
 * evenly.  Per-element arithmetic never depends on the rectangle, so the
 * result is the same for any grid, thread count or claiming order. */
typedef struct rect_job {
    const gt__sgemm_kernel *kr;
    const sgemm_args *g;
    bool direct_a;
    int64_t tm, tn, gm, gn;
} rect_job;

/* Bounds [*lo, *hi) of part t of tparts over len elements in units of u. */
static void part_bounds(int64_t len, int64_t u, int64_t t, int64_t tparts, int64_t *lo, int64_t *hi) {
    const int64_t units = (len + u - 1) / u;
    *lo = units * t / tparts * u;
    *hi = units * (t + 1) / tparts * u;
    if (*hi > len) *hi = len;
}

/* Pool task t: rectangle (t / tn, t % tn) of the grid. */
static void rect_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const rect_job *j = ctx;
    int64_t r0, r1, c0, c1;
    part_bounds(j->g->m, j->gm, t / j->tn, j->tm, &r0, &r1);
    part_bounds(j->g->n, j->gn, t % j->tn, j->tn, &c0, &c1);
    sgemm_rect(j->kr, j->g, j->direct_a, r0, r1, c0, c1);
}

/* Pick the tm x tn grid (tm*tn <= nt) minimising the largest rectangle's
 * compute plus its packing traffic (a packed element costs roughly as much
 * as 8 multiply-adds; op(A) read in place costs no packing, so splitting N
 * is then free of duplicated work while splitting M repacks B).  Fewer
 * rectangles than threads when C is too small to split further. */
static void choose_grid(int nt, rect_job *j) {
    const sgemm_args *g = j->g;
    const int64_t um = (g->m + j->gm - 1) / j->gm, un = (g->n + j->gn - 1) / j->gn;
    double best = -1.0;
    j->tm = j->tn = 1;
    for (int64_t tm = 1; tm <= nt && tm <= um; tm++)
        for (int64_t tn = 1; tm * tn <= nt && tn <= un; tn++) {
            const double rm = (double)((um + tm - 1) / tm * j->gm), rn = (double)((un + tn - 1) / tn * j->gn);
            const double packed = (j->direct_a ? 0.0 : rm) + rn;
            const double cost = (rm * rn + 8.0 * packed) * (double)g->k;
            if (best < 0 || cost < best) { best = cost; j->tm = tm; j->tn = tn; }
        }
}

/* The whole product on up to useful_threads() threads of the pool. */
static void sgemm_packed(const gt__sgemm_kernel *kr, const sgemm_args *g) {
    const int nt = useful_threads(g->m, g->n, g->k);
    rect_job j = {kr, g, use_direct_a(kr, g), 1, 1, kr->edge ? 1 : kr->mr, kr->edge ? 8 : kr->nr};
    if (nt <= 1) {
        sgemm_rect(kr, g, j.direct_a, 0, g->m, 0, g->n);
        return;
    }
    choose_grid(nt, &j);
    gt__par_for(j.tm * j.tn, nt, rect_task, &j);
}

/* ------------------------------------------------------------------------ */
/* Small products, k == 0, alpha == 0                                         */
/* ------------------------------------------------------------------------ */

/* C = beta*C, honouring "beta == 0 means write-only". */
static void sscale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc) {
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f) memset(ci, 0, (size_t)n * sizeof(float));
        else if (beta != 1.0f)
            for (int64_t j = 0; j < n; j++) ci[j] *= beta;
    }
}

static bool avx2_available(void);
static int resolve_backend(void);

/* Small products with a long K: accumulate a row chunk on the stack with the
 * innermost loop unit-stride when B's layout allows it; no allocation, no
 * threads.  Each C element is the sum over p = 0, 1, ... of a*b (a multiply,
 * then an add: no FMA), then alpha*sum (+ beta*c). */
static void sgemm_small_rows(const sgemm_args *g) {
    enum { CH = 64 };
    float acc[CH];
    for (int64_t i = 0; i < g->m; i++) {
        float *ci = g->c + i * g->ldc;
        for (int64_t j0 = 0; j0 < g->n; j0 += CH) {
            const int64_t w = g->n - j0 < CH ? g->n - j0 : CH;
            for (int64_t q = 0; q < w; q++) acc[q] = 0.0f;
            for (int64_t p = 0; p < g->k; p++) {
                const float av = g->ta ? g->a[p * g->lda + i] : g->a[i * g->lda + p];
                if (g->tb) {
                    const float *bp = g->b + j0 * g->ldb + p;
                    for (int64_t q = 0; q < w; q++) acc[q] += av * bp[q * g->ldb];
                } else {
                    const float *bp = g->b + p * g->ldb + j0;
                    for (int64_t q = 0; q < w; q++) acc[q] += av * bp[q];
                }
            }
            float *cq = ci + j0;
            if (g->beta == 0.0f)
                for (int64_t q = 0; q < w; q++) cq[q] = g->alpha * acc[q];
            else
                for (int64_t q = 0; q < w; q++) cq[q] = g->alpha * acc[q] + g->beta * cq[q];
        }
    }
}

/* Small products with K up to SMALL_KMAX, the shapes of a small model's step
 * ([32,10] x [10,5] and its gradients): narrow outputs that the row loop above
 * runs a few lanes wide.  Here B's columns go 8 at a time into a zero-padded
 * panel on the stack (transposing op(B) on the way), and 4 rows of C
 * accumulate in 8-lane vectors, so the add chains of 4 rows overlap.  Every
 * lane computes exactly the row loop's sequence (0, then + a*b for p = 0, 1,
 * ..., a multiply and an add, no contraction in ISO C), so both give the same
 * bits.  Compiled for the baseline ISA and again for AVX2. */
#define SMALL_KMAX 512
typedef float gemm_v8f __attribute__((vector_size(32)));

/* C's row i + r, columns j0 .. j0 + w, from the accumulator acc. */
#define SMALL_ROW_STORE(r, acc) SMALL_STORE(g->c + (i + (r)) * g->ldc + j0, g->alpha * (acc))

/* Baseline: lane by lane. */
#define SMALL_STORE_LANES(cq, o)                                                     \
    do {                                                                         \
        const gemm_v8f o_ = (o);                                                 \
        if (g->beta == 0.0f)                                                     \
            for (int64_t q = 0; q < w; q++) (cq)[q] = o_[q];                     \
        else                                                                     \
            for (int64_t q = 0; q < w; q++) (cq)[q] = o_[q] + g->beta * (cq)[q]; \
    } while (0)

#define DEFINE_SGEMM_SMALL(SUF, ATTR, STORE_PREP)                                           \
    ATTR static void sgemm_small_##SUF(const sgemm_args *g) {                                \
        gemm_v8f panel[SMALL_KMAX];                                                         \
        const int64_t sa_i = g->ta ? 1 : g->lda, sa_p = g->ta ? g->lda : 1; /* a(i, p) */   \
        for (int64_t j0 = 0; j0 < g->n; j0 += 8) {                                          \
            const int64_t w = g->n - j0 < 8 ? g->n - j0 : 8;                                 \
            STORE_PREP                                                                      \
            for (int64_t p = 0; p < g->k; p++)                                              \
                for (int64_t q = 0; q < 8; q++)                                             \
                    panel[p][q] = q >= w  ? 0.0f                                            \
                                  : g->tb ? g->b[(j0 + q) * g->ldb + p]                     \
                                          : g->b[p * g->ldb + j0 + q];                      \
            int64_t i = 0;                                                                  \
            for (; i + 4 <= g->m; i += 4) {                                                 \
                const float *a0 = g->a + i * sa_i;                                          \
                gemm_v8f c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0};                            \
                for (int64_t p = 0; p < g->k; p++) {                                        \
                    const gemm_v8f b = panel[p];                                            \
                    const float *ap = a0 + p * sa_p;                                        \
                    c0 = c0 + ap[0] * b;                                                    \
                    c1 = c1 + ap[sa_i] * b;                                                 \
                    c2 = c2 + ap[2 * sa_i] * b;                                             \
                    c3 = c3 + ap[3 * sa_i] * b;                                             \
                }                                                                           \
                SMALL_ROW_STORE(0, c0);                                                     \
                SMALL_ROW_STORE(1, c1);                                                     \
                SMALL_ROW_STORE(2, c2);                                                     \
                SMALL_ROW_STORE(3, c3);                                                     \
            }                                                                               \
            for (; i < g->m; i++) {                                                         \
                const float *a0 = g->a + i * sa_i;                                          \
                gemm_v8f c0 = {0};                                                          \
                for (int64_t p = 0; p < g->k; p++) c0 = c0 + a0[p * sa_p] * panel[p];       \
                SMALL_ROW_STORE(0, c0);                                                     \
            }                                                                               \
        }                                                                                   \
    }

#define SMALL_STORE SMALL_STORE_LANES
DEFINE_SGEMM_SMALL(base, , )
#undef SMALL_STORE
#if defined(__x86_64__) || defined(__i386__)
/* AVX2: the w lanes in one masked store (a lane-by-lane store of a vector
 * just written to the stack stalls on store forwarding). */
static const int32_t small_lane_mask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
#define SMALL_STORE(cq, o)                                                       \
    do {                                                                         \
        const __m256 o_ = (__m256)(o);                                           \
        if (g->beta == 0.0f)                                                     \
            _mm256_maskstore_ps((cq), mask_, o_);                                \
        else                                                                     \
            _mm256_maskstore_ps((cq), mask_,                                     \
                                _mm256_add_ps(o_, _mm256_mul_ps(beta_,            \
                                    _mm256_maskload_ps((cq), mask_))));          \
    } while (0)
DEFINE_SGEMM_SMALL(avx2, __attribute__((target("avx2,fma"))),
                   const __m256i mask_ = _mm256_loadu_si256(
                       (const __m256i *)(const void *)(small_lane_mask + 8 - w));
                   const __m256 beta_ = _mm256_set1_ps(g->beta);)
#undef SMALL_STORE
#else
#define sgemm_small_avx2 sgemm_small_base
#endif

/* Every variant gives the same bits; forcing the portable backend selects the
 * baseline one, so tests compare the two. */
static void sgemm_small(const sgemm_args *g) {
    if (g->k > SMALL_KMAX)
        sgemm_small_rows(g);
    else if (avx2_available() && resolve_backend() != GT_GEMM_PORTABLE)
        sgemm_small_avx2(g);
    else
        sgemm_small_base(g);
}

/* ------------------------------------------------------------------------ */
/* BLAS path                                                                  */
/* ------------------------------------------------------------------------ */

#ifdef GT_HAVE_CBLAS
/* OpenBLAS is not reproducible across thread counts: its threaded driver
 * blocks K differently from the serial one, and even serial calls on
 * sub-rectangles of C (split at multiples of 96) round differently from one
 * call on the whole of C -- tests/test_gemm.c caught both.  So this path runs
 * OpenBLAS single-threaded on the whole product: exact, but one core only.
 * Note it sets OpenBLAS's process-wide thread count. */
static void sgemm_blas(const sgemm_args *g) {
    if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans, g->tb ? CblasTrans : CblasNoTrans,
                (int)g->m, (int)g->n, (int)g->k, g->alpha, g->a, (int)g->lda, g->b, (int)g->ldb,
                g->beta, g->c, (int)g->ldc);
}
#endif

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                   */
/* ------------------------------------------------------------------------ */

static atomic_int forced_backend;

/* Tests and benchmarks compare backends on identical inputs. */
void gt__gemm_force(int backend) {
    atomic_store_explicit(&forced_backend, backend, memory_order_relaxed);
}

/* AVX2 kernels exist only on x86 and run only where the CPU has them. */
static bool avx2_available(void) {
#if defined(__x86_64__) || defined(__i386__)
    return gt__cpu_has_avx2_fma();
#else
    return false;
#endif
}

/* Resolve the backend for large f32 products; a forced backend that is not
 * available degrades to the automatic choice.  Auto rule: the AVX2 kernel
 * whenever the CPU has AVX2+FMA (on the Zen target it matches serial
 * OpenBLAS 0.3.21 within noise at 1 thread, except n = 10 where OpenBLAS is
 * ~20% faster, and -- since OpenBLAS must run serial to be reproducible --
 * it is ~2x faster at 2 threads); otherwise serial OpenBLAS if compiled in
 * (its SSE kernels beat our portable C); otherwise the portable kernel. */
static int resolve_backend(void) {
    const int f = atomic_load_explicit(&forced_backend, memory_order_relaxed);
    if (f == GT_GEMM_PORTABLE) return GT_GEMM_PORTABLE;
    if (f == GT_GEMM_AVX2 && avx2_available()) return GT_GEMM_AVX2;
#ifdef GT_HAVE_CBLAS
    if (f == GT_GEMM_BLAS) return GT_GEMM_BLAS;
#endif
    if (avx2_available()) return GT_GEMM_AVX2;
#ifdef GT_HAVE_CBLAS
    return GT_GEMM_BLAS;
#else
    return GT_GEMM_PORTABLE;
#endif
}

/* Reported in docs and benchmark output so numbers can be attributed. */
const char *gt__gemm_backend(void) {
    switch (resolve_backend()) {
    case GT_GEMM_AVX2: return "avx2";
    case GT_GEMM_BLAS: return "blas";
    default: return "portable";
    }
}

/* Public entry: handles degenerate cases once, then routes by size/backend. */
void gt__gemm_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb,
                  float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        sscale_c(m, n, beta, c, ldc);
        return;
    }
    const sgemm_args g = {ta, tb, alpha, beta, a, b, c, lda, ldb, ldc, m, n, k};
    if ((double)m * (double)n * (double)k < GT_GEMM_SMALL_MACS) {
        sgemm_small(&g);
        return;
    }
    switch (resolve_backend()) {
#ifdef GT_HAVE_CBLAS
    case GT_GEMM_BLAS:
        if (m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX &&
            ldc <= INT_MAX) {
            sgemm_blas(&g);
            return;
        }
        break;
#endif
    case GT_GEMM_AVX2:
        sgemm_packed(gt__sgemm_avx2_kernel(), &g);
        return;
    default:
        break;
    }
    sgemm_packed(&portable_kernel, &g);
}

/* ------------------------------------------------------------------------ */
/* f64                                                                        */
/* ------------------------------------------------------------------------ */

/* f64 serves gradient checks, where exactness matters more than speed: each
 * DNB-wide column panel of op(B) is packed contiguous, then every row of C
 * is an in-order dot product against it; threads split column panels. */
#define DNB 64

/* f64 packing buffer of at least n doubles. */
static double *dpack_buffer(size_t n) { return scratch(1, n * sizeof(double)); }

/* One column panel [j0, j0+w) of C.  Falls back to unpacked reads of B when
 * no buffer can be had (same arithmetic, only slower). */
static void dgemm_panel(bool ta, bool tb, int64_t m, int64_t j0, int64_t w, int64_t k,
                        double alpha, const double *a, int64_t lda, const double *b,
                        int64_t ldb, double beta, double *c, int64_t ldc) {
    double *bp = dpack_buffer((size_t)(k * DNB));
    double acc[DNB];
    if (bp)
        for (int64_t p = 0; p < k; p++)
            for (int64_t q = 0; q < w; q++) bp[p * DNB + q] = tb ? b[(j0 + q) * ldb + p] : b[p * ldb + j0 + q];
    for (int64_t i = 0; i < m; i++) {
        for (int64_t q = 0; q < w; q++) acc[q] = 0.0;
        for (int64_t p = 0; p < k; p++) {
            const double av = ta ? a[p * lda + i] : a[i * lda + p];
            if (bp) {
                const double *row = bp + p * DNB;
                for (int64_t q = 0; q < w; q++) acc[q] += av * row[q];
            } else {
                for (int64_t q = 0; q < w; q++)
                    acc[q] += av * (tb ? b[(j0 + q) * ldb + p] : b[p * ldb + j0 + q]);
            }
        }
        double *ci = c + i * ldc + j0;
        if (beta == 0.0)
            for (int64_t q = 0; q < w; q++) ci[q] = alpha * acc[q];
        else
            for (int64_t q = 0; q < w; q++) ci[q] = alpha * acc[q] + beta * ci[q];
    }
}

/* One column panel of DNB columns per task. */
typedef struct dgemm_job {
    bool ta, tb;
    int64_t m, n, k;
    double alpha;
    const double *a;
    int64_t lda;
    const double *b;
    int64_t ldb;
    double beta;
    double *c;
    int64_t ldc;
} dgemm_job;

static void dgemm_task(void *ctx, int64_t t, int tid) {
    (void)tid;
    const dgemm_job *j = ctx;
    const int64_t j0 = t * DNB, w = j->n - j0 < DNB ? j->n - j0 : DNB;
    dgemm_panel(j->ta, j->tb, j->m, j0, w, j->k, j->alpha, j->a, j->lda, j->b, j->ldb, j->beta,
                j->c, j->ldc);
}

/* Public f64 entry; column panels are independent so threading is exact. */
void gt__gemm_f64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha,
                  const double *a, int64_t lda, const double *b, int64_t ldb,
                  double beta, double *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
        return;
    }
    const int64_t np = (n + DNB - 1) / DNB;
    dgemm_job j = {ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
    if (np > 1 && (double)m * (double)n * (double)k >= GT_GEMM_PAR_MACS) {
        gt__par_for(np, 0, dgemm_task, &j);
        return;
    }
    for (int64_t t = 0; t < np; t++)
        dgemm_task(&j, t, 0);
}
