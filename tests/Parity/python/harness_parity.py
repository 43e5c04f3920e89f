"""Shared helpers of the parity scripts: torchvision models at Harness's multipliers, randomised weights and
BatchNorm statistics, a torchvision EfficientNet rebuilt from state-dict shapes, and file exchange.

Every script takes one argument, the exchange folder: it reads what the C# test wrote there and writes its
results (tensors with torch.save, scalars in JSON) beside them."""
import json
import os
import sys

import torch
import torch.nn as nn
import torchvision
from torchvision.models import efficientnet as tv_efficientnet
from torchvision.ops.misc import Conv2dNormActivation, SqueezeExcitation

# Harness's variants: name -> (width multiplier, depth multiplier). "b0" is torchvision's efficientnet_b0.
VARIANTS = {"b0": (1.0, 1.0), "tiny": (0.25, 0.34)}


def exchange_folder():
    """The exchange folder, the script's first argument (scripts may take more after it)."""
    if len(sys.argv) < 2:
        raise SystemExit(f"usage: {sys.argv[0]} EXCHANGE_FOLDER [ARGS...]")
    return sys.argv[1]


def efficientnet(variant, num_classes=10, dropout=0.2, stochastic_depth_prob=0.2):
    """torchvision's EfficientNet at a variant's multipliers (B0's stage table, head 4 x last stage width)."""
    width, depth = VARIANTS[variant]
    setting, last_channel = tv_efficientnet._efficientnet_conf("efficientnet_b0", width_mult=width, depth_mult=depth)
    return tv_efficientnet.EfficientNet(setting, dropout, stochastic_depth_prob=stochastic_depth_prob,
                                        num_classes=num_classes, last_channel=last_channel)


def randomise(model, seed):
    """Random weights everywhere and random BatchNorm statistics, so that eval-mode BN is not the identity."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1 + (1.0 if name.endswith("weight") else 0.0))
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    return model


def _conv_like(conv, weight_shape, has_bias):
    out_ch, in_per_group = weight_shape[0], weight_shape[1]
    depthwise = conv.groups == conv.in_channels and conv.groups > 1
    groups = out_ch if depthwise else 1
    in_ch = out_ch if depthwise else in_per_group
    return nn.Conv2d(in_ch, out_ch, conv.kernel_size, conv.stride, conv.padding, groups=groups, bias=has_bias)


def torchvision_model(arch, num_classes=10):
    """torchvision's definition of a Harness architecture name: its --arch names are torchvision's builder names
    (efficientnet_b0, resnet18, resnet50, mobilenet_v2, ...)."""
    if arch == "efficientnet_b0":
        return efficientnet("b0", num_classes=num_classes)
    builder = getattr(torchvision.models, arch, None)
    if builder is None:
        raise ValueError(f"torchvision has no architecture {arch!r}")
    return builder(num_classes=num_classes)


def rebuild_from_shapes(state_dict, variant="b0", num_classes=None, arch="efficientnet"):
    """A torchvision model (EfficientNet at `variant`, or torchvision's `arch`) whose Conv2d, BatchNorm2d and Linear
    layers are replaced by ones with the shapes of a (channel-pruned) state dict; strides, kernels, padding and the
    module tree stay torchvision's."""
    if arch == "efficientnet":
        if num_classes is None:
            num_classes = state_dict["classifier.1.weight"].shape[0]
        model = efficientnet(variant, num_classes=num_classes)
    else:
        model = torchvision_model(arch)
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            key = full + ".weight"
            if key not in state_dict:
                continue
            shape = state_dict[key].shape
            if isinstance(child, nn.Conv2d):
                new = _conv_like(child, shape, full + ".bias" in state_dict)
            elif isinstance(child, nn.BatchNorm2d):
                new = nn.BatchNorm2d(shape[0], eps=child.eps, momentum=child.momentum)
            elif isinstance(child, nn.Linear):
                new = nn.Linear(shape[1], shape[0], bias=full + ".bias" in state_dict)
            else:
                continue
            setattr(module, child_name, new)
    model.load_state_dict(state_dict, strict=True)
    return model


def load_tensors(path):
    return torch.load(path, weights_only=True)


def save_tensors(tensors, path):
    torch.save({k: v.contiguous() for k, v in tensors.items()}, path)


def write_json(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)


def path_in(folder, name):
    return os.path.join(folder, name)
