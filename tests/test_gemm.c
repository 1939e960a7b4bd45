/* Tests for the GEMM kernels: every compiled backend against an
 * extended-precision naive reference, plus thread-count determinism.
 * Prints one line per failure and ends with "N passed, N failed". */
#include "kernels/gemm.h"

#include <gradtape.h>

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int n_pass, n_fail;

/* One line per failure so a CI log shows exactly which case broke. */
static void report(int ok, const char *fmt, ...) {
    if (ok) {
        n_pass++;
        return;
    }
    n_fail++;
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* Deterministic inputs in [-1, 1) without depending on libc rand(). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static const char *backend_names[4] = {"auto", "portable", "avx2", "blas"};
static int backends[3], n_backends;

/* A backend counts as available when forcing it is honoured. */
static void detect_backends(void) {
    for (int b = 1; b <= 3; b++) {
        gt__gemm_force(b);
        if (strcmp(gt__gemm_backend(), backend_names[b]) == 0) backends[n_backends++] = b;
    }
    gt__gemm_force(0);
}

/* Shape/layout of one test case. */
typedef struct {
    int64_t m, n, k;
    int ta, tb;
    int64_t pad; /* extra elements per row in lda/ldb/ldc */
    double alpha, beta;
} tcase;

#define CANARY 12345.0f

/* Run one f32 case on every backend against a long double reference.
 *
 * Tolerance: C is formed by recursive (blocked) summation of k products and
 * a few final operations (alpha scale, beta*C add).  The classical bound for
 * recursive summation of products in precision u = FLT_EPSILON/2 is
 * |c - ref| <= gamma_{k+3} * (|alpha| sum_p |a_ip||b_pj| + |beta c_ij|),
 * gamma_n = n u / (1 - n u).  We allow 2*(k+3)*FLT_EPSILON = 4(k+3)u times
 * that magnitude, comfortably above gamma, plus a tiny absolute term for
 * exact-zero cases.  A wrong index or a dropped k step exceeds it by orders
 * of magnitude because inputs are O(1). */
static void run_case_f32(const tcase *t) {
    const int64_t m = t->m, n = t->n, k = t->k;
    const int64_t ar = t->ta ? k : m, ac = t->ta ? m : k; /* stored shape of A */
    const int64_t br = t->tb ? n : k, bc = t->tb ? k : n;
    const int64_t lda = ac + t->pad, ldb = bc + t->pad, ldc = n + t->pad;
    const size_t asz = (size_t)(ar * lda) + 1, bsz = (size_t)(br * ldb) + 1, csz = (size_t)(m * ldc) + 1;
    float *a = malloc(asz * sizeof(float)), *b = malloc(bsz * sizeof(float));
    float *c0 = malloc(csz * sizeof(float)), *c = malloc(csz * sizeof(float));
    long double *ref = malloc((size_t)(m * n + 1) * sizeof(long double));
    long double *mag = malloc((size_t)(m * n + 1) * sizeof(long double));
    for (size_t i = 0; i < asz; i++) a[i] = (float)urand();
    for (size_t i = 0; i < bsz; i++) b[i] = (float)urand();
    for (size_t i = 0; i < csz; i++) c0[i] = CANARY;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c0[i * ldc + j] = t->beta == 0.0 ? NAN : (float)urand();

    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            long double s = 0, sa = 0;
            for (int64_t p = 0; p < k; p++) {
                long double av = t->ta ? a[p * lda + i] : a[i * lda + p];
                long double bv = t->tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
                sa += fabsl(av * bv);
            }
            long double cv = t->beta == 0.0 ? 0.0L : (long double)t->beta * c0[i * ldc + j];
            ref[i * n + j] = (long double)t->alpha * s + cv;
            mag[i * n + j] = fabsl((long double)t->alpha) * sa + fabsl(cv);
        }

    float *first = malloc(csz * sizeof(float)); /* the first backend's result */
    const bool small = (double)m * (double)n * (double)k < 32768; /* GT_GEMM_SMALL_MACS */
    for (int bi = 0; bi < n_backends; bi++) {
        gt__gemm_force(backends[bi]);
        memcpy(c, c0, csz * sizeof(float));
        gt__gemm_f32(t->ta, t->tb, m, n, k, (float)t->alpha, a, lda, b, ldb, (float)t->beta, c, ldc);
        int ok = 1;
        int64_t bad_i = -1, bad_j = -1;
        double got = 0, want = 0;
        for (int64_t i = 0; i < m && ok; i++)
            for (int64_t j = 0; j < ldc && ok; j++) {
                const float v = c[i * ldc + j];
                if (j >= n) {
                    if (v != CANARY) { ok = 0; bad_i = i; bad_j = j; got = v; want = CANARY; }
                    continue;
                }
                long double tol = 2.0L * (long double)(k + 3) * FLT_EPSILON * mag[i * n + j] + 1e-30L;
                if (!(fabsl((long double)v - ref[i * n + j]) <= tol)) {
                    ok = 0; bad_i = i; bad_j = j; got = v; want = (double)ref[i * n + j];
                }
            }
        if (c[csz - 1] != CANARY) { ok = 0; bad_i = m; bad_j = 0; got = c[csz - 1]; want = CANARY; }
        /* Small products run one fixed sequence of multiplies and adds per element whatever
         * the backend (the AVX2 and baseline kernels, or the row loop for long K): same bits. */
        if (bi == 0) memcpy(first, c, csz * sizeof(float));
        else if (small && ok && memcmp(first, c, csz * sizeof(float)) != 0) {
            /* reported as C[i,j] = this backend's value, want = the first backend's */
            size_t e = 0;
            while (memcmp(first + e, c + e, sizeof(float)) == 0) e++;
            ok = 0; bad_i = (int64_t)e / ldc; bad_j = (int64_t)e % ldc; got = c[e]; want = first[e];
        }
        report(ok, "f32 %s ta=%d tb=%d m=%lld n=%lld k=%lld pad=%lld alpha=%g beta=%g: C[%lld,%lld]=%.9g want %.9g",
               backend_names[backends[bi]], t->ta, t->tb, (long long)m, (long long)n, (long long)k,
               (long long)t->pad, t->alpha, t->beta, (long long)bad_i, (long long)bad_j, got, want);
    }
    gt__gemm_force(0);
    free(a); free(b); free(c0); free(c); free(ref); free(mag); free(first);
}

