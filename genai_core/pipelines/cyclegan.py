"""Hair-colour translation with the CycleGAN generators: any photo in, converted and round-trip out.

The generators work at the training resolution (64x64). A larger photo is converted at that size
and only the *change* is enlarged and added to the photo (out = photo + up(G(x) - x)): the
generator leaves skin and background almost untouched, so their full-resolution detail survives,
while the hair takes the new colour.
"""

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..data.faces import HAIR_COLOURS, render_hair_twins
from ..metrics.image import l1, ssim
from ..models.cyclegan import build_cyclegan
from .base import Pipeline

MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding (PIL warns at ~89 M)
MAX_SIDE = 512  # photos are centre-cropped and resized to at most this side for the page


def load_photo(image, max_side: int = MAX_SIDE) -> torch.Tensor:
    """A PIL image, a path or an HxWx3 uint8 array -> (3, S, S) in [-1, 1], centre-cropped to a
    square of side S = min(shorter side, max_side), S a multiple of 4. ValueError for non-images."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB image array, got shape {image.shape} and type {image.dtype}")
        image = Image.fromarray(image)
    elif not isinstance(image, Image.Image):
        try:
            image = Image.open(image)  # reads the header only: the size is checked before decoding
        except Image.DecompressionBombError:
            raise ValueError("the image is too large: upload one under 40 megapixels") from None
        except (OSError, ValueError):  # PIL's UnidentifiedImageError is an OSError
            raise ValueError("this file is not an image that can be read: use PNG, JPEG or WebP") from None
    if image.width * image.height > MAX_PIXELS:
        raise ValueError(f"the image is too large ({image.width}x{image.height}): "
                         f"upload one under {MAX_PIXELS // 1_000_000} megapixels")  # fmt: skip
    if min(image.size) < 16:
        raise ValueError(f"the image is too small ({image.width}x{image.height}); 16x16 is the minimum")
    try:
        rgb = image.convert("RGB")  # decodes the pixels
    except (OSError, ValueError):
        raise ValueError("the image file is damaged or truncated and cannot be decoded") from None
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    out = max(16, min(side, max_side) // 4 * 4)
    rgb = rgb.crop((left, top, left + side, top + side)).resize((out, out), Image.LANCZOS)
    return torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1).float() / 127.5 - 1


class HairTranslatorPipeline(Pipeline):
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


def translation_metrics(pipeline: HairTranslatorPipeline, referee, n: int, seed: int) -> dict[str, float]:
    """For each direction, on n held-out faces drawn with source hair (and their target-hair twins):
    the share the referee reads as the target colour, L1 and SSIM outside the hair (identity), L1 to
    the twin (the ideal output) and the round trip's L1 to the input. `quality` = mean over the
    directions of success x SSIM outside hair (the keep-best metric)."""
    size = int(pipeline.cfg.model.size)
    metrics, quality = {}, []
    for i, (direction, _) in enumerate(pipeline.directions.items()):
        source, target = (part.strip() for part in direction.split("->"))
        images, twins, hair = render_hair_twins(n, seed + i, size, source, target)
        converted, round_trip = pipeline.translate(images, direction)
        verdict = referee.predict(converted)["hair_colour"]
        key = f"{source}_to_{target}"
        keep = ~hair
        metrics[f"success_{key}"] = float((verdict == HAIR_COLOURS.index(target)).mean())
        metrics[f"l1_outside_hair_{key}"] = l1(converted, images, keep).mean().item()
        metrics[f"ssim_outside_hair_{key}"] = ssim(converted, images, keep).mean().item()
        metrics[f"l1_to_twin_{key}"] = l1(converted, twins).mean().item()
        metrics[f"l1_round_trip_{key}"] = l1(round_trip, images).mean().item()
        quality.append(metrics[f"success_{key}"] * metrics[f"ssim_outside_hair_{key}"])
    metrics["quality"] = sum(quality) / len(quality)
    return metrics
