"""Writes the crafted checkpoints of the integrity issue into a folder (Debian's PyTorch, /usr/bin/python3):
stride0.pth (a 400-byte file whose tensor is a stride-0 view of one float over 2^30 elements), zip2g.pth (a zip
whose data.pkl declares 2 GB), negsize.pth / negstride.pth / mismatch.pth / overflow.pth (tensor views with negative
sizes or strides, size/stride lengths that differ, size x stride overflowing int64), bigunicode.pth (a BINUNICODE
length >= 2^31), dw1d.pth (a B0 state dict whose depthwise weight is 1-D) and widths_*.pth (a Harness checkpoint
whose extra/harness.json widths were edited)."""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import torch
import torch._utils

out = sys.argv[1]
harness_file = sys.argv[2]  # a small checkpoint Harness wrote (with extra/harness.json)
os.makedirs(out, exist_ok=True)


class View:
    """Pickles as torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...) with any numbers."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return torch._utils._rebuild_tensor_v2, self.args


storage = torch.zeros(4).storage()
torch.save(collections.OrderedDict(w=torch.zeros(1).expand(2 ** 30)), f"{out}/stride0.pth")
for name, view in {
    "negsize": View(storage, 0, (-5,), (1,)),
    "negstride": View(storage, 0, (4,), (-1,)),
    "mismatch": View(storage, 0, (2, 2), (1,)),
    "overflow": View(storage, 0, (2 ** 62, 4), (4, 2 ** 62)),
    "offset": View(storage, 2 ** 40, (4,), (1,)),
}.items():
    torch.save(collections.OrderedDict(w=view), f"{out}/{name}.pth")


def patch_zip(src, dst, edit):
    data = bytearray(open(src, "rb").read())
    edit(data)
    open(dst, "wb").write(bytes(data))


def declare_2gb(data):
    # central directory entries (PK\1\2) of data.pkl: uncompressed size at +24, compressed at +20
    i = data.find(b"PK\x01\x02")
    while i >= 0:
        name_len = struct.unpack_from("<H", data, i + 28)[0]
        if data[i + 46:i + 46 + name_len].endswith(b"data.pkl"):
            struct.pack_into("<I", data, i + 24, 2_000_000_000)
            struct.pack_into("<I", data, i + 20, 2_000_000_000)
        i = data.find(b"PK\x01\x02", i + 4)


patch_zip(f"{out}/negsize.pth", f"{out}/zip2g.pth", declare_2gb)

# BINUNICODE ('X') with a 4-byte length >= 2^31 in data.pkl
buf = io.BytesIO()
with zipfile.ZipFile(f"{out}/negsize.pth") as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zout:
    for item in zin.infolist():
        payload = zin.read(item.filename)
        if item.filename.endswith("data.pkl"):
            payload = b"\x80\x02X" + struct.pack("<I", 2 ** 31 + 5) + b"abc."
        zout.writestr(item, payload)
open(f"{out}/bigunicode.pth", "wb").write(buf.getvalue())

sd = torch.load(harness_file, weights_only=True)
dw = [k for k, v in sd.items() if k.endswith(".weight") and v.dim() == 4 and v.shape[1] == 1][0]
sd_1d = collections.OrderedDict((k, v.flatten() if k == dw else v) for k, v in sd.items())
torch.save(sd_1d, f"{out}/dw1d.pth")

with zipfile.ZipFile(harness_file) as z:
    meta_name = [n for n in z.namelist() if n.endswith("extra/harness.json")][0]
    meta = json.loads(z.read(meta_name))
edits = {"head2e8": ("head", 200_000_000), "stemneg": ("stem", -32), "classes0": ("numClasses", 0)}
for tag, (key, value) in edits.items():
    m = dict(meta)
    m[key] = value
    edits[tag] = m
m = json.loads(json.dumps(meta))
m["blocks"][0]["stride"] = 0
edits["stride0"] = m
for tag, m in edits.items():
    buf = io.BytesIO()
    with zipfile.ZipFile(harness_file) as zin, zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zout:
        for item in zin.infolist():
            payload = zin.read(item.filename)
            if item.filename == meta_name:
                payload = json.dumps(m).encode()
            zout.writestr(item, payload)
    open(f"{out}/widths_{tag}.pth", "wb").write(buf.getvalue())
print("\n".join(sorted(os.listdir(out))))
