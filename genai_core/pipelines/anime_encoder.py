"""The anime-face encoder: 128 features per 64x64 face, the feature space of FD-anime."""

import numpy as np
import torch

from ..metrics.frechet import frechet_distance
from ..models.anime_encoder import build_anime_encoder
from .base import Pipeline


class AnimeEncoderPipeline(Pipeline):
    """The autoencoder's encoder: 128 features per 64x64 face."""

    build = staticmethod(build_anime_encoder)
    shipped = ("encoder",)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """images (N, 3, 64, 64) in [-1, 1] -> (N, feature_dim) float32."""
        return torch.cat([self.encoder(c.float()) for c in images.split(500)]).numpy()

    def frechet(self, images: torch.Tensor, real_features: np.ndarray) -> float:
        return frechet_distance(self.features(images), real_features)



