"""torch.nn.utils.prune on the weights Harness wrote (weights.pth: layer name -> weight): global L1 unstructured,
per-layer l1_unstructured and ln_structured (n=1, dim 0 and dim 1), each at amount 0.3 (params.json may set it),
then remove(). Writes masks_<method>.pth and permanent_<method>.pth (layer name -> tensor)."""
import json

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune

import harness_parity as h

folder = h.exchange_folder()
weights = h.load_tensors(h.path_in(folder, "weights.pth"))
with open(h.path_in(folder, "params.json")) as f:
    amount = json.load(f)["amount"]


def holders():
    out = {}
    for name, w in weights.items():
        m = nn.Module()
        m.weight = nn.Parameter(w.clone())
        out[name] = m
    return out


def finish(method, layers):
    h.save_tensors({n: m.weight_mask for n, m in layers.items()}, h.path_in(folder, f"masks_{method}.pth"))
    for m in layers.values():
        prune.remove(m, "weight")
    h.save_tensors({n: m.weight.detach() for n, m in layers.items()}, h.path_in(folder, f"permanent_{method}.pth"))


layers = holders()
prune.global_unstructured([(m, "weight") for m in layers.values()], pruning_method=prune.L1Unstructured,
                          amount=amount)
finish("global_l1", layers)

layers = holders()
for m in layers.values():
    prune.l1_unstructured(m, "weight", amount=amount)
finish("layer_l1", layers)

for dim in (0, 1):
    layers = holders()
    for m in layers.values():
        prune.ln_structured(m, "weight", amount=amount, n=1, dim=dim)
    finish(f"ln_structured_dim{dim}", layers)
