"""chain, PyTorch: 100 elementwise ops on a [16] float32 vector (mul, tanh, add by i mod 3)
forward and backward (output gradient ones), µs per op."""
import benchlib

NOPS = 100
a = benchlib.args()
torch = benchlib.setup_torch()
i = torch.arange(16, dtype=torch.float32)
x = (0.1 * (i - 8)).requires_grad_(True)
c = 0.9 + 0.01 * i
d = 0.05 - 0.005 * i
ones = torch.ones(16)


def call():
    y = x
    for k in range(NOPS):
        r = k % 3
        if r == 0:
            y = y * c
        elif r == 1:
            y = torch.tanh(y)
        else:
            y = y + d
    (g,) = torch.autograd.grad(y, x, grad_outputs=ones)
    return g


benchlib.note(f"dy0/dx0 = {float(call()[0]):.6f}")
for _ in range(50):
    call()
per = benchlib.time_per_call(call, 20 if a.quick else 100, 5 if a.quick else 15,
                             0.3 if a.quick else 1.5)
benchlib.result("value", per * 1e6 / NOPS)
