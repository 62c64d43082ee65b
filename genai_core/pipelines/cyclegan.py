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
from ..images import TO_YCBCR, image_grid
from ..models.cyclegan import build_cyclegan, gate
from .base import Pipeline


@dataclass
class PhotoConversion:
    converted: torch.Tensor  # (3, H, W) in [-1, 1]: the whole photo with the face's hair changed
    round_trip: torch.Tensor  # (3, H, W): converted back
    faces: torch.Tensor  # (3, 3, s, s): the framed face at the model's size, converted, round trip
    mask: torch.Tensor | None  # (1, s, s) in [0, 1]: where the face may change (attention x hair gate)


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
    def translate_with_mask(self, images: torch.Tensor, direction: str, hair: torch.Tensor | None = None):
        """Images (N, 3, size, size) at the model's size -> (converted, round trip, where the face may
        change (N, 1, size, size) or None). hair (N, 1, size, size) in [0, 1], the hair segmenter's,
        keeps both changes to the hair (keep_to_hair)."""
        forward, backward = self.generators(direction)
        converted, mask = forward.forward_with_mask(images)
        converted = keep_to_hair(images, converted, hair)
        round_trip = keep_to_hair(converted, backward(converted), hair)
        hair = None if hair is None else hair_gate(hair)
        where = mask if hair is None else hair if mask is None else mask * hair
        return converted, round_trip, where

    def translate(self, images: torch.Tensor, direction: str, hair: torch.Tensor | None = None):
        """translate_with_mask without the mask: (converted, round trip)."""
        return self.translate_with_mask(images, direction, hair)[:2]

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
    def convert_framed(self, framed: FramedFace, direction: str, strength: float = 1.0,
                       hair: torch.Tensor | None = None) -> PhotoConversion:
        """A framed face (genai_core.data.photos.frame_face at the model's size) -> the whole photo with
        the change pasted back; strength in [0, 1] scales the change; hair (1, size, size) in [0, 1]
        (the hair segmenter's) keeps it to the hair."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        face = framed.face[None]
        hair = None if hair is None else hair[None]
        converted, round_trip, changed = self.translate_with_mask(face, direction, hair)
        if strength != 1.0:  # the round trip starts from the weakened conversion
            converted = face + strength * (converted - face)
            round_trip = keep_to_hair(converted, self.generators(direction)[1](converted), hair)
        return PhotoConversion(
            converted=paste_change(framed, (converted - face)[0]),
            round_trip=paste_change(framed, (round_trip - face)[0]),
            faces=torch.cat([face, converted, round_trip]),
            mask=None if changed is None else changed[0],
        )

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """n procedural faces with domain A's hair (top row), converted to B (middle) and back (bottom)."""
        hair = float(HAIR_COLOURS.index(self.cfg.model.domain_a))
        size = int(self.cfg.model.size)
        faces, _ = render_batch(n, seed, size, hair_colour=hair)
        converted, round_trip = self.translate(faces, next(iter(self.directions)))
        return image_grid(torch.cat([faces, converted, round_trip]), nrow=n)


COLOUR_SIGMA = 4.0  # Gaussian width in pixels at 64x64 (the trade-off: weights/cyclegan_real_hair/card.md)
# the segmenter's hair probability p becomes the gate ((p - floor) / (1 - floor))^power: its soft edge
# spills the change onto skin and background (chosen on the val people: the card)
GATE_FLOOR, GATE_POWER = 0.3, 2.0


def hair_gate(probability: torch.Tensor) -> torch.Tensor:
    """How much of the change each pixel keeps, from the hair segmenter's probability."""
    return ((probability - GATE_FLOOR) / (1 - GATE_FLOOR)).clamp(0, 1) ** GATE_POWER


def keep_to_hair(before: torch.Tensor, after: torch.Tensor, hair: torch.Tensor | None) -> torch.Tensor:
    """The change from before to after kept to the hair (the segmenter's probability, through
    hair_gate; None: after, unchanged), its colour averaged over the hair around each pixel and its
    brightness as drawn.

    The generators' changes carry green and purple specks (pixel-sized swings between the colour
    channels, worst where hair meets skin and where dark hair is lightened), which the photo's
    enlargement turns into blotches. Hair colour varies slowly across a head, and the strands'
    texture comes from the photo underneath."""
    if hair is None:
        return after
    hair = hair_gate(hair)
    sigma = COLOUR_SIGMA * before.shape[-1] / 64
    ycbcr = torch.einsum("ij,njhw->nihw", TO_YCBCR.to(before), after - before)
    near_hair = _blur(hair, sigma).clamp(min=1e-3)
    colour = _blur(ycbcr[:, 1:] * hair, sigma) / near_hair  # the face's zeros left out
    to_rgb = torch.linalg.inv(TO_YCBCR).to(before)
    change = torch.einsum("ij,njhw->nihw", to_rgb, torch.cat([ycbcr[:, :1], colour], 1))
    return gate(before, before + change, hair)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W), edges replicated."""
    radius = max(1, int(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    weights = torch.exp(-(offsets**2) / (2 * sigma**2))
    weights = (weights / weights.sum()).to(x.device)
    channels = x.shape[1]
    rows = weights.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
    x = F.conv2d(F.pad(x, [radius, radius, 0, 0], mode="replicate"), rows, groups=channels)
    return F.conv2d(F.pad(x, [0, 0, radius, radius], mode="replicate"), rows.transpose(2, 3), groups=channels)
