"""Digits from the MLP GAN (thesis ch. 2): seeded grids and latent walks."""

import numpy as np
import torch

from ..images import image_grid
from ..latents import latent, slerp
from ..models.mlp_gan import build_mlp_gan
from .base import Pipeline


class MnistGANPipeline(Pipeline):
    build = staticmethod(build_mlp_gan)
    shipped = ("generator",)

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z).view(-1, 1, 28, 28)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return self.grid(n, seed)

    def items(self, n: int, seed: int) -> torch.Tensor:
        """n images (N, 1, 28, 28), image i from latent(seed + i): each can be regenerated alone."""
        return self.images(torch.stack([latent(seed + i, self.generator.latent_dim) for i in range(n)]))

    def grid(self, n: int, seed: int, nrow: int | None = None) -> np.ndarray:
        return image_grid(self.items(n, seed), nrow=nrow)

    def walk(self, seed_a: int, seed_b: int, frames: int) -> list[np.ndarray]:
        """Frames of a slerp walk from seed_a's digit to seed_b's, each HxWx3 uint8."""
        dim = self.generator.latent_dim
        a, b = latent(seed_a, dim), latent(seed_b, dim)
        z = torch.stack([slerp(a, b, t) for t in np.linspace(0, 1, frames)])
        return [image_grid(img[None], padding=0) for img in self.images(z)]