/* Same check for f64 (single code path), reference in long double. */
static void run_case_f64(const tcase *t) {
    const int64_t m = t->m, n = t->n, k = t->k;
    const int64_t ar = t->ta ? k : m, ac = t->ta ? m : k;
    const int64_t br = t->tb ? n : k, bc = t->tb ? k : n;
    const int64_t lda = ac + t->pad, ldb = bc + t->pad, ldc = n + t->pad;
    const size_t asz = (size_t)(ar * lda) + 1, bsz = (size_t)(br * ldb) + 1, csz = (size_t)(m * ldc) + 1;
    double *a = malloc(asz * sizeof(double)), *b = malloc(bsz * sizeof(double));
    double *c = malloc(csz * sizeof(double)), *c0 = malloc(csz * sizeof(double));
    for (size_t i = 0; i < asz; i++) a[i] = urand();
    for (size_t i = 0; i < bsz; i++) b[i] = urand();
    for (size_t i = 0; i < csz; i++) c0[i] = CANARY;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) c0[i * ldc + j] = t->beta == 0.0 ? NAN : urand();
    memcpy(c, c0, csz * sizeof(double));
    gt__gemm_f64(t->ta, t->tb, m, n, k, t->alpha, a, lda, b, ldb, t->beta, c, ldc);
    int ok = 1;
    int64_t bi = -1, bj = -1;
    for (int64_t i = 0; i < m && ok; i++)
        for (int64_t j = 0; j < ldc && ok; j++) {
            if (j >= n) {
                if (c[i * ldc + j] != CANARY) { ok = 0; bi = i; bj = j; }
                continue;
            }
            long double s = 0, sa = 0;
            for (int64_t p = 0; p < k; p++) {
                long double av = t->ta ? a[p * lda + i] : a[i * lda + p];
                long double bv = t->tb ? b[j * ldb + p] : b[p * ldb + j];
                s += av * bv;
                sa += fabsl(av * bv);
            }
            long double cv = t->beta == 0.0 ? 0.0L : (long double)t->beta * c0[i * ldc + j];
            long double ref = (long double)t->alpha * s + cv;
            long double tol = 2.0L * (long double)(k + 3) * DBL_EPSILON * (fabsl((long double)t->alpha) * sa + fabsl(cv)) + 1e-300L;
            if (!(fabsl((long double)c[i * ldc + j] - ref) <= tol)) { ok = 0; bi = i; bj = j; }
        }
    if (c[csz - 1] != CANARY) ok = 0;
    report(ok, "f64 ta=%d tb=%d m=%lld n=%lld k=%lld pad=%lld alpha=%g beta=%g: bad C[%lld,%lld]",
           t->ta, t->tb, (long long)m, (long long)n, (long long)k, (long long)t->pad, t->alpha, t->beta,
           (long long)bi, (long long)bj);
    free(a); free(b); free(c); free(c0);
}

/* Every shape gets all four transpose combinations and both alpha/beta
 * pairs; padding alternates so both tight and loose strides are covered. */
static void run_shape(int64_t m, int64_t n, int64_t k, int with_f64) {
    static const double ab[2][2] = {{1.0, 0.0}, {0.5, 2.0}};
    static int flip;
    for (int tr = 0; tr < 4; tr++)
        for (int s = 0; s < 2; s++) {
            tcase t = {m, n, k, tr >> 1, tr & 1, (flip++ % 3 == 0) ? 5 : 0, ab[s][0], ab[s][1]};
            run_case_f32(&t);
            if (with_f64) run_case_f64(&t);
        }
}

