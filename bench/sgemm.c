/* sgemm benchmark: GFLOP/s of gt__gemm_f32 per backend, shape and thread
 * count (median of several runs), plus the machine's AVX2 FMA ceiling so the
 * numbers can be read as an efficiency.
 *
 *   sgemm [--quick] [--best] [--backend auto|portable|avx2|blas|all] [--only NAME]
 *   sgemm --ceiling      only the FMA ceiling lines (scripts/bench.sh records them)
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif
#include "core/internal.h" /* gt__par_for */
#include "kernels/gemm.h"

#include <gradtape.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* One thread of the ceiling measurement: wait at the start barrier, note the time, then run
 * fma_loop. */
typedef struct {
    pthread_barrier_t *start;
    long iters;
    double t0, result;
} fma_worker;

static void *fma_worker_main(void *arg) {
    fma_worker *w = arg;
    pthread_barrier_wait(w->start);
    w->t0 = now();
    w->result = fma_loop(w->iters);
    return NULL;
}

/* Peak GFLOP/s with nthreads threads each running fma_loop (best of 3). The threads are
 * created first and released together by a barrier; the clock runs from the release (the
 * earliest time a thread notes after the barrier) to the last join, so thread creation is
 * not timed and the main thread, which only joins, never has to be scheduled to start it. */
static double fma_ceiling(int nthreads) {
    const long iters = 20000000;
    volatile double sink = 0;
    double best = 0;
    pthread_t *tid = malloc((size_t)nthreads * sizeof *tid);
    fma_worker *w = malloc((size_t)nthreads * sizeof *w);
    if (!tid || !w) {
        fprintf(stderr, "sgemm: out of memory\n");
        exit(1);
    }
    for (int rep = 0; rep < 3; rep++) {
        pthread_barrier_t start;
        if (pthread_barrier_init(&start, NULL, (unsigned)nthreads) != 0) {
            fprintf(stderr, "sgemm: pthread_barrier_init failed\n");
            exit(1);
        }
        for (int t = 0; t < nthreads; t++) {
            w[t] = (fma_worker){&start, iters, 0, 0};
            if (pthread_create(&tid[t], NULL, fma_worker_main, &w[t]) != 0) {
                fprintf(stderr, "sgemm: pthread_create failed\n");
                exit(1); /* the threads already made wait at the barrier; exit ends them */
            }
        }
        for (int t = 0; t < nthreads; t++) pthread_join(tid[t], NULL);
        const double t1 = now();
        pthread_barrier_destroy(&start);
        double t0 = w[0].t0;
        for (int t = 0; t < nthreads; t++) {
            if (w[t].t0 < t0) t0 = w[t].t0;
            sink += w[t].result;
        }
        double g = (double)nthreads * (double)iters * 12 * 8 * 2 / (t1 - t0) / 1e9;
        if (g > best) best = g;
    }
    (void)sink;
    free(tid);
    free(w);
    return best;
}
#endif

/* How a shape is run.  PLAIN: one call on the whole product (the kernel
 * threads it).  The CONV_* modes replay src/kernels/conv.c's chunking: the
 * chunked dimension (rows of im2col's column matrix) is cut into chunks of
 * `chunk` rows handed to the kernel thread pool, and every call runs
 * single-threaded inside a task, with the per-thread buffers conv.c uses:
 *   CONV_FWD  y[chunk rows] = col * w           (col per thread, y sliced)
 *   CONV_DX   col = dy[chunk rows] * w^T        (dy sliced, col per thread)
 *   CONV_DW   part += col^T * dy[chunk rows]     (col per thread, dy sliced;
 *             `parts` partial sums, each over a contiguous run of chunks)
 * For the conv modes m, n, k name the whole product: rows x F x K (fwd),
 * rows x K x F (dx), K x F x rows (dw). */
enum { PLAIN, CONV_FWD, CONV_DX, CONV_DW };

typedef struct {
    const char *name;
    int ta, tb;
    int64_t m, n, k;
    int mode;
    int64_t chunk, parts;
} shape;

/* Training shapes: the MLP 784-256-128-10 and the CNN Conv2D(32,3) ->
 * MaxPool -> Conv2D(64,3) -> MaxPool -> Dense(128) -> Dense(10), batch 128.
 * Chunk sizes follow conv.c: CONV_CHUNK_ELEMS / K rows (2^16 / 9 = 7281,
 * 2^16 / 288 = 227), one image (121 rows) per input-gradient task, at most
 * 16 filter-gradient parts. */
