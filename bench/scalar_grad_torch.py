"""scalar_grad, PyTorch: d(x**2)/dx at 3.0 with torch.autograd.grad, µs per call."""
import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
x = torch.tensor(3.0, requires_grad=True)


def call():
    y = x ** 2
    (g,) = torch.autograd.grad(y, x)
    return g


assert float(call()) == 6.0
for _ in range(2000):
    call()
per = benchlib.time_per_call(call, 1000 if a.quick else 5000, 5 if a.quick else 15,
                             0.2 if a.quick else 1.0)
benchlib.result("value", per * 1e6)
