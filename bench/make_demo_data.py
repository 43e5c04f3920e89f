#!/usr/bin/python3
"""Writes demo/cifar10/: the embedded CIFAR-10 subset that `harness study --preset demo` trains on.

Source: the official CIFAR-10 binary layout (cifar-10-batches-bin/, e.g. ../shared/cifar10-sample, whose batches
hold the first images of each official batch in the official order). Selection: walking data_batch_1.bin ...
data_batch_5.bin record by record, the first TRAIN images of each class; walking test_batch.bin, the first TEST
images of each class. Each image is written losslessly as PNG (the official pixel bytes, unchanged) to
<out>/<train|test>/<class name>/<batch>_<record index>.png, the image-folder layout Harness reads.

Usage: bench/make_demo_data.py [SOURCE_DIR] [OUT_DIR] [TRAIN_PER_CLASS] [TEST_PER_CLASS]
"""
import os
import sys

from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
RECORD = 3073


def records(path):
    data = open(path, "rb").read()
    if len(data) % RECORD:
        sys.exit(f"{path}: {len(data)} bytes is not a whole number of {RECORD}-byte CIFAR-10 records")
    for i in range(len(data) // RECORD):
        r = data[i * RECORD:(i + 1) * RECORD]
        yield i, r[0], r[1:]


def write(batches, per_class, out):
    counts = [0] * 10
    for batch in batches:
        name = os.path.splitext(os.path.basename(batch))[0]
        for i, label, pixels in records(batch):
            if counts[label] >= per_class:
                continue
            counts[label] += 1
            planes = [Image.frombytes("L", (32, 32), pixels[c * 1024:(c + 1) * 1024]) for c in range(3)]
            folder = os.path.join(out, CLASSES[label])
            os.makedirs(folder, exist_ok=True)
            Image.merge("RGB", planes).save(os.path.join(folder, f"{name}_{i:05d}.png"), optimize=True)
    if min(counts) < per_class:
        sys.exit(f"only {counts} images per class in {batches}; wanted {per_class}")


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "../shared/cifar10-sample/cifar-10-batches-bin"
    out = sys.argv[2] if len(sys.argv) > 2 else "demo/cifar10"
    train = int(sys.argv[3]) if len(sys.argv) > 3 else 150
    test = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    write([os.path.join(source, f"data_batch_{k}.bin") for k in range(1, 6)], train, os.path.join(out, "train"))
    write([os.path.join(source, "test_batch.bin")], test, os.path.join(out, "test"))


if __name__ == "__main__":
    main()
