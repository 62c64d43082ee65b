"""MNIST from the shared .npz file or torchvision, and procedural digits the project draws itself
(for tests and for anyone without the real data)."""

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from ..images import to_model_range


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


def digit_batch(images: torch.Tensor) -> torch.Tensor:
    """uint8 digits (N, 28, 28) -> float (N, 1, 28, 28) in [-1, 1], what the digit networks take."""
    return to_model_range(images).unsqueeze(1)


# ------------------------------------------------------------------ drawings -> MNIST-like digits
EMPTY_DRAWING = "The drawing is empty: draw a digit (one colour on a plain background) first."
MNIST_STROKE = 2.7  # median stroke width of MNIST test digits in their 20-pixel box (_stroke_width)


def _ink(image) -> np.ndarray:
    """Any picture -> float (H, W) 'ink' in [0, 255] with 0 for the background, whatever the colours:
    transparent canvases use alpha, opaque ones the distance from the border's (background) grey."""
    if isinstance(image, Image.Image):
        transparent = "A" in image.getbands() or "transparency" in image.info
        image = np.asarray(image.convert("RGBA" if transparent else "L"))
    array = np.asarray(image)
    if array.dtype == bool or array.size == 0:
        array = array.astype(np.float32) * 255
    array = array.astype(np.float32)
    if np.issubdtype(np.asarray(image).dtype, np.floating) and array.max(initial=0) <= 1:
        array = array * 255  # float pictures in [0, 1]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[2] in (2, 4):
        alpha = array[..., -1]
        if alpha.min() < 250:  # a transparent canvas: the strokes are what is opaque
            return alpha
        array = array[..., :-1]
    if array.ndim == 3 and array.shape[2] == 3:
        array = array @ np.array([0.299, 0.587, 0.114], np.float32)
    if array.ndim != 2 or min(array.shape) < 2:
        raise ValueError(f"expected a greyscale, RGB or RGBA picture, got an array of shape {array.shape}")
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return np.abs(array - np.median(border))


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: a stroke of width w and length L covers w*L pixels
    and has about 2*L edge pixels."""
    padded = np.pad(mask, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = (mask & ~inside).sum()
    return 2 * mask.sum() / max(edge, 1)


def _match_stroke(digit: Image.Image, target: float) -> Image.Image:
    """Thicken (max filter) or thin (min filter) the strokes towards `target` pixels wide."""
    width = _stroke_width(np.asarray(digit) > 127)
    change = round(target - width)
    if abs(change) < 2:
        return digit
    size = min(2 * (abs(change) // 2) + 1, 15)  # odd sizes; each grows or shrinks by size - 1
    if change < 0:
        return digit.filter(ImageFilter.MinFilter(size))
    # room around the crop first, or a thickened "1" could not grow wider than its bounding box
    return ImageOps.expand(digit, size // 2, fill=0).filter(ImageFilter.MaxFilter(size))


def _fit(digit: Image.Image, side: int) -> Image.Image:
    """Resize so the longer side is `side` pixels, keeping the aspect ratio."""
    scale = side / max(digit.size)
    return digit.resize(
        (max(1, round(digit.width * scale)), max(1, round(digit.height * scale))), Image.LANCZOS
    )


def prepare_drawing(image) -> np.ndarray:
    """A drawing or photo of one digit (PIL image or array; greyscale, RGB or RGBA; dark-on-light or
    light-on-dark; any size) -> uint8 (28, 28) white on black, normalised the way MNIST was made:
    cropped to its bounding box, scaled to fit a 20x20 box with its aspect ratio, and placed so its
    centre of mass sits at the centre of the 28x28 field. ValueError if there is nothing drawn."""
    ink = _ink(image)
    if ink.max(initial=0) < 32:
        raise ValueError(EMPTY_DRAWING)
    # a relative threshold drops anti-aliasing halos and JPEG noise from the bounding box
    rows, cols = np.nonzero(ink > 0.25 * ink.max())
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    digit = Image.fromarray(np.clip(crop * (255 / crop.max()), 0, 255).astype(np.uint8), "L")
    # match the stroke width at 4x the final size: cheap on big canvases, fine enough for 20 px
    digit = _match_stroke(_fit(digit, 80), MNIST_STROKE * 4)
    pixels = np.asarray(_fit(digit, 20), np.float32)
    mass = pixels.sum()
    com_y = (pixels.sum(1) * np.arange(pixels.shape[0])).sum() / mass
    com_x = (pixels.sum(0) * np.arange(pixels.shape[1])).sum() / mass
    top = int(np.clip(round(13.5 - com_y), 0, 28 - pixels.shape[0]))
    left = int(np.clip(round(13.5 - com_x), 0, 28 - pixels.shape[1]))
    out = np.zeros((28, 28), np.float32)
    out[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
    return np.clip(out * (255 / out.max()), 0, 255).round().astype(np.uint8)


def training_digits(cfg, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(digits (N, 1, 28, 28) in [-1, 1], labels) of a split for a training config (cfg.data)."""
    from ..config import project_path

    data = cfg.data
    images, labels = load_digits(data.source, project_path(data.path), split, data.synthetic_size, cfg.seed)
    return digit_batch(images), labels
