"""The code prior's measure of its free draws: do they decode to scenes of the world?"""

import torch

from ..data.shapes import read_blobs


def reads_as_scene(image: torch.Tensor) -> bool:
    """Whether the world's checker reads an image as some scene of the world: a background and one
    or two objects of different colours (no stray blobs)."""
    _, blobs = read_blobs(image)
    return 1 <= len(blobs) <= 2 and len({b["colour"] for b in blobs}) == len(blobs)
