"""torchvision models with random weights and random BatchNorm statistics, saved by torch.save, with their
eval-mode logits on fixed inputs at 32 and 224 px; and a 1000-class B0 with its pooled features, for
--weights imagenet resolution (Harness replaces the head)."""
import torch

import harness_parity as h

folder = h.exchange_folder()
torch.manual_seed(0)
for seed, variant in enumerate(h.VARIANTS):
    model = h.randomise(h.efficientnet(variant), seed=100 + seed).eval()
    torch.save(model.state_dict(), h.path_in(folder, f"tv_{variant}.pth"))
    out = {}
    with torch.no_grad():
        for size in (32, 224):
            x = torch.randn(2, 3, size, size)
            out[f"input_{size}"] = x
            out[f"logits_{size}"] = model(x)
    h.save_tensors(out, h.path_in(folder, f"tv_{variant}_outputs.pth"))

imagenet = h.randomise(h.efficientnet("b0", num_classes=1000), seed=7).eval()
torch.save(imagenet.state_dict(), h.path_in(folder, "efficientnet_b0_rwightman-7f5810bc.pth"))
with torch.no_grad():
    x = torch.randn(2, 3, 64, 64)
    features = torch.flatten(imagenet.avgpool(imagenet.features(x)), 1)
h.save_tensors({"input": x, "features": features}, h.path_in(folder, "imagenet_features.pth"))
