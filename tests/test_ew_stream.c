/* Elementwise kernels whose output is larger than the streaming bound (8 MiB) compute through
 * a staging block and non-temporal stores: the bytes must equal those of the same kernel run
 * on small pieces (plain stores), for a unary and a binary kind, float32 and float64, an odd
 * length and an output that is not 16-byte aligned, at 1 and 2 threads. */
#include "kernels/unary.h"

#include "gtt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N     2500003 /* 10 MB of float32, 20 MB of float64: above the bound; odd */
#define PIECE 4096

static void check(gt__ew_kind k, gt_dtype dt, bool binary, int threads, int shift,
                  const char *what) {
    const size_t es = gt_dtype_size(dt);
    unsigned char *a = malloc(N * es), *b = malloc(N * es);
    unsigned char *big = malloc((N + 4) * es), *ref = malloc(N * es);
    uint64_t r = 12345;
    for (int64_t i = 0; i < N; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        const double v = (double)(int64_t)(r >> 40) / (double)(1 << 22) - 2.0;
        if (dt == GT_F32) {
            ((float *)a)[i] = (float)v;
            ((float *)b)[i] = (float)(-v * 0.5);
        } else {
            ((double *)a)[i] = v;
            ((double *)b)[i] = -v * 0.5;
        }
    }
    gt_set_num_threads(threads);
    unsigned char *y = big + (size_t)shift * es; /* shift 1: not 16-byte aligned for f32 */
    if (binary)
        gt__ew_binary(k, dt, a, b, y, N, 0);
    else
        gt__ew_unary(k, dt, a, y, N, 0);
    for (int64_t i = 0; i < N; i += PIECE) {
        const int64_t m = N - i < PIECE ? N - i : PIECE;
        if (binary)
            gt__ew_binary(k, dt, a + i * es, b + i * es, ref + i * es, m, 0);
        else
            gt__ew_unary(k, dt, a + i * es, ref + i * es, m, 0);
    }
    GTT_CHECK(memcmp(y, ref, N * es) == 0, "%s (%s, %d threads, shift %d): streamed output differs",
              what, gt_dtype_name(dt), threads, shift);
    free(a);
    free(b);
    free(big);
    free(ref);
}

int main(void) {
    for (int t = 1; t <= 2; t++)
        for (int shift = 0; shift <= 1; shift++) {
            check(GT__EW_TANH, GT_F32, false, t, shift, "tanh");
            check(GT__EW_RELU_GRAD, GT_F32, true, t, shift, "relu_grad");
        }
    check(GT__EW_TANH, GT_F64, false, 2, 1, "tanh");
    check(GT__EW_RELU_GRAD, GT_F64, true, 2, 0, "relu_grad");
    return gtt_finish();
}
