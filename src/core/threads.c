/* Thread count for kernels (OpenMP and BLAS). */
#include "core/internal.h"

#ifdef GT_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef GT_HAVE_CBLAS
void openblas_set_num_threads(int n);
#endif

static atomic_int n_threads;

void gt_set_num_threads(int n) {
#ifdef GT_HAVE_OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#else
    if (n <= 0) n = 1;
#endif
#ifdef GT_HAVE_CBLAS
    openblas_set_num_threads(n);
#endif
    atomic_store(&n_threads, n);
}

int gt_get_num_threads(void) { return gt__threads(); }

int gt__threads(void) {
    int n = atomic_load(&n_threads);
    if (n > 0) return n;
#ifdef GT_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
