"""Test loss and accuracy of a Harness checkpoint on the CIFAR-10 test batch of the python layout, computed in
PyTorch: uint8 images / 255, bilinear resize to the image size when it is not 32 (align_corners False, as
Harness), ImageNet mean/std, eval mode, mean cross-entropy over all images (float64 sum).
params.json: {"checkpoint", "data" (folder holding cifar-10-batches-py), "image_size", "batch_size"}."""
import json
import os
import pickle

import numpy as np
import torch
import torch.nn.functional as F

import harness_parity as h

folder = h.exchange_folder()
with open(h.path_in(folder, "params.json")) as f:
    p = json.load(f)
torch.set_num_threads(2)
with open(os.path.join(p["data"], "cifar-10-batches-py", "test_batch"), "rb") as f:
    batch = pickle.load(f, encoding="bytes")
images = torch.from_numpy(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
labels = torch.tensor(batch[b"labels"], dtype=torch.int64)
sd = torch.load(p["checkpoint"], weights_only=True)
model = h.rebuild_from_shapes(sd, p["variant"]).eval()
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
loss_sum, correct = 0.0, 0
with torch.no_grad():
    for i in range(0, len(labels), p["batch_size"]):
        x = images[i:i + p["batch_size"]].float().div(255.0)
        if p["image_size"] != 32:
            x = F.interpolate(x, size=(p["image_size"], p["image_size"]), mode="bilinear", align_corners=False)
        logits = model((x - mean) / std)
        y = labels[i:i + p["batch_size"]]
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(1) == y).sum())
h.write_json({"count": len(labels), "loss": loss_sum / len(labels), "accuracy": correct / len(labels)},
             h.path_in(folder, "evaluation.json"))
