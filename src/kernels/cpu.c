/* Runtime CPU feature detection.
 *
 * The library is built for the baseline ISA (no -march), so every SIMD kernel
 * is compiled with a per-function target attribute and may only be called
 * after these checks succeed.  GCC's and Clang's __builtin_cpu_supports also
 * verify that the OS enables the wider register state (XGETBV), so a
 * true answer means the instructions are really safe to execute. */
#include "kernels/cpu.h"

#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#define GT_CPU_X86 1
#else
#define GT_CPU_X86 0
#endif

/* Cached because the dispatcher asks on every GEMM call and
 * __builtin_cpu_init must have run first; -1 means not probed yet. */
static atomic_int cpu_flags = -1;

enum { CPU_AVX2_FMA = 1, CPU_AVX512F = 2 };

/* Probe once; racing first callers all compute and store the same value. */
static int cpu_probe(void) {
    int f = atomic_load_explicit(&cpu_flags, memory_order_relaxed);
    if (f >= 0) return f;
    f = 0;
#if GT_CPU_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= CPU_AVX2_FMA;
    if (__builtin_cpu_supports("avx512f")) f |= CPU_AVX512F;
#endif
    atomic_store_explicit(&cpu_flags, f, memory_order_relaxed);
    return f;
}

/* Gate for the AVX2+FMA kernels. */
bool gt__cpu_has_avx2_fma(void) { return (cpu_probe() & CPU_AVX2_FMA) != 0; }

/* Gate for any future AVX-512 kernels (none are compiled today). */
bool gt__cpu_has_avx512f(void) { return (cpu_probe() & CPU_AVX512F) != 0; }
