"""Anime faces (64x64 RGB) from the shared tar file or a folder of images, and procedural faces the
project draws itself (for tests and for anyone without the real data).

Images are held as one uint8 tensor (N, 3, 64, 64): 20k faces take 245 MB, so the whole set stays in
memory and a batch is an index. Files are sorted by name before the split, so the held-out set (the
last `holdout` images) is the same on every machine whatever order the archive lists them in.
"""

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from .archive import decode_square, read_images

SIZE = 64


def load_faces(source: str, path=None, split="train", holdout: int = 2000, n: int = 512, seed: int = 0):
    """uint8 tensor (N, 3, 64, 64) of the `split` ("train", "eval" or "all") of a source.

    source: "tar" (a .tar of JPEGs, e.g. anime_faces_64.tar), "folder" (images anywhere under a
    folder, e.g. Kaggle's animefacedataset/images) or "synthetic" (n procedural faces).
    """
    if source == "tar":
        images = load_tar(path)
    elif source == "folder":
        images = load_folder(path)
    elif source == "synthetic":
        images = synthetic_faces(n, seed)
    else:
        raise ValueError(f"unknown face source {source!r} (tar, folder or synthetic)")
    return split_faces(images, split, holdout)


def split_faces(images: torch.Tensor, split: str, holdout: int) -> torch.Tensor:
    if split == "all":
        return images
    if not 0 <= holdout < len(images):
        raise ValueError(f"data.holdout={holdout} must leave training images (the set has {len(images)})")
    if split == "train":
        return images[: len(images) - holdout]
    if split == "eval":
        return images[len(images) - holdout :]
    raise ValueError(f"unknown split {split!r} (train, eval or all)")


def load_tar(path) -> torch.Tensor:
    """Every image in a tar archive, read in place (no extraction), sorted by member name."""
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(f"face archive not found: {path}")
    return _decoded(read_images(path))


def load_folder(path) -> torch.Tensor:
    """Every image under a folder (any depth), sorted by relative path."""
    if path is None or not Path(path).is_dir():
        raise FileNotFoundError(f"face folder not found: {path}")
    return _decoded(read_images(path))


def _decoded(named: list[tuple[str, bytes]]) -> torch.Tensor:
    return torch.stack([decode_square(data, SIZE) for _, data in named]).contiguous()


def synthetic_faces(n: int, seed: int = 0) -> torch.Tensor:
    """n cartoon faces: coloured background, skin oval, hair cap with fringe, two big eyes, mouth.

    They vary in colour, size and position, so a tiny GAN has something to learn and the tests
    never need the real data.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    for index in range(n):
        colour = lambda low=0, high=256: tuple(int(v) for v in rng.integers(low, high, 3))  # noqa: B023
        canvas = Image.new("RGB", (SIZE, SIZE), colour(120, 256))
        draw = ImageDraw.Draw(canvas)
        cx, cy = SIZE / 2 + rng.uniform(-4, 4), SIZE / 2 + rng.uniform(0, 6)
        rx, ry = rng.uniform(16, 22), rng.uniform(18, 24)
        hair = colour()
        draw.ellipse((cx - rx - 4, cy - ry - 6, cx + rx + 4, cy + ry - 4), fill=hair)
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=colour(200, 256))
        draw.rectangle((cx - rx, cy - ry - 2, cx + rx, cy - ry * 0.35), fill=hair)  # fringe
        eye, gap, eye_y = rng.uniform(4, 7), rng.uniform(7, 11), cy + rng.uniform(-2, 3)
        iris = colour()
        for side in (-1, 1):
            ex = cx + side * gap
            draw.ellipse((ex - eye, eye_y - eye * 1.3, ex + eye, eye_y + eye * 1.3), fill=(255, 255, 255))
            draw.ellipse((ex - eye * 0.7, eye_y - eye, ex + eye * 0.7, eye_y + eye), fill=iris)
        mouth_y = cy + ry * 0.6
        draw.line((cx - 3, mouth_y, cx + 3, mouth_y), fill=(150, 40, 60), width=2)
        out[index] = np.asarray(canvas)
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def training_faces(cfg, split: str) -> torch.Tensor:
    """uint8 faces (N, 3, 64, 64) of a split for a training config (cfg.data)."""
    from ..config import project_path

    data = cfg.data
    path = project_path(data.path)
    return load_faces(data.source, path, split, data.holdout, data.synthetic_size, cfg.seed)
