"""mlp_epoch, PyTorch: one Fashion-MNIST epoch of Linear(784,256)+relu -> Linear(256,128)+relu
-> Linear(128,10), cross_entropy, Adam(1e-3), batch 128: seconds per epoch, test accuracy after
it, and peak RSS. The images stay uint8 in one tensor; each batch is gathered by a random
permutation and converted to float /255 (what torchvision's FashionMNIST + DataLoader do,
without the worker processes). Five warm-up steps on the first batches; quick mode times 60
batches and extrapolates."""
import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
data = benchlib.fashion_mnist()
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                            torch.nn.Linear(256, 128), torch.nn.ReLU(),
                            torch.nn.Linear(128, 10))
benchlib.torch_epoch(torch, model, (784,), data, a.quick, quick_n=60, eval_batch=1000)
