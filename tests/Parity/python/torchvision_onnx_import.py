"""Exports torchvision models to ONNX the way a PyTorch user keeps BatchNorm and state-dict names
(torch.onnx.export(..., training=PRESERVE, do_constant_folding=False, opset_version=17), from eval mode), and
writes what Harness's import must reproduce: eval logits on a fixed batch, and every parameter and running
statistic after one SGD step in train mode.

usage: torchvision_onnx_import.py EXCHANGE ARCH [ARCH ...]
writes EXCHANGE/ARCH.onnx, ARCH_io.pth ({input: N×3×224×224, labels, logits (eval)}), ARCH_initial.pth and
ARCH_step.pth (state dicts before, in float32, and after one step in float64: lr 0.01, momentum 0.9, weight decay 5e-4, cross-entropy), and ARCH.json (operators, parameter count, loss)."""
import json
import os
import sys

import torch
import torch.nn as nn
from torchvision.ops import StochasticDepth

from harness_parity import exchange_folder, randomise, torchvision_model


class OperatorZoo(nn.Module):
    """A small CNN through the operators torchvision's classifiers do not use: asymmetric padding, dilation, groups,
    ceil-mode pooling with padding, LeakyReLU, Hardsigmoid, Hardswish, Sub and Div by constants, split and
    concatenation, a mean over the spatial axes, x.reshape(x.size(0), -1) (Shape, Gather, Unsqueeze, Concat, Reshape)
    and a MatMul by a weight."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.dilated = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4)
        self.bn2 = nn.BatchNorm2d(16)
        self.left = nn.Conv2d(8, 8, 1)
        self.right = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.squeeze = nn.Conv2d(16, 4, 1)
        self.expand = nn.Conv2d(4, 16, 1)
        self.proj = nn.Parameter(torch.randn(16 * 4 * 4, 32) * 0.05)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = nn.functional.pad(x, (0, 1, 0, 1))  # asymmetric: right and bottom only
        x = self.bn(self.stem(x))
        x = nn.functional.leaky_relu(x, 0.1)
        x = nn.functional.hardswish(self.bn2(self.dilated(x)))
        a, b = torch.split(x, 8, dim=1)
        x = torch.cat([self.left(a), self.right(b)], dim=1)
        x = self.pool(x)
        s = x.mean(dim=(2, 3), keepdim=True)
        x = x * nn.functional.hardsigmoid(self.expand(torch.relu(self.squeeze(s))))
        x = (x - 0.5) / 2.0
        x = self.avg(x)
        x = nn.functional.avg_pool2d(x, 7)  # 28 → 4
        x = x.reshape(x.size(0), -1)
        x = torch.matmul(x, self.proj)
        return self.fc(torch.relu(x))


def build(arch):
    if arch == "operator_zoo":
        return OperatorZoo()
    if arch == "googlenet":
        import torchvision
        return torchvision.models.googlenet(num_classes=10, aux_logits=False, init_weights=True)
    return torchvision_model(arch)


def main():
    folder = exchange_folder()
    torch.manual_seed(0)
    for arch in sys.argv[2:]:
        # "<arch>_fresh": torchvision's initialisation, whose equal tensors (BatchNorm ones and zeros) torch.onnx merges
        # into one initializer each, giving the other names as Identity outputs.
        fresh = arch.endswith("_fresh")
        model = build(arch[: -len("_fresh")]) if fresh else randomise(build(arch), seed=11)
        for m in model.modules():  # dropout and stochastic depth would make one training step random on both sides
            if isinstance(m, (nn.Dropout, StochasticDepth)):
                m.p = 0.0
        model.eval()
        g = torch.Generator().manual_seed(5)
        x = torch.randn(2, 3, 224, 224, generator=g)
        y = torch.randint(0, 10, (2,), generator=g)
        # Random weights make logits of any size (thousands for a deep residual net); scale the classifier so that
        # they are of a trained network's size (at most 10), where an absolute tolerance means something.
        with torch.no_grad():
            scale = 1.0 if fresh else 10.0 / float(model(x).abs().max())
            head = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
            head.weight.mul_(scale)
            head.bias.mul_(scale)
        path = os.path.join(folder, f"{arch}.onnx")
        torch.onnx.export(model, x[:1], path, training=torch.onnx.TrainingMode.PRESERVE,
                          do_constant_folding=False, opset_version=17)
        with torch.no_grad():
            logits = model(x)
        torch.save({"input": x, "labels": y, "logits": logits}, os.path.join(folder, f"{arch}_io.pth"))
        torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(folder, f"{arch}_initial.pth"))
        # One step in float64 on both sides: float32 summation order (threads, layouts, libtorch versions) moves a
        # gradient by more than 1e-5 where it is a long sum, float64 leaves only the semantics to compare.
        model.double().train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        loss = nn.functional.cross_entropy(model(x.double()), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, os.path.join(folder, f"{arch}_step.pth"))
        import onnx
        ops = sorted({n.op_type for n in onnx.load(path).graph.node})
        with open(os.path.join(folder, f"{arch}.json"), "w") as f:
            json.dump({"ops": ops, "params": sum(p.numel() for p in model.parameters()), "loss": float(loss)}, f)


if __name__ == "__main__":
    main()
