"""mlp_epoch, PyTorch: one Fashion-MNIST epoch of Linear(784,256)+relu -> Linear(256,128)+relu
-> Linear(128,10), cross_entropy, Adam(1e-3), batch 128: seconds per epoch, test accuracy after
it, and peak RSS. The images stay uint8 in one tensor; each batch is gathered by a random
permutation and converted to float /255 (what torchvision's FashionMNIST + DataLoader do,
without the worker processes). Five warm-up steps on the first batches; quick mode times 60
batches and extrapolates."""
import math
import time

import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
(xtr, ytr), (xte, yte) = benchlib.fashion_mnist()
torch.manual_seed(1)
BATCH = 128
X = torch.from_numpy(xtr.reshape(-1, 784).copy())
Y = torch.from_numpy(ytr.astype("int64"))
nb = math.ceil(len(X) / BATCH)
run = benchlib.quick_batches(a.quick, nb)

model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                            torch.nn.Linear(256, 128), torch.nn.ReLU(),
                            torch.nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
F = torch.nn.functional


def step(idx):
    x = X[idx].float() / 255.0
    opt.zero_grad()
    loss = F.cross_entropy(model(x), Y[idx])
    loss.backward()
    opt.step()
    return loss


for i in range(5):
    step(torch.arange(i * BATCH, (i + 1) * BATCH))
t0 = time.perf_counter()
perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(42))
for i in range(run):
    loss = step(perm[i * BATCH:(i + 1) * BATCH])
secs = (time.perf_counter() - t0) * nb / run
benchlib.note(f"steps timed {run} of {nb}, last loss {float(loss):.4f}")

with torch.no_grad():
    xt = torch.from_numpy(xte.reshape(-1, 784).copy()).float() / 255.0
    pred = torch.cat([model(xt[i:i + 1000]).argmax(1) for i in range(0, len(xt), 1000)])
    acc = float((pred == torch.from_numpy(yte.astype("int64"))).float().mean())
benchlib.result("value", secs)
benchlib.result("accuracy", acc)
benchlib.result("rss_mib", benchlib.peak_rss_mib())
