"""Anime faces from the DCGAN: seeded grids, single faces, slerp walks with truncation."""

import numpy as np
import torch

from ..images import image_grid
from ..latents import latent, slerp
from ..models.dcgan import build_dcgan
from .base import Pipeline

MAX_FACES = 64
MAX_FRAMES = 120


def check_truncation(truncation: float) -> float:
    truncation = float(truncation)
    if not 0.0 < truncation <= 1.5:
        raise ValueError(f"truncation must be in (0, 1.5], got {truncation}")
    return truncation


class DCGANPipeline(Pipeline):
    """Face i of a grid comes from latent(seed + i) * truncation, so any face can be regenerated
    alone, by its seed, in the grid, the walk and the CLI.

    Truncation scales the latent towards the origin (the mean of the prior): 1.0 samples the
    distribution the generator was trained on; smaller values give more typical, cleaner faces
    with less variety. Scaling (rather than resampling out-of-range components, BigGAN's
    truncated normal) keeps a seed's face recognisable as the slider moves.
    """

    allows_bf16 = True  # its change from fp32 is invisible (measured in weights/dcgan/card.md)

    build = staticmethod(build_dcgan)
    shipped = ("generator",)

    @property
    def latent_dim(self) -> int:
        return self.generator.latent_dim

    def latents(self, seed: int, n: int = 1, truncation: float = 1.0) -> torch.Tensor:
        if not 1 <= n <= MAX_FACES:
            raise ValueError(f"number of faces must be from 1 to {MAX_FACES}, got {n}")
        truncation = check_truncation(truncation)
        return torch.stack([latent(seed + i, self.latent_dim) for i in range(n)]) * truncation

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> (N, 3, 64, 64) in [-1, 1]; eval-mode BatchNorm, so each face
        depends on its own latent only, never on the rest of the batch."""
        with self.autocast():
            return self.generator(z).float().clamp(-1, 1)

    def grid(self, n: int, seed: int, truncation: float = 1.0, nrow: int | None = None) -> np.ndarray:
        return image_grid(self.images(self.latents(seed, n, truncation)), nrow=nrow)

    def face(self, seed: int, truncation: float = 1.0) -> np.ndarray:
        return image_grid(self.images(self.latents(seed, 1, truncation)), padding=0)

    def walk(self, seed_a: int, seed_b: int, frames: int, truncation: float = 1.0) -> list[np.ndarray]:
        """Slerp from seed_a's face to seed_b's (both ends included), each frame 64x64x3 uint8.
        Truncation is applied after the slerp, so the end frames equal the grid's faces."""
        if not 2 <= frames <= MAX_FRAMES:
            raise ValueError(f"frames must be from 2 to {MAX_FRAMES}, got {frames}")
        truncation = check_truncation(truncation)
        a, b = latent(seed_a, self.latent_dim), latent(seed_b, self.latent_dim)
        z = torch.stack([slerp(a, b, t) for t in np.linspace(0, 1, frames)]) * truncation
        return [image_grid(image[None], padding=0) for image in self.images(z)]

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return self.grid(n, seed)
