"""Exports torchvision's EfficientNet-B0 (10 classes, random weights, eval mode) with torch.onnx.export, for
`harness bench onnx --torch-onnx FILE` (the reference export timed in the same ONNX Runtime).

Usage: /usr/bin/python3 bench/torch_onnx_export.py OUT.onnx   (Debian's torch 1.13, torchvision 0.14)"""
import sys

import torch
from torchvision.models import efficientnet_b0

torch.manual_seed(0)
model = efficientnet_b0(num_classes=10).eval()
x = torch.randn(1, 3, 224, 224)
torch.onnx.export(model, x, sys.argv[1], opset_version=17, input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
print(f"wrote {sys.argv[1]} (torch {torch.__version__}, opset 17)")
