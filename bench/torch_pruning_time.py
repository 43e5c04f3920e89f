#!/usr/bin/python3
"""Times Torch-Pruning on torchvision models, beside `harness bench prune --weights MODEL.onnx` on their exports.

usage: bench/torch_pruning_time.py TORCH_PRUNING_SOURCE OUT_DIR ARCH [ARCH ...]
For each ARCH (a torchvision classifier with 10 classes): exports OUT_DIR/ARCH.onnx (eval mode, BatchNorm and
state-dict names kept, opset 17) for Harness, then times Torch-Pruning's MetaPruner(model, example,
MagnitudeImportance(p=1), pruning_ratio=r, ignored_layers=[head], round_to=8) — building its dependency graph — and
.step(), for r = 0.2 and 0.8, on a fresh copy of the model each time: the first call, then the median of five.
Prints one JSON line per (arch, ratio). Torch-Pruning is imported from its source folder (fetched, never vendored)."""
import copy
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision


def main():
    source, out = sys.argv[1], sys.argv[2]
    sys.path.insert(0, source)
    import torch_pruning as tp
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    example = torch.randn(1, 3, 224, 224)
    for arch in sys.argv[3:]:
        model = getattr(torchvision.models, arch)(num_classes=10).eval()
        torch.onnx.export(model, example, os.path.join(out, f"{arch}.onnx"), training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False, opset_version=17)
        for ratio in (0.2, 0.8):
            times = []
            for _ in range(6):
                m = copy.deepcopy(model)
                head = [x for x in m.modules() if isinstance(x, nn.Linear)][-1]
                start = time.perf_counter()
                pruner = tp.pruner.MetaPruner(m, example, importance=tp.importance.MagnitudeImportance(p=1),
                                              pruning_ratio=ratio, ignored_layers=[head], round_to=8)
                pruner.step()
                times.append((time.perf_counter() - start) * 1000)
            params = sum(p.numel() for p in m.parameters())
            print(json.dumps({"arch": arch, "ratio": ratio, "first_call_ms": times[0],
                              "warm_median_ms": statistics.median(times[1:]), "params": params,
                              "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
