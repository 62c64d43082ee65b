"""Hair masks for labelled photos: Celeb1k's are drawn by people (read from its tar); any other photo's
come from the face-parsing network (genai_core.metrics.face_parser, a development dependency), computed
once and cached under runs/hair_mask_cache/ keyed by the photos they belong to."""

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..images import to_model_range
from .archive import decode_square, read_images
from .real_faces import CELEB1K_TABLE, CELEB1K_TAR, LabelledPhotos, _table

CACHE_DIR = Path(__file__).resolve().parents[2] / "runs" / "hair_mask_cache"
PARSE_CHUNK = 64  # photos parsed between cache writes: a stopped run keeps what it parsed
MIN_HAIR_SHARE = 0.02  # of a photo: less hair than this (bald, cropped) shows no colour of its own


def drawn_masks(folder, photos: LabelledPhotos, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(masks (N, 1, size, size) float 0/1, has_mask (N,) bool): Celeb1k's drawn masks where a photo
    has one."""
    masks = torch.zeros(len(photos), 1, size, size)
    has = torch.zeros(len(photos), dtype=torch.bool)
    pairs = enumerate(zip(photos.files, photos.sources, strict=True))
    wanted = {i: file for i, (file, source) in pairs if source == "celeb1k"}
    if not wanted:
        return masks, has
    mask_of = {r["file"]: r["mask"] for r in _table(Path(folder) / CELEB1K_TABLE)}
    names = {mask_of[f] for f in wanted.values()}
    found = {name: data for name, data in read_images(Path(folder) / CELEB1K_TAR) if name in names}
    for i, file in wanted.items():
        data = found.get(mask_of[file])
        if data is None:
            raise ValueError(f"{CELEB1K_TAR} lacks the hair mask {mask_of[file]} its table lists")
        masks[i, 0] = (decode_square(data, size)[0].float() > 127).float()
        has[i] = True
    return masks, has


def parsed_masks(photos: LabelledPhotos, size: int) -> torch.Tensor:
    """(N, 1, size, size) float 0/1: the parser's hair pixels of every photo (cached)."""
    from ..metrics.face_parser import hair_masks  # development dependency: imported only when asked

    key = hashlib.sha1("\n".join(photos.files).encode()).hexdigest()[:16]
    path = CACHE_DIR / f"{key}_{photos.images.shape[-1]}.npz"
    done = np.zeros((0, *photos.images.shape[-2:]), dtype=bool)
    if path.is_file():
        with np.load(path) as cached:
            done = cached["masks"]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    while len(done) < len(photos):
        chunk = to_model_range(photos.images[len(done) : len(done) + PARSE_CHUNK])
        done = np.concatenate([done, hair_masks(chunk)[:, 0].numpy()])
        np.savez_compressed(path.with_suffix(".tmp.npz"), masks=done)
        path.with_suffix(".tmp.npz").replace(path)
    masks = torch.from_numpy(done[: len(photos)]).float()[:, None]
    return (F.interpolate(masks, size=(size, size), mode="area") > 0.5).float()


def hair_masks_for(folder, photos: LabelledPhotos, size: int, parse_others: bool):
    """(masks, has_mask): drawn masks where they exist; the parser's elsewhere if parse_others."""
    masks, has = drawn_masks(folder, photos, size)
    if parse_others and not has.all():
        others = (~has).nonzero().flatten()
        parsed = parsed_masks(photos.select(~has), size)
        masks[others], has[others] = parsed, True
    return masks, has
