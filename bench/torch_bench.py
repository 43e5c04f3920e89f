"""PyTorch's side of `harness bench compare`: a small server on stdin/stdout so that one interpreter serves every
measurement and Harness can interleave its own between them. One JSON request a line, one JSON answer a line:
  {"op": "train", "arch": ARCH, "model": PATH|"base", "size": 32, "batch": 32, "frozen": [PREFIX, ...], "steps": 10}
      -> {"img_per_s": ...}   bare training step (forward, cross-entropy, backward, SGD), warm-up step excluded
  {"op": "infer", "arch": ARCH, "model": PATH|"base", "size": 224, "batch": 32, "runs": 10}
      -> {"median_ms": ..., "times_ms": [...]}   eval, no_grad, warm-up excluded
  {"op": "versions"} -> {"torch": ..., "torchvision": ..., "threads": ...}
ARCH is a Harness architecture name (efficientnet_b0, resnet18, resnet50, mobilenet_v2): "base" is torchvision's
definition with 10 classes, a path a Harness checkpoint rebuilt as that torchvision model from its tensor shapes.
The frozen parameters are those whose names start with one of the given module prefixes (Harness's stages)."""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "Parity", "python"))
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

import harness_parity as h  # noqa: E402

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
_models = {}


def model_of(spec, arch):
    key = (spec, arch)
    if key not in _models:
        if spec == "base":
            m = h.torchvision_model(arch)
        else:
            m = h.rebuild_from_shapes(torch.load(spec, weights_only=True),
                                      arch="efficientnet" if arch == "efficientnet_b0" else arch)
        _models[key] = m
    return _models[key]


def train(req):
    torch.manual_seed(0)
    model = model_of(req["model"], req["arch"])
    prefixes = tuple(p + "." for p in req["frozen"])
    params = []
    for name, p in model.named_parameters():
        p.requires_grad_(not name.startswith(prefixes))
        if p.requires_grad:
            params.append(p)
    sgd = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(req["batch"], 3, req["size"], req["size"])
    y = torch.randint(0, 10, (req["batch"],))
    model.train()

    def step():
        sgd.zero_grad()
        F.cross_entropy(model(x), y).backward()
        sgd.step()

    step()
    start = time.perf_counter()
    for _ in range(req["steps"]):
        step()
    return {"img_per_s": req["steps"] * req["batch"] / (time.perf_counter() - start)}


def infer(req):
    model = model_of(req["model"], req["arch"]).eval()
    x = torch.randn(req["batch"], 3, req["size"], req["size"])
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(req["runs"]):
            start = time.perf_counter()
            model(x)
            times.append(1000 * (time.perf_counter() - start))
    return {"median_ms": statistics.median(times), "times_ms": times}


for line in sys.stdin:
    req = json.loads(line)
    if req["op"] == "train":
        answer = train(req)
    elif req["op"] == "infer":
        answer = infer(req)
    else:
        answer = {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(),
                  "interop_threads": torch.get_num_interop_threads()}
    print(json.dumps(answer), flush=True)
