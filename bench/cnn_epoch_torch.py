"""cnn_epoch, PyTorch: one Fashion-MNIST epoch of Conv2d(1,32,3)+relu -> MaxPool2d(2) ->
Conv2d(32,64,3)+relu -> MaxPool2d(2) -> Flatten -> Linear(1600,128)+relu -> Linear(128,10),
cross_entropy, Adam(1e-3), batch 128 (PyTorch's NCHW [B, 1, 28, 28]): seconds per epoch and test
accuracy. Batching as mlp_epoch_torch.py. Quick mode: 20 batches, extrapolated."""
import math
import time

import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
(xtr, ytr), (xte, yte) = benchlib.fashion_mnist()
torch.manual_seed(1)
BATCH = 128
X = torch.from_numpy(xtr.reshape(-1, 1, 28, 28).copy())
Y = torch.from_numpy(ytr.astype("int64"))
nb = math.ceil(len(X) / BATCH)
run = min(nb, 20) if a.quick else nb
nn = torch.nn
model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
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
    xt = torch.from_numpy(xte.reshape(-1, 1, 28, 28).copy()).float() / 255.0
    pred = torch.cat([model(xt[i:i + 500]).argmax(1) for i in range(0, len(xt), 500)])
    acc = float((pred == torch.from_numpy(yte.astype("int64"))).float().mean())
benchlib.result("value", secs)
benchlib.result("accuracy", acc)
benchlib.result("rss_mib", benchlib.peak_rss_mib())
