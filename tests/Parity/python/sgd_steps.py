"""The study's optimisation in PyTorch: from Harness's initial weights (initial.pth) and batches (batches.pth:
images_<k>, labels_<k>), train mode with dropout and stochastic depth disabled, torch.optim.SGD (momentum, weight
decay) over the parameters left trainable by the frozen prefixes, StepLR stepped once per epoch. Writes
final.pth (the whole state dict: weights, BatchNorm statistics, num_batches_tracked) and losses.json."""
import json

import torch
import torch.nn.functional as F

import harness_parity as h

folder = h.exchange_folder()
with open(h.path_in(folder, "params.json")) as f:
    p = json.load(f)
torch.set_num_threads(1)
initial = h.load_tensors(h.path_in(folder, "initial.pth"))
model = h.efficientnet(p["variant"], num_classes=initial["classifier.1.weight"].shape[0], dropout=0.0,
                       stochastic_depth_prob=0.0)
model = model.to(initial["classifier.1.weight"].dtype)
model.load_state_dict(initial, strict=True)
trainable = []
for name, param in model.named_parameters():
    frozen = any(name.startswith(prefix) for prefix in p["frozen_prefixes"])
    param.requires_grad_(not frozen)
    if not frozen:
        trainable.append(param)
sgd = torch.optim.SGD(trainable, lr=p["lr"], momentum=p["momentum"], weight_decay=p["weight_decay"])
schedule = torch.optim.lr_scheduler.StepLR(sgd, step_size=p["step_size"], gamma=p["gamma"])
batches = h.load_tensors(h.path_in(folder, "batches.pth"))
model.train()
losses, k = [], 0
for epoch in range(p["epochs"]):
    for _ in range(p["steps_per_epoch"]):
        sgd.zero_grad()
        loss = F.cross_entropy(model(batches[f"images_{k}"]), batches[f"labels_{k}"])
        loss.backward()
        sgd.step()
        losses.append(loss.item())
        k += 1
    schedule.step()
h.save_tensors(model.state_dict(), h.path_in(folder, "final.pth"))
h.write_json({"losses": losses, "final_lr": sgd.param_groups[0]["lr"]}, h.path_in(folder, "losses.json"))
