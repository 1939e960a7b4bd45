"""sgemm_256/1024/2048, TensorFlow: tf.matmul of fixed float32 [n, n] tensors (eager), and
np.matmul of the same arrays in TensorFlow's venv (key numpy_sgemm_<n>), GFLOP/s."""
import numpy as np

import benchlib

a = benchlib.args()
tf, keras = benchlib.setup_tf()
for n in (256, 1024, 2048):
    i = np.arange(n * n, dtype=np.int64)
    A = ((i * 7919) % 1000 * 1e-3 - 0.5).astype(np.float32).reshape(n, n)
    B = ((i * 104729) % 1000 * 1e-3 - 0.5).astype(np.float32).reshape(n, n)
    tA, tB = tf.constant(A), tf.constant(B)
    iters = 20 if n <= 256 else 1
    flops = 2.0 * n ** 3

    def tfmm():
        tf.linalg.matmul(tA, tB).numpy()  # wait for the result (eager ops are synchronous anyway)

    def npmm():
        np.matmul(A, B)

    tfmm()
    npmm()
    t = benchlib.time_per_call(tfmm, iters, 3 if a.quick else 7, 0.3 if a.quick else 1.5)
    benchlib.result(f"sgemm_{n}", flops / t / 1e9)
    t = benchlib.time_per_call(npmm, iters, 3 if a.quick else 7, 0.3 if a.quick else 1.5)
    benchlib.result(f"numpy_sgemm_{n}", flops / t / 1e9)
