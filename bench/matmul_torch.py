"""sgemm_256/1024/2048, PyTorch: torch.mm of fixed float32 [n, n] tensors, GFLOP/s."""
import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
for n in (256, 1024, 2048):
    i = torch.arange(n * n, dtype=torch.int64)
    A = ((i * 7919) % 1000 * 1e-3 - 0.5).float().reshape(n, n)
    B = ((i * 104729) % 1000 * 1e-3 - 0.5).float().reshape(n, n)
    iters = 20 if n <= 256 else 1

    def mm():
        torch.mm(A, B)

    mm()
    t = benchlib.time_per_call(mm, iters, 3 if a.quick else 7, 0.3 if a.quick else 1.5)
    benchlib.result(f"sgemm_{n}", 2.0 * n ** 3 / t / 1e9)
