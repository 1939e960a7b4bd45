/* A steady-state training-style loop (scope, tape, 100 ops, gradient, end of scope) makes no
 * system allocation after warm-up and its live bytes stay flat, read from the allocator's
 * counters. The iteration count defaults to 10^6; GT_STEADY_ITERS overrides it (sanitizer
 * builds use fewer, their per-op cost is 10-50x). */
#include "gtt.h"

#include <stdlib.h>

static gt_tensor *step(gt_tensor *w, gt_tensor *x) {
    gt_scope_begin();
    gt_tape *t = gt_tape_begin(NULL);
    gt_tensor *h = x;
    for (int i = 0; i < 25; i++) {
        h = gt_mul(h, w);           /* 4 ops per round, 100 in all */
        h = gt_add_s(h, 0.01);      /* (add_s makes its scalar: counted as part of the op) */
        h = gt_tanh(h);
        h = gt_sub(h, x);
    }
    gt_tensor *loss = gt_reduce_sum(gt_square(h), GT_ALL, false);
    gt_tape_end(t);
    gt_tensor *g = gt_gradient(t, loss, w);
    gt_tensor *kept = gt_keep(gt_add(g, gt_zeros_like(g)));
    gt_tape_free(t);
    gt_scope_end();
    return kept;
}

int main(void) {
    long iters = 1000000;
    const char *env = getenv("GT_STEADY_ITERS");
    if (env) iters = atol(env);
    gt_tensor *w = gt_variable(gt_fill(GT_F32, GT_SHAPE(16), 0.5), "w");
    gt_tensor *x = gt_retain(gt_fill(GT_F32, GT_SHAPE(16), 0.25));
    for (int i = 0; i < 100; i++) {
        gt_scope_begin();
        step(w, x);
        gt_scope_end();
    }
    gt_mem_stats warm = gt_mem_stats_get();
    int64_t max_live = warm.bytes_live, min_live = warm.bytes_live;
    for (long i = 0; i < iters; i++) {
        gt_scope_begin();
        step(w, x);
        gt_scope_end();
        if (i % 1000 == 0) {
            gt_mem_stats s = gt_mem_stats_get();
            if (s.bytes_live > max_live) max_live = s.bytes_live;
            if (s.bytes_live < min_live) min_live = s.bytes_live;
        }
    }
    gt_mem_stats end = gt_mem_stats_get();
    GTT_CHECK(end.lib_mallocs == warm.lib_mallocs, "%llu system allocations after warm-up",
              (unsigned long long)(end.lib_mallocs - warm.lib_mallocs));
    GTT_CHECK(max_live == warm.bytes_live && min_live == warm.bytes_live && end.bytes_live == warm.bytes_live,
              "live bytes moved: warm %lld, min %lld, max %lld, end %lld", (long long)warm.bytes_live,
              (long long)min_live, (long long)max_live, (long long)end.bytes_live);
    GTT_CHECK(gt_ok(), "error: %s", gt_error() ? gt_error() : "");
    printf("%ld iterations, live bytes %lld, cache hits %llu\n", iters, (long long)end.bytes_live,
           (unsigned long long)end.cache_hits);
    gt_release(x);
    gt_variable_free(w);
    return gtt_finish();
}
