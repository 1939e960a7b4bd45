"""cnn_epoch, PyTorch: one Fashion-MNIST epoch of Conv2d(1,32,3)+relu -> MaxPool2d(2) ->
Conv2d(32,64,3)+relu -> MaxPool2d(2) -> Flatten -> Linear(1600,128)+relu -> Linear(128,10),
cross_entropy, Adam(1e-3), batch 128 (PyTorch's NCHW [B, 1, 28, 28]): seconds per epoch and test
accuracy. Batching as mlp_epoch_torch.py. Quick mode: 20 batches, extrapolated."""
import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
data = benchlib.fashion_mnist()
torch.manual_seed(1)
nn = torch.nn
model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
benchlib.torch_epoch(torch, model, (1, 28, 28), data, a.quick, quick_n=20, eval_batch=500)
