"""Seeds made by PyTorch, torchvision and onnx (Debian's python3-torch, python3-torchvision, python3-onnx) and from
the sample data, for fuzz/run.sh. Usage: /usr/bin/python3 fuzz/seeds.py OUT [SAMPLE_DATA]"""
import collections, io, os, pickle, sys, zipfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

out = sys.argv[1]
sample = sys.argv[2] if len(sys.argv) > 2 else None


def folder(target):
    path = os.path.join(out, target)
    os.makedirs(path, exist_ok=True)
    return path


def pickle_of(path):
    with zipfile.ZipFile(path) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        return z.read(name)


torch.manual_seed(0)
base = torch.arange(16, dtype=torch.float32)
state_dicts = {
    # dtypes of every storage class Harness reads
    "dtypes": collections.OrderedDict((str(t).split(".")[1], torch.arange(6).to(t).reshape(2, 3)) for t in
                                      [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64,
                                       torch.int32, torch.int16, torch.int8, torch.uint8, torch.bool]),
    # views: shared storage, an offset, a transpose, a broadcast (stride 0), an empty tensor, a scalar
    "views": collections.OrderedDict(a=base, b=base[4:12].view(2, 4), c=base.view(4, 4).t(),
                                     d=torch.ones(4)[:1].expand(3, 5), e=torch.empty(0, 3), f=torch.tensor(2.5)),
    # a module's state dict (nn.Parameter, BatchNorm's num_batches_tracked, _metadata)
    "module": nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2)).state_dict(),
    "parameters": {"w": nn.Parameter(torch.randn(2, 2)), "nested": {"x": torch.zeros(3)}, "list": [torch.ones(2), 3, "s", None, 1.5, True]},
}
for name, sd in state_dicts.items():
    path = os.path.join(folder("torch"), f"{name}.pth")
    torch.save(sd, path)
    torch.save(sd, os.path.join(folder("torch"), f"{name}-protocol2.pth"), pickle_protocol=2)
    with open(os.path.join(folder("pickle"), f"{name}.pkl"), "wb") as f:
        f.write(pickle_of(path))
# a torchvision network narrowed to small widths is too big for a seed; its keys come from a real one
import torchvision
r18 = torchvision.models.resnet18(num_classes=10).state_dict()
torch.save(collections.OrderedDict((k, v.flatten()[:2].clone()) for k, v in list(r18.items())[:12]),
           os.path.join(folder("torch"), "resnet18-keys.pth"))

# ONNX: small CNNs with the operators the import translates, as torch.onnx.export writes them
class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.BatchNorm2d(8), nn.ReLU6(), nn.Conv2d(8, 8, 1))
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.stem(x)
        x = x + self.block(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding=1)
        self.se1 = nn.Conv2d(8, 2, 1)
        self.se2 = nn.Conv2d(2, 8, 1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 4 * 4, 10)

    def forward(self, x):
        y = torch.cat([self.a(x), nn.functional.leaky_relu(self.b(x))], 1)
        s = torch.sigmoid(self.se2(nn.functional.silu(self.se1(y.mean((2, 3), keepdim=True)))))
        y = self.pool(y * s)
        y = nn.functional.avg_pool2d(y, 2)
        return self.fc(y.reshape(y.shape[0], -1))


for name, net in [("residual", Residual()), ("branches", Branches())]:
    net.eval()
    for t in ["onnx-import", "onnx-metadata"]:
        torch.onnx.export(net, torch.randn(1, 3, 16, 16), os.path.join(folder(t), f"{name}.onnx"), opset_version=13,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False,
                          input_names=["input"], output_names=["logits"])

# CIFAR: three images of the sample's batches, in both layouts
if sample:
    with open(os.path.join(sample, "cifar-10-batches-bin", "data_batch_1.bin"), "rb") as f:
        head = f.read(3 * 3073)
    with open(os.path.join(folder("cifar-binary"), "data_batch_1.bin"), "wb") as f:
        f.write(head)
    with open(os.path.join(sample, "cifar-10-batches-py", "data_batch_1"), "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    small = {k: (v[:3] if k != b"batch_label" else v) for k, v in batch.items()}
    with open(os.path.join(folder("cifar-python"), "data_batch_1"), "wb") as f:
        pickle.dump(small, f)  # protocol 4: bytes as BINBYTES (protocol 2 from Python 3 needs _codecs.encode)
    small[b"labels"] = np.array(small[b"labels"], dtype=np.int64)
    with open(os.path.join(folder("cifar-python"), "labels-array"), "wb") as f:
        pickle.dump(small, f)

# Images in the formats an image folder may hold
rgb = Image.fromarray((np.arange(6 * 5 * 3) * 7 % 256).astype(np.uint8).reshape(6, 5, 3))
for name, image, fmt, extra in [("rgb.bmp", rgb, "BMP", {}), ("rgb.gif", rgb.convert("P"), "GIF", {}),
                                ("gray.png", rgb.convert("L"), "PNG", {}), ("palette.png", rgb.convert("P"), "PNG", {}),
                                ("rgba.png", rgb.convert("RGBA"), "PNG", {}), ("progressive.jpg", rgb, "JPEG", {"progressive": True}),
                                ("cmyk.jpg", rgb.convert("CMYK"), "JPEG", {}),
                                ("gray16.png", Image.fromarray((np.arange(30) * 2000).astype(np.uint16).reshape(6, 5)), "PNG", {})]:
    image.save(os.path.join(folder("image"), name), fmt, **extra)
