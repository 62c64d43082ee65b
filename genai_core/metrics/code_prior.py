"""The code priors' measures: do the shapes prior's free draws decode to scenes of the world, and do
the faces prior's draws show what their prompts ask for (read by the real-face referee)?"""

import torch

from ..data import face_captions
from ..data.shapes import read_blobs


def reads_as_scene(image: torch.Tensor) -> bool:
    """Whether the world's checker reads an image as some scene of the world: a background and one
    or two objects of different colours (no stray blobs)."""
    _, blobs = read_blobs(image)
    return 1 <= len(blobs) <= 2 and len({b["colour"] for b in blobs}) == len(blobs)


def reads_as_asked(referee, images: torch.Tensor, specs: list[dict]) -> list[bool]:
    """Whether the referee reads every attribute each spec asks for in its image."""
    verdict = referee.predict(images)
    colours = referee.hair_colours
    out = []
    for i, spec in enumerate(specs):
        ok = True
        for key, value in spec.items():
            if key == "hair_colour":
                ok &= colours[int(verdict["hair_colour"][i])] == face_captions.HAIR[value]
            else:
                ok &= int(verdict[key][i]) == value
        out.append(bool(ok))
    return out
