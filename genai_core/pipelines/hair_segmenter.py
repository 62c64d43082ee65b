"""Where the hair is, in a face framed like the training photos (the hair-colour tab's gate)."""

import torch
import torch.nn.functional as F

from ..models.hair_segmenter import build_hair_segmenter
from .base import Pipeline


class HairSegmenterPipeline(Pipeline):
    build = staticmethod(build_hair_segmenter)
    shipped = ("segmenter",)

    @torch.no_grad()
    def hair(self, images: torch.Tensor) -> torch.Tensor:
        """images (N, 3, H, W) in [-1, 1], any size -> hair probability (N, 1, H, W): segmented at the
        model's size and resized back."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"the hair segmenter takes (N, 3, H, W) RGB images, got {tuple(images.shape)}")
        size, (h, w) = int(self.cfg.model.size), images.shape[-2:]
        x = images.float()
        if (h, w) != (size, size):
            x = F.interpolate(x, size=(size, size), mode="area" if h > size else "bilinear")
        probability = torch.sigmoid(self.segmenter(x))
        if (h, w) != (size, size):
            probability = F.interpolate(probability, size=(h, w), mode="bilinear", align_corners=False)
        return probability
