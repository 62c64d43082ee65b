"""Image files read in place from a .tar archive (no extraction) or from a folder tree."""

import io
import tarfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def read_images(path) -> list[tuple[str, bytes]]:
    """(path inside the archive or folder, encoded bytes) of every image, sorted by that path, so the
    order (and every split made from it) is the same on every machine."""
    path = Path(path) if path else None
    if path is None or not path.exists():
        raise FileNotFoundError(f"image archive or folder not found: {path}")
    if path.is_file():
        with tarfile.open(path) as archive:
            images = lambda m: m.isfile() and m.name.lower().endswith(IMAGE_SUFFIXES)  # noqa: E731
            members = [m for m in archive.getmembers() if images(m)]
            members.sort(key=lambda m: m.name)
            named = [(m.name, archive.extractfile(m).read()) for m in members]
    else:
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        named = [(str(p.relative_to(path)), p.read_bytes()) for p in files]
    if not named:
        raise FileNotFoundError(f"no images in {path}")
    return named


def center_square(image: Image.Image) -> Image.Image:
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side))


def decode_square(data, size: int, resample=Image.BICUBIC) -> torch.Tensor:
    """Encoded image bytes (or a path) -> uint8 (3, size, size), centre-cropped to a square first."""
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as image:
        image = image.convert("RGB")
        if image.size != (size, size):
            image = center_square(image).resize((size, size), resample)
        return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1)
