"""torchvision's networks named after the exchange folder (the registry's variants beyond EfficientNet: resnet18,
resnet50, mobilenet_v2, ...; 10 classes) with random weights and random BatchNorm statistics, saved by torch.save,
with their eval-mode logits on fixed inputs at 64 px (and 224 px for the first):
in float32, and from a float64 copy of the same model on the same inputs (logits64_*), which tells the float32
rounding error of torchvision itself apart from a difference of computation."""
import copy

import torch
import torchvision

import harness_parity as h

import sys

folder = h.exchange_folder()
SIZES = {name: (64, 224) if i == 0 else (64,) for i, name in enumerate(sys.argv[2:])}
torch.manual_seed(0)
for seed, (name, sizes) in enumerate(SIZES.items()):
    model = h.randomise(getattr(torchvision.models, name)(num_classes=10), seed=200 + seed).eval()
    torch.save(model.state_dict(), h.path_in(folder, f"tv_{name}.pth"))
    model64 = copy.deepcopy(model).double()
    out = {}
    with torch.no_grad():
        for size in sizes:
            x = torch.randn(2, 3, size, size)
            out[f"input_{size}"] = x
            out[f"logits_{size}"] = model(x)
            out[f"logits64_{size}"] = model64(x.double())
    h.save_tensors(out, h.path_in(folder, f"tv_{name}_outputs.pth"))
