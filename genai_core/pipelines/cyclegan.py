"""Hair-colour translation with the CycleGAN generators: any photo in, converted and round-trip out.

The generators work at the training resolution (64x64). A photo's face is framed like the training
photos (genai_core.data.photos), converted at that size, and only the *change* is enlarged and
added back into the full photo (out = photo + up(G(x) - x)) with a feathered edge: the generator's
attention mask leaves skin and background untouched, so their full-resolution detail survives,
while the hair takes the new colour over its own texture.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..data.faces import HAIR_COLOURS, render_batch
from ..data.photos import FramedFace, paste_change
from ..images import image_grid
from ..models.cyclegan import build_cyclegan
from .base import Pipeline


@dataclass
class PhotoConversion:
    converted: torch.Tensor  # (3, H, W) in [-1, 1]: the whole photo with the face's hair changed
    round_trip: torch.Tensor  # (3, H, W): converted back
    faces: torch.Tensor  # (3, 3, s, s): the framed face at the model's size, converted, round trip
    mask: torch.Tensor | None  # (1, s, s) in [0, 1]: where the generator changed the face (attention)


class CycleGANPipeline(Pipeline):
    build = staticmethod(build_cyclegan)
    shipped = ("g_ab", "g_ba")

    @property
    def directions(self) -> dict[str, tuple[str, str]]:
        """'blond -> black' -> (forward generator, backward generator)."""
        a, b = self.cfg.model.domain_a, self.cfg.model.domain_b
        return {f"{a} -> {b}": ("g_ab", "g_ba"), f"{b} -> {a}": ("g_ba", "g_ab")}

    def generators(self, direction: str):
        if direction not in self.directions:
            raise ValueError(f"unknown direction {direction!r}; choose one of: {', '.join(self.directions)}")
        forward, backward = self.directions[direction]
        return getattr(self, forward), getattr(self, backward)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (N, 3, size, size) at the model's size -> (converted, round trip)."""
        forward, backward = self.generators(direction)
        converted = forward(images)
        return converted, backward(converted)

    @torch.no_grad()
    def convert(self, photo: torch.Tensor, direction: str, strength: float = 1.0):
        """photo (3, S, S) in [-1, 1] -> (converted, round trip), both (3, S, S); strength in [0, 1]
        blends the photo (0) with the full conversion (1)."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        size = int(self.cfg.model.size)
        side = photo.shape[-1]
        small = F.interpolate(photo[None], size=(size, size), mode="area") if side != size else photo[None]
        converted, round_trip = self.translate(small, direction)

        def enlarge(change):
            if side == size:
                return change
            return F.interpolate(change, size=(side, side), mode="bicubic", align_corners=False)

        change = enlarge(converted - small)
        out = (photo[None] + strength * change).clamp(-1, 1)
        back = (out + enlarge(round_trip - converted) * strength).clamp(-1, 1)
        return out[0], back[0]

    @torch.no_grad()
    def convert_framed(self, framed: FramedFace, direction: str, strength: float = 1.0) -> PhotoConversion:
        """A framed face (genai_core.data.photos.frame_face at the model's size) -> the whole photo with
        the change pasted back; strength in [0, 1] scales the change."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        forward, backward = self.generators(direction)
        face = framed.face[None]
        converted, mask = forward.forward_with_mask(face)
        converted = face + strength * (converted - face)
        round_trip = backward(converted)
        return PhotoConversion(
            converted=paste_change(framed, (converted - face)[0]),
            round_trip=paste_change(framed, (round_trip - face)[0]),
            faces=torch.cat([face, converted, round_trip]),
            mask=None if mask is None else mask[0],
        )

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """n procedural faces with domain A's hair (top row), converted to B (middle) and back (bottom)."""
        hair = float(HAIR_COLOURS.index(self.cfg.model.domain_a))
        size = int(self.cfg.model.size)
        faces, _ = render_batch(n, seed, size, hair_colour=hair)
        converted, round_trip = self.translate(faces, next(iter(self.directions)))
        return image_grid(torch.cat([faces, converted, round_trip]), nrow=n)
