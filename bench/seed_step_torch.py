"""seed_step, PyTorch: the seed's training step, µs per step: Linear(10,5)+relu ->
Linear(5,2) on [32, 10] with one-hot labels, cross_entropy on the logits (what Keras computes
from a softmax output's logits), SGD(0.01): zero_grad, backward, step."""
import benchlib

a = benchlib.args()
torch = benchlib.setup_torch()
torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(10, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
inputs = torch.randn(32, 10)
labels = torch.nn.functional.one_hot(torch.randint(0, 2, (32,)), 2).float()
opt = torch.optim.SGD(model.parameters(), lr=0.01)
F = torch.nn.functional


def step():
    opt.zero_grad()
    loss = F.cross_entropy(model(inputs), labels)
    loss.backward()
    opt.step()
    return loss


for _ in range(200):
    step()
per = benchlib.time_per_call(step, 100 if a.quick else 500, 5 if a.quick else 15,
                             0.3 if a.quick else 1.5)
benchlib.note(f"loss {float(step()):.4f}")
benchlib.result("value", per * 1e6)
