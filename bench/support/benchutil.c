#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "benchutil.h"

#include <gradtape.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

double bu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double bu_median(double *v, int n) {
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bu_peak_rss_mib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f)) {
            long kb;
            if (sscanf(line, "VmHWM: %ld kB", &kb) == 1) {
                fclose(f);
                return (double)kb / 1024.0;
            }
        }
        fclose(f);
    }
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) return (double)ru.ru_maxrss / 1024.0; /* kB on Linux */
    return 0.0;
}

void bu_result(const char *key, double value) {
    printf("RESULT %s %.6g\n", key, value);
    fflush(stdout);
}

bool bu_init(int argc, char **argv, bu_opts *opts) {
    const char *q = getenv("GT_BENCH_QUICK");
    const char *t = getenv("GT_BENCH_THREADS");
    opts->quick = q && *q && strcmp(q, "0") != 0;
    opts->threads = t && *t ? atoi(t) : 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            opts->quick = true;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            opts->threads = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--threads N]\n", argv[0]);
            return false;
        }
    }
    if (opts->threads <= 0) opts->threads = 2;
    gt_set_num_threads(opts->threads);
    printf("# threads=%d quick=%d\n", opts->threads, (int)opts->quick);
    return true;
}

double bu_time_per_call(void (*fn)(void *arg, int64_t iters), void *arg, int64_t iters,
                        int min_batches, double min_seconds) {
    enum { MAXB = 1000 };
    double t[MAXB];
    int nb = 0;
    const double start = bu_now();
    while (nb < MAXB && (nb < min_batches || bu_now() - start < min_seconds)) {
        const double t0 = bu_now();
        fn(arg, iters);
        t[nb++] = (bu_now() - t0) / (double)iters;
    }
    return bu_median(t, nb);
}

bool bu_train_step(gt_model *model, const gt_loss *loss_fn, gt_optimizer *opt, gt_tensor **vars,
                   int *nvars, gt_dataset *ds, int64_t batch, int64_t index, double *loss_out) {
    gt_scope_begin();
    gt_tensor *x, *y;
    bool ok = gt_dataset_batch(ds, batch, index, &x, &y);
    gt_tape *tape = gt_tape_begin(NULL);
    gt_tensor *logits = ok ? gt_model_call(model, x, true) : NULL;
    gt_tensor *loss = gt_loss_call(loss_fn, y, logits, NULL);
    gt_tape_end(tape);
    if (*nvars == 0) *nvars = gt_layer_trainable_variables(gt_model_layer(model), vars, 16);
    gt_tensor *grads[16];
    ok = loss && gt_tape_gradient(tape, 1, (const gt_tensor *const[]){loss}, NULL, *nvars,
                                  (const gt_tensor *const *)vars, GT_UNCONNECTED_NONE, grads) &&
         gt_optimizer_apply_gradients(opt, *nvars, grads, vars);
    if (loss_out && ok) *loss_out = gt_item(loss);
    gt_tape_free(tape);
    gt_scope_end();
    return ok;
}

bool bu_test_accuracy(gt_model *model, gt_dataset *ds, int64_t batch, double *accuracy) {
    gt_metric *acc = gt_metric_sparse_categorical_accuracy("accuracy");
    bool ok = acc != NULL;
    const int64_t nb = gt_dataset_num_batches(ds, batch);
    for (int64_t i = 0; i < nb && ok; i++) {
        gt_scope_begin();
        gt_tensor *x, *y;
        ok = gt_dataset_batch(ds, batch, i, &x, &y) &&
             gt_metric_update(acc, y, gt_model_call(model, x, false), NULL);
        gt_scope_end();
    }
    if (ok) *accuracy = gt_metric_result(acc);
    gt_metric_free(acc);
    return ok;
}
