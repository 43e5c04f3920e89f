"""Reads every checkpoint Harness wrote with torch.load(weights_only=True), loads it strictly into torchvision's
model (masked files: into a model whose Conv2d/Linear layers carry torch.nn.utils.prune's identity
reparametrisation; channel-pruned files: into a torchvision model rebuilt from the tensor shapes) and writes the
eval-mode logits on Harness's input.

cases.json: [{"name", "file", "kind": dense|masked|permanent|channel|trained, "variant", "input"}]."""
import json
import traceback

import torch
import torch.nn as nn
import torch.nn.utils.prune as prune

import harness_parity as h

folder = h.exchange_folder()
with open(h.path_in(folder, "cases.json")) as f:
    cases = json.load(f)

results = {}
for case in cases:
    name = case["name"]
    try:
        sd = torch.load(h.path_in(folder, case["file"]), weights_only=True)
        classes = sd["classifier.1.weight_orig" if case["kind"] == "masked" else "classifier.1.weight"].shape[0]
        if case["kind"] == "channel":
            model = h.rebuild_from_shapes(sd, case["variant"])
        else:
            model = h.efficientnet(case["variant"], num_classes=classes)
            if case["kind"] == "masked":
                for m in model.modules():
                    if isinstance(m, (nn.Conv2d, nn.Linear)):
                        prune.identity(m, "weight")
            model.load_state_dict(sd, strict=True)
        model.eval()
        x = h.load_tensors(h.path_in(folder, case["input"]))["input"]
        with torch.no_grad():
            logits = model(x)
        h.save_tensors({"logits": logits}, h.path_in(folder, f"{name}_torch_logits.pth"))
        results[name] = {"ok": True, "tensors": len(sd), "dtypes": sorted({str(v.dtype) for v in sd.values()})}
    except Exception:
        results[name] = {"ok": False, "error": traceback.format_exc()}
h.write_json(results, h.path_in(folder, "results.json"))