static const shape shapes[] = {
    {"sq256", 0, 0, 256, 256, 256, PLAIN, 0, 0},
    {"sq1024", 0, 0, 1024, 1024, 1024, PLAIN, 0, 0},
    {"sq1024 TT", 1, 1, 1024, 1024, 1024, PLAIN, 0, 0},
    {"sq2048", 0, 0, 2048, 2048, 2048, PLAIN, 0, 0},
    {"fc1 fwd X*W", 0, 0, 128, 256, 784, PLAIN, 0, 0},
    {"fc1 dW X^T*G", 1, 0, 784, 256, 128, PLAIN, 0, 0},
    {"fc1 dX G*W^T", 0, 1, 128, 784, 256, PLAIN, 0, 0},
    {"fc2 fwd", 0, 0, 128, 128, 256, PLAIN, 0, 0},
    {"fc2 dW", 1, 0, 256, 128, 128, PLAIN, 0, 0},
    {"fc2 dX", 0, 1, 128, 256, 128, PLAIN, 0, 0},
    {"fc3 fwd", 0, 0, 128, 10, 128, PLAIN, 0, 0},
    {"fc3 dW", 1, 0, 128, 10, 128, PLAIN, 0, 0},
    {"fc3 dX", 0, 1, 128, 128, 10, PLAIN, 0, 0},
    {"conv1 fwd", 0, 0, 86528, 32, 9, CONV_FWD, 7281, 0},
    {"conv1 dW", 1, 0, 9, 32, 86528, CONV_DW, 7281, 12},
    {"conv2 fwd", 0, 0, 15488, 64, 288, CONV_FWD, 227, 0},
    {"conv2 dX", 0, 1, 15488, 288, 64, CONV_DX, 121, 0},
    {"conv2 dW", 1, 0, 288, 64, 15488, CONV_DW, 227, 16},
    {"cnn fc fwd", 0, 0, 128, 128, 1600, PLAIN, 0, 0},
    {"cnn fc dW", 1, 0, 1600, 128, 128, PLAIN, 0, 0},
    {"cnn fc dX", 0, 1, 128, 1600, 128, PLAIN, 0, 0},
};

/* Rows of a conv-mode shape's chunked dimension. */
static int64_t conv_rows(const shape *s) { return s->mode == CONV_DW ? s->k : s->m; }

/* Chunk ch of a conv-mode shape on the calling thread's buffer `mine`;
 * for CONV_DW it adds into `part`, starting a new sum when `first`.  All
 * operands are contiguous as conv.c's (ld = the row length). */
static void conv_chunk(const shape *s, const float *b, float *c, float *mine, int64_t ch,
                       float *part, bool first) {
    const int64_t r0 = ch * s->chunk, rest = conv_rows(s) - r0;
    const int64_t nr = rest < s->chunk ? rest : s->chunk;
    if (s->mode == CONV_FWD)
        gt__gemm_f32(false, false, nr, s->n, s->k, 1.0f, mine, s->k, b, s->n, 0.0f, c + r0 * s->n, s->n);
    else if (s->mode == CONV_DX)
        gt__gemm_f32(false, true, nr, s->n, s->k, 1.0f, c + r0 * s->k, s->k, b, s->k, 0.0f, mine, s->n);
    else
        gt__gemm_f32(true, false, s->m, s->n, nr, 1.0f, mine, s->m, b + r0 * s->n, s->n,
                     first ? 0.0f : 1.0f, part, s->n);
}

/* The operands of one run (see run_shape). */
typedef struct {
    const shape *s;
    float *a;
    const float *b;
    float *c;
    int64_t local, nch;
} run_job;

/* Pool task u: chunk u, or (filter gradient) part u's run of chunks. */
static void conv_task(void *ctx, int64_t u, int tid) {
    const run_job *j = ctx;
    const shape *s = j->s;
    float *mine = j->a + tid * j->local;
    if (s->mode != CONV_DW) {
        conv_chunk(s, j->b, j->c, mine, u, NULL, true);
        return;
    }
    const int64_t c0 = u * j->nch / s->parts, c1 = (u + 1) * j->nch / s->parts;
    for (int64_t ch = c0; ch < c1; ch++)
        conv_chunk(s, j->b, j->c, mine, ch, j->c + u * s->m * s->n, ch == c0);
}

