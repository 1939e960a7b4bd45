/* Runtime CPU feature detection for the kernel dispatchers. */
#ifndef GT_KERNELS_CPU_H
#define GT_KERNELS_CPU_H

#include <stdbool.h>

/* True when AVX2 and FMA3 are usable (CPU has them and the OS saves YMM state). */
bool gt__cpu_has_avx2_fma(void);
/* True when AVX-512F is usable. */
bool gt__cpu_has_avx512f(void);

#endif
