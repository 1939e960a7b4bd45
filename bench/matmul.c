/* Workload sgemm_256 / sgemm_1024 / sgemm_2048: float32 square matrix products through the
 * public gt_matmul (what a user calls; the output tensor is allocated each call, as numpy,
 * tf.matmul and torch.mm do), GFLOP/s = 2 n^3 / median seconds per call. Inputs are fixed
 * [n, n] tensors filled with values in [-0.5, 0.5). (bench/sgemm.c times the internal GEMM
 * per backend and shape, and the FMA ceiling.) Twins: bench/matmul_tf.py (tf.matmul, and
 * np.matmul in the same venv), bench/matmul_torch.py (torch.mm). */
#include "benchutil.h"

#include <gradtape.h>

#include <stdio.h>
#include <stdlib.h>

static const gt_tensor *A, *B;

static void run(void *arg, int64_t iters) {
    (void)arg;
    for (int64_t i = 0; i < iters; i++) {
        gt_scope_begin();
        gt_matmul(A, B, false, false);
        gt_scope_end();
    }
}

int main(int argc, char **argv) {
    bu_opts o;
    if (!bu_init(argc, argv, &o)) return 2;
    static const int sizes[3] = {256, 1024, 2048};
    for (int s = 0; s < 3; s++) {
        const int64_t n = sizes[s];
        float *a = malloc((size_t)(n * n) * sizeof(float));
        float *b = malloc((size_t)(n * n) * sizeof(float));
        if (!a || !b) return 1;
        for (int64_t i = 0; i < n * n; i++) {
            a[i] = (float)((i * 7919) % 1000) * 1e-3f - 0.5f;
            b[i] = (float)((i * 104729) % 1000) * 1e-3f - 0.5f;
        }
        gt_scope_begin();
        A = gt_tensor_new(GT_F32, GT_SHAPE(n, n), a);
        B = gt_tensor_new(GT_F32, GT_SHAPE(n, n), b);
        const int64_t iters = n <= 256 ? 20 : 1;
        run(NULL, iters);
        const double per = bu_time_per_call(run, NULL, iters, o.quick ? 3 : 7, o.quick ? 0.3 : 1.5);
        gt_scope_end();
        if (!gt_ok()) {
            fprintf(stderr, "matmul: %s\n", gt_error());
            return 1;
        }
        char key[32];
        snprintf(key, sizeof key, "sgemm_%d", sizes[s]);
        bu_result(key, 2.0 * (double)n * (double)n * (double)n / per / 1e9);
        free(a);
        free(b);
    }
    return 0;
}
