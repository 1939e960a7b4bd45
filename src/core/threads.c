/* Thread count for kernels: the kernel thread pool (parallel.c) uses gt__threads() threads,
 * the caller included. OpenBLAS, used only serially (gemm.c), is kept at one thread. */
#define _GNU_SOURCE
#include "core/internal.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#ifdef GT_HAVE_CBLAS
void openblas_set_num_threads(int n);
#endif

static atomic_int n_threads;

/* The CPUs this process may run on (its affinity mask), at least 1. */
static int cpus(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The default: GT_NUM_THREADS, else OMP_NUM_THREADS (its first entry), else every CPU. */
static int default_threads(void) {
    const char *names[2] = {"GT_NUM_THREADS", "OMP_NUM_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n > 0)
            return n > 1024 ? 1024 : (int)n;
    }
    return cpus();
}

void gt_set_num_threads(int n) {
    atomic_store(&n_threads, n > 0 ? n : cpus());
#ifdef GT_HAVE_CBLAS
    openblas_set_num_threads(1);
#endif
}

int gt_get_num_threads(void) { return gt__threads(); }

int gt__threads(void) {
    int n = atomic_load(&n_threads);
    if (n > 0) return n;
    n = default_threads();
    int expected = 0;
    atomic_compare_exchange_strong(&n_threads, &expected, n);
    return atomic_load(&n_threads);
}