/* Bitwise comparison of the same product under different thread counts
 * (the kernel thread pool's count: 3 on a 2-core machine still runs three
 * threads, and gives grids that 2 does not). */
static void check_determinism(int backend, int ta, int tb, int64_t m, int64_t n, int64_t k) {
    const int64_t lda = ta ? m : k, ldb = tb ? k : n;
    float *a = malloc((size_t)(m * k) * sizeof(float)), *b = malloc((size_t)(k * n) * sizeof(float));
    float *c1 = malloc((size_t)(m * n) * sizeof(float)), *c2 = malloc((size_t)(m * n) * sizeof(float));
    for (int64_t i = 0; i < m * k; i++) a[i] = (float)urand();
    for (int64_t i = 0; i < k * n; i++) b[i] = (float)urand();
    const int saved = gt_get_num_threads();
    gt__gemm_force(backend);
    gt_set_num_threads(1);
    gt__gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c1, n);
    static const int counts[2] = {2, 3};
    for (int ci = 0; ci < 2; ci++) {
        gt_set_num_threads(counts[ci]);
        for (int64_t i = 0; i < m * n; i++) c2[i] = NAN;
        gt__gemm_f32(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c2, n);
        int ok = memcmp(c1, c2, (size_t)(m * n) * sizeof(float)) == 0;
        report(ok, "determinism %s ta=%d tb=%d m=%lld n=%lld k=%lld: 1 vs %d threads differ",
               backend_names[backend], ta, tb, (long long)m, (long long)n, (long long)k, counts[ci]);
    }
    gt_set_num_threads(saved);
    gt__gemm_force(0);
    free(a); free(b); free(c1); free(c2);
}

int main(void) {
    detect_backends();
    printf("backends:");
    for (int i = 0; i < n_backends; i++) printf(" %s", backend_names[backends[i]]);
    printf(" (auto = %s)\n", gt__gemm_backend());

    /* All triples over the small sizes: exercises the small-product loop,
     * partial register tiles in every position and multi-block paths. */
    static const int64_t sz[4] = {1, 7, 33, 129};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 4; l++) run_shape(sz[i], sz[j], sz[l], 1);
    /* 1000 in each position (several K blocks, several MC/NC blocks). */
    static const int64_t big[][3] = {
        {1000, 7, 33}, {7, 1000, 33}, {33, 7, 1000}, {1000, 33, 129}, {129, 1000, 7},
        {33, 129, 1000}, {1000, 1, 129}, {1, 1000, 129}, {129, 1, 1000}, {1000, 129, 1000},
    };
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) run_shape(big[i][0], big[i][1], big[i][2], 0);
    /* Small products around the vector kernel's K limit (512) and the 8-column panel, and the
     * shapes of a small model's step (32x10 -> 5 -> 2 and their gradients). */
    static const int64_t small[][3] = {
        {3, 9, 512}, {3, 9, 513}, {1, 7, 4000}, {5, 2, 32}, {10, 5, 32}, {32, 5, 10},
        {32, 2, 5}, {32, 10, 5}, {33, 17, 11}, {4, 8, 100}, {6, 16, 300},
    };
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        run_shape(small[i][0], small[i][1], small[i][2], 1);
    /* Edge tiles of every height and width class (rows 1-6 after two full
     * row panels; columns 8, 9, 15, 16, 17, 31: one or two vectors, masked
     * or not), large enough to leave the small-product loop, with k across
     * two K blocks. */
    static const int64_t edge_n[6] = {8, 9, 15, 16, 17, 31};
    for (int64_t r = 1; r <= 6; r++)
        for (int j = 0; j < 6; j++) {
            const int64_t m = 12 + r, k = 300 + 32768 / (m * edge_n[j]);
            run_shape(m, edge_n[j], k, 0);
        }
    /* Degenerate shapes: k == 0 gives beta*C; empty C must not be touched. */
    static const int64_t degen[][3] = {{7, 33, 0}, {129, 1, 0}, {0, 33, 7}, {33, 0, 129}, {0, 0, 0}};
    for (size_t i = 0; i < sizeof degen / sizeof degen[0]; i++)
        run_shape(degen[i][0], degen[i][1], degen[i][2], 1);

    /* Thread-count determinism on products large enough to be threaded,
     * including the training shapes and their backward transposes. */
    static const int64_t det[][3] = {
        {128, 256, 784}, {784, 256, 128}, {128, 784, 256}, {128, 128, 256},
        {1000, 129, 1000}, {257, 1000, 333}, {1000, 7, 1000}, {128, 1600, 128},
        {7281, 32, 9}, {9, 32, 7281}, {121, 288, 64}, {227, 64, 288}, {1000, 100, 50},
    };
    for (int bi = 0; bi < n_backends; bi++)
        for (size_t i = 0; i < sizeof det / sizeof det[0]; i++)
            for (int tr = 0; tr < 4; tr++)
                check_determinism(backends[bi], tr >> 1, tr & 1, det[i][0], det[i][1], det[i][2]);

    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
