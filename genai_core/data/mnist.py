"""MNIST from the shared .npz file or torchvision, and procedural digits the project draws itself
(for tests and for anyone without the real data)."""

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont


def load_digits(source: str, path: str | None, split: str = "train", n: int = 2000, seed: int = 0):
    """Return (images uint8 (N, 28, 28), labels int64 (N,)) as torch tensors."""
    if source == "npz":
        return load_npz(path, split)
    if source == "torchvision":
        return load_torchvision(path, split)
    if source == "synthetic":
        return synthetic_digits(n, seed + (0 if split == "train" else 1))
    raise ValueError(f"unknown digit source {source!r} (npz, torchvision or synthetic)")


def load_npz(path, split="train"):
    """The layout of keras' mnist.npz: x_train, y_train, x_test, y_test."""
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(f"MNIST npz file not found: {path}")
    with np.load(path) as data:
        images, labels = data[f"x_{split}"], data[f"y_{split}"]
    # Files repacked from PNGs may hold dark digits on white; MNIST (and torchvision) is white on
    # black, and every model and referee here expects that, so flip the inverted ones.
    if images.mean() > 127:
        images = 255 - images
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def load_torchvision(root, split="train"):
    """torchvision's MNIST folder under root (downloaded beforehand: nothing is fetched at run time)."""
    from torchvision.datasets import MNIST

    dataset = MNIST(root or "data", train=split == "train", download=False)
    return dataset.data, dataset.targets.long()


def synthetic_digits(n: int, seed: int = 0, size: int = 28):
    """Digits 0-9 drawn with PIL's font at random size, stroke, slant and position."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = np.zeros((n, size, size), np.uint8)
    fonts = {s: ImageFont.load_default(size=s) for s in range(16, 25)}
    for index, label in enumerate(labels):
        canvas = Image.new("L", (size * 2, size * 2), 0)
        draw = ImageDraw.Draw(canvas)
        font = fonts[int(rng.integers(16, 25))]
        stroke = int(rng.integers(0, 3))
        draw.text(
            (size, size), str(label), fill=255, font=font, anchor="mm", stroke_width=stroke, stroke_fill=255
        )
        shear = math.tan(math.radians(rng.uniform(-15, 15)))
        canvas = canvas.transform(canvas.size, Image.AFFINE, (1, shear, -shear * size, 0, 1, 0))
        canvas = canvas.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR)
        box = canvas.getbbox() or (0, 0, size * 2, size * 2)
        digit = canvas.crop(box)
        scale = 20 / max(digit.size)  # MNIST fits digits in a 20x20 box, centred in 28x28
        digit = digit.resize((max(1, round(digit.width * scale)), max(1, round(digit.height * scale))))
        out = Image.new("L", (size, size), 0)
        jitter = rng.integers(-2, 3, 2)
        out.paste(digit, ((size - digit.width) // 2 + jitter[0], (size - digit.height) // 2 + jitter[1]))
        images[index] = np.asarray(out)
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28) in [-1, 1]."""
    return images.float().div(127.5).sub(1).unsqueeze(1)