/* One run of a shape: a single call, or every chunk (filter gradient: every
 * part) handed to the kernel thread pool as conv.c hands them.  a holds the
 * per-thread buffers (`local` floats each), b the shared operand, c the
 * sliced one. */
static void run_shape(const shape *s, float *a, const float *b, float *c, int64_t local) {
    if (s->mode == PLAIN) {
        const int64_t lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
        gt__gemm_f32(s->ta, s->tb, s->m, s->n, s->k, 1.0f, a, lda, b, ldb, 0.0f, c, s->n);
        return;
    }
    /* as conv.c: products that go to OpenBLAS are never run concurrently */
    const int threads = strcmp(gt__gemm_backend(), "blas") == 0 ? 1 : 0;
    run_job j = {s, a, b, c, local, (conv_rows(s) + s->chunk - 1) / s->chunk};
    gt__par_for(s->mode == CONV_DW ? s->parts : j.nch, threads, conv_task, &j);
}

/* GFLOP/s of one configuration, the median (or the best) of runs repeated
 * until ~0.3 s or 7 runs. */
static double time_shape(const shape *s, float *a, const float *b, float *c, int64_t local,
                         int quick, int best) {
    const double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    double t[201];
    int reps = 0;
    double total = 0;
    run_shape(s, a, b, c, local); /* warm */
    const double budget = quick ? 0.1 : 0.3;
    while (reps < 201 && (reps < 7 || total < budget)) {
        double t0 = now();
        run_shape(s, a, b, c, local);
        t[reps] = now() - t0;
        total += t[reps++];
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return flops / t[best ? 0 : reps / 2] / 1e9;
}

/* Deterministic operand values in [-0.5, 0.5). */
static void fill(float *p, int64_t n, int64_t mul) {
    for (int64_t i = 0; i < n; i++) p[i] = (float)((i * mul) % 1000) * 1e-3f - 0.5f;
}

int main(int argc, char **argv) {
    int quick = 0, ceiling_only = 0, best = 0;
    const char *which = "all", *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--ceiling")) ceiling_only = 1;
        else if (!strcmp(argv[i], "--best")) best = 1;
        else if (!strcmp(argv[i], "--backend") && i + 1 < argc) which = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--quick] [--ceiling] [--best] [--backend auto|portable|avx2|blas|all]\n"
                    "          [--only SUBSTRING]\n"
                    "  --best   report the fastest run instead of the median (a shared machine)\n"
                    "  --only   only the shapes whose name contains SUBSTRING\n",
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

    const int max_threads = gt_get_num_threads() < 2 ? gt_get_num_threads() : 2;
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
        if (only && !strstr(s->name, only)) continue;
        /* a: op(A), or the per-thread buffers; b: the shared operand; c: C,
         * or the sliced operand (conv input gradient), or the parts. */
        int64_t local = 0, na = s->m * s->k, nb = s->k * s->n, nc = s->m * s->n;
        if (s->mode == CONV_FWD) local = s->chunk * s->k;
        if (s->mode == CONV_DX) local = s->chunk * s->n, nc = s->m * s->k;
        if (s->mode == CONV_DW) local = s->chunk * s->m, nc = s->parts * s->m * s->n;
        if (s->mode != PLAIN) na = max_threads * local;
        float *a = malloc((size_t)na * sizeof(float));
        float *b = malloc((size_t)nb * sizeof(float));
        float *c = malloc((size_t)nc * sizeof(float));
        if (!a || !b || !c) return 1;
        fill(a, na, 7919);
        fill(b, nb, 104729);
        fill(c, nc, 3571);
        for (int li = 0; li < nl; li++) {
            gt__gemm_force(list[li]);
            printf("%-14s %6lld %6lld %6lld %-9s", s->name, (long long)s->m, (long long)s->n,
                   (long long)s->k, list[li] == 0 ? gt__gemm_backend() : names[list[li]]);
            for (int nt = 1; nt <= max_threads; nt++) {
                gt_set_num_threads(nt);
                printf("  %9.1f", time_shape(s, a, b, c, local, quick, best));
                fflush(stdout);
            }
            printf("\n");
            gt_set_num_threads(max_threads);
        }
        gt__gemm_force(0);
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
