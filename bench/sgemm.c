/* sgemm benchmark: GFLOP/s of gt__gemm_f32 per backend, shape and thread
 * count (median of several runs), plus the machine's AVX2 FMA ceiling so the
 * numbers can be read as an efficiency.
 *
 *   sgemm [--quick] [--backend auto|portable|avx2|blas|all]
 *   sgemm --ceiling      only the FMA ceiling lines (scripts/bench.sh records them)
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include "kernels/gemm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef GT_HAVE_OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Monotonic wall time; CPU time would hide threading. */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort comparator for the median. */
static int cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

#if defined(__x86_64__) || defined(__i386__)
/* 12 independent FMA chains: enough to saturate the FMA ports of any AVX2
 * core (latency 4-5 x 2 ports), so this is the attainable single-precision
 * peak.  Each iteration is 12 FMAs x 8 lanes x 2 flops. */
__attribute__((target("avx2,fma"))) static double fma_loop(long iters) {
    const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-7f);
    __m256 x0 = _mm256_set1_ps(0.f), x1 = _mm256_set1_ps(1.f), x2 = _mm256_set1_ps(2.f);
    __m256 x3 = _mm256_set1_ps(3.f), x4 = _mm256_set1_ps(4.f), x5 = _mm256_set1_ps(5.f);
    __m256 x6 = _mm256_set1_ps(6.f), x7 = _mm256_set1_ps(7.f), x8 = _mm256_set1_ps(8.f);
    __m256 x9 = _mm256_set1_ps(9.f), x10 = _mm256_set1_ps(10.f), x11 = _mm256_set1_ps(11.f);
    for (long it = 0; it < iters; it++) {
        x0 = _mm256_fmadd_ps(x0, m, a); x1 = _mm256_fmadd_ps(x1, m, a);
        x2 = _mm256_fmadd_ps(x2, m, a); x3 = _mm256_fmadd_ps(x3, m, a);
        x4 = _mm256_fmadd_ps(x4, m, a); x5 = _mm256_fmadd_ps(x5, m, a);
        x6 = _mm256_fmadd_ps(x6, m, a); x7 = _mm256_fmadd_ps(x7, m, a);
        x8 = _mm256_fmadd_ps(x8, m, a); x9 = _mm256_fmadd_ps(x9, m, a);
        x10 = _mm256_fmadd_ps(x10, m, a); x11 = _mm256_fmadd_ps(x11, m, a);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(x0, x1), _mm256_add_ps(x2, x3)),
                             _mm256_add_ps(_mm256_add_ps(x4, x5), _mm256_add_ps(x6, x7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(x8, x9), _mm256_add_ps(x10, x11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return (double)out[0];
}

/* Peak GFLOP/s with nthreads threads each running fma_loop. */
static double fma_ceiling(int nthreads) {
    const long iters = 20000000;
    volatile double sink = 0;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
#ifdef GT_HAVE_OPENMP
#pragma omp parallel num_threads(nthreads)
#endif
        {
            double r = fma_loop(iters);
#ifdef GT_HAVE_OPENMP
#pragma omp atomic
#endif
            sink += r;
        }
        double g = (double)nthreads * (double)iters * 12 * 8 * 2 / (now() - t0) / 1e9;
        if (g > best) best = g;
    }
    (void)sink;
    return best;
}
#endif

typedef struct {
    const char *name;
    int ta, tb;
    int64_t m, n, k;
} shape;

static const shape shapes[] = {
    {"sq256", 0, 0, 256, 256, 256},
    {"sq1024", 0, 0, 1024, 1024, 1024},
    {"sq1024 TT", 1, 1, 1024, 1024, 1024},
    {"sq2048", 0, 0, 2048, 2048, 2048},
    {"fc1 fwd X*W", 0, 0, 128, 256, 784},
    {"fc1 dW X^T*G", 1, 0, 784, 256, 128},
    {"fc1 dX G*W^T", 0, 1, 128, 784, 256},
    {"fc2 fwd", 0, 0, 128, 128, 256},
    {"fc2 dW", 1, 0, 256, 128, 128},
    {"fc2 dX", 0, 1, 128, 256, 128},
    {"fc3 fwd", 0, 0, 128, 10, 128},
    {"fc3 dW", 1, 0, 128, 10, 128},
    {"fc3 dX", 0, 1, 128, 128, 10},
};

/* Median GFLOP/s of one configuration; repeats until ~0.3 s or 7 runs. */
static double time_gemm(const shape *s, const float *a, const float *b, float *c, int quick) {
    const int64_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    const double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    double t[201];
    int reps = 0;
    double total = 0;
    gt__gemm_f32(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n); /* warm */
    const double budget = quick ? 0.1 : 0.3;
    while (reps < 201 && (reps < 7 || total < budget)) {
        double t0 = now();
        gt__gemm_f32(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
        t[reps] = now() - t0;
        total += t[reps++];
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return flops / t[reps / 2] / 1e9;
}

int main(int argc, char **argv) {
    int quick = 0, ceiling_only = 0;
    const char *which = "all";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--ceiling")) ceiling_only = 1;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) which = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--quick] [--ceiling] [--backend auto|portable|avx2|blas|all]\n",
                    argv[0]);
            return 2;
        }
    }
    static const char *names[4] = {"auto", "portable", "avx2", "blas"};
    int list[4], nl = 0;
    for (int bk = 0; bk < 4; bk++) {
        if (strcmp(which, "all") ? strcmp(which, names[bk]) != 0 : bk == 0) continue;
        gt__gemm_force(bk);
        if (bk == 0 || !strcmp(gt__gemm_backend(), names[bk])) list[nl++] = bk;
    }
    gt__gemm_force(0);
    printf("auto backend: %s\n", gt__gemm_backend());

    int max_threads = 1;
#ifdef GT_HAVE_OPENMP
    max_threads = omp_get_max_threads() < 2 ? omp_get_max_threads() : 2;
#endif
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        for (int nt = 1; nt <= max_threads; nt++)
            printf("FMA ceiling (%d thread%s): %.1f GFLOP/s\n", nt, nt > 1 ? "s" : "", fma_ceiling(nt));
#endif
    if (ceiling_only) return 0;

    printf("%-14s %6s %6s %6s %-9s", "shape", "m", "n", "k", "backend");
    for (int nt = 1; nt <= max_threads; nt++) printf("  %dthr GF/s", nt);
    printf("\n");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const shape *s = &shapes[si];
        if (quick && s->m * s->n * s->k > (int64_t)1 << 30) continue;
        float *a = malloc((size_t)(s->m * s->k) * sizeof(float));
        float *b = malloc((size_t)(s->k * s->n) * sizeof(float));
        float *c = malloc((size_t)(s->m * s->n) * sizeof(float));
        if (!a || !b || !c) return 1;
        for (int64_t i = 0; i < s->m * s->k; i++) a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
        for (int64_t i = 0; i < s->k * s->n; i++) b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
        for (int li = 0; li < nl; li++) {
            gt__gemm_force(list[li]);
            printf("%-14s %6lld %6lld %6lld %-9s", s->name, (long long)s->m, (long long)s->n,
                   (long long)s->k, list[li] == 0 ? gt__gemm_backend() : names[list[li]]);
            for (int nt = 1; nt <= max_threads; nt++) {
#ifdef GT_HAVE_OPENMP
                omp_set_num_threads(nt);
#endif
                printf("  %9.1f", time_gemm(s, a, b, c, quick));
                fflush(stdout);
            }
            printf("\n");
        }
        gt__gemm_force(0);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
