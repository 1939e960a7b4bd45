/* Shared helpers of the bench/ programs: wall clock, medians, peak RSS, the result-line
 * protocol scripts/bench.sh reads, and the common command line.
 *
 * Every bench program prints its measurements as lines
 *
 *     RESULT <key> <value>
 *
 * (key "value" is the workload's headline number, in the unit the workload is reported in;
 * other keys are extra facts such as "accuracy" or "rss_mib"), plus free-form "# ..." lines
 * for humans. The Python twins (bench/<workload>_tf.py, _torch.py) print the same protocol. */
#ifndef GT_BENCHUTIL_H
#define GT_BENCHUTIL_H

#include <gradtape.h>

#include <stdbool.h>
#include <stdint.h>

/** Monotonic wall time in seconds. */
double bu_now(void);
/** Median of n values (sorts v in place). */
double bu_median(double *v, int n);
/** Peak resident set size of this process in MiB (VmHWM, else ru_maxrss). */
double bu_peak_rss_mib(void);
/** Prints "RESULT key value" and flushes. */
void bu_result(const char *key, double value);

/** Options every bench program accepts:
 *    --quick        fewer iterations (also GT_BENCH_QUICK=1 in the environment)
 *    --threads N    kernel threads (default GT_BENCH_THREADS or 2)
 *  Unknown arguments are an error. */
typedef struct bu_opts {
    bool quick;
    int threads;
} bu_opts;
/** Parses the common options and sets gradtape's thread count. Returns false (after printing
 *  usage) on a bad argument. */
bool bu_init(int argc, char **argv, bu_opts *opts);

/** Runs fn(arg, iters) repeatedly in batches of `iters` calls until at least min_seconds have
 *  passed and at least min_batches batches ran; returns the median seconds per call. */
double bu_time_per_call(void (*fn)(void *arg, int64_t iters), void *arg, int64_t iters,
                        int min_batches, double min_seconds);

/** One training step, as the TensorFlow and PyTorch twins write it: batch `index` of ds (batch
 *  size `batch`) through model under a tape, the loss, the gradient of every trainable
 *  variable (listed into vars on the first call, when *nvars is 0) and an optimizer update, all
 *  in one scope. Writes the loss to *loss_out when it is not NULL. */
bool bu_train_step(gt_model *model, const gt_loss *loss_fn, gt_optimizer *opt, gt_tensor **vars,
                   int *nvars, gt_dataset *ds, int64_t batch, int64_t index, double *loss_out);

/** The model's sparse categorical accuracy on ds, forward passes (training false) in batches of
 *  `batch`; false (with gt_error set) on failure. */
bool bu_test_accuracy(gt_model *model, gt_dataset *ds, int64_t batch, double *accuracy);

#endif
