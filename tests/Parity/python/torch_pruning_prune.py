"""Prunes a torchvision model with Torch-Pruning itself, on the weights the ONNX import parity test exported, so that
Harness's graph channel pruning can be compared with it tensor by tensor.

usage: torch_pruning_prune.py EXCHANGE TORCH_PRUNING_SOURCE ARCH RATIO [RATIO ...]
reads EXCHANGE/ARCH_initial.pth (written by torchvision_onnx_import.py from the same model), runs
MetaPruner(model, torch.randn(1, 3, 224, 224), importance=MagnitudeImportance(p=1), pruning_ratio=RATIO,
ignored_layers=[the 10-class head], round_to=8).step() and writes EXCHANGE/ARCH_tp_RATIO.pth (the pruned state dict)
and EXCHANGE/ARCH_tp_RATIO.json ({"params": ..., "version": ...}). Torch-Pruning is imported from its source folder
(fetched, never vendored)."""
import json
import os
import sys

import torch
import torch.nn as nn


def main():
    folder, source, arch = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, source)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch_pruning as tp
    from torchvision_onnx_import import build

    initial = torch.load(os.path.join(folder, f"{arch}_initial.pth"))
    for ratio in sys.argv[4:]:
        model = build(arch)
        model.load_state_dict(initial)
        model.eval()
        head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
        pruner = tp.pruner.MetaPruner(model, torch.randn(1, 3, 224, 224), importance=tp.importance.MagnitudeImportance(p=1),
                                      pruning_ratio=float(ratio), ignored_layers=[head], round_to=8)
        pruner.step()
        torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(folder, f"{arch}_tp_{ratio}.pth"))
        with open(os.path.join(folder, f"{arch}_tp_{ratio}.json"), "w") as f:
            json.dump({"params": sum(p.numel() for p in model.parameters()), "version": tp.__version__ if hasattr(tp, "__version__") else "?"}, f)


if __name__ == "__main__":
    main()
