"""The study's evaluation pipeline in torchvision on PIL images: Resize(size) + ToTensor + Normalize(ImageNet).
images.pth holds uint8 images [N,3,32,32] written by Harness; writes transformed.pth (float [N,3,size,size])."""
import json

import torch
from torchvision import transforms
from torchvision.transforms.functional import to_pil_image

import harness_parity as h

folder = h.exchange_folder()
with open(h.path_in(folder, "params.json")) as f:
    size = json.load(f)["image_size"]
images = h.load_tensors(h.path_in(folder, "images.pth"))["images"]
pipeline = transforms.Compose([
    transforms.Resize(size),
    transforms.ToTensor(),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])
out = torch.stack([pipeline(to_pil_image(img)) for img in images])
h.save_tensors({"transformed": out}, h.path_in(folder, "transformed.pth"))
