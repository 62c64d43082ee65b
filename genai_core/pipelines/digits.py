"""Digits: the referee classifier, FD-MNIST, and the MLP GAN's grid and latent walk."""

import numpy as np
import torch

from ..images import image_grid
from ..metrics.frechet import frechet_distance
from ..models.classifier import build_classifier
from ..models.gan_mlp import build_gan
from .base import Pipeline


class DigitReferee(Pipeline):
    build = staticmethod(build_classifier)
    shipped = ("classifier",)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """images (N, 1, 28, 28) in [-1, 1] -> penultimate features (N, 128)."""
        return torch.cat([self.classifier.features(c) for c in images.split(1000)]).numpy()

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> np.ndarray:
        return torch.cat([self.classifier(c).argmax(1) for c in images.split(1000)]).numpy()

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        raise ValueError("mnist_classifier is a classifier: it has nothing to sample")


def digit_gan_metrics(referee: DigitReferee, fake: torch.Tensor, real_features: np.ndarray) -> dict:
    """FD-MNIST, and how evenly the referee sees the ten classes among generated digits."""
    classes = referee.predict(fake)
    share = np.bincount(classes, minlength=10) / len(classes)
    nonzero = share[share > 0]
    return {
        "fd_mnist": frechet_distance(referee.features(fake), real_features),
        "class_evenness": float(-(nonzero * np.log(nonzero)).sum() / np.log(10)),
        "min_class_share": float(share.min()),
        "classes_covered": int((share >= 0.02).sum()),
    }


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: Gaussian latents live near a sphere, straight lines cut inside it."""
    cos = torch.clamp((a * b).sum() / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def latent(seed: int, dim: int) -> torch.Tensor:
    """The latent vector a seed names: one seed, one image, in every tab and the CLI."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed))


class DigitGANPipeline(Pipeline):
    build = staticmethod(build_gan)
    shipped = ("generator",)

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z).view(-1, 1, 28, 28)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return self.grid(n, seed)

    def grid(self, n: int, seed: int, nrow: int | None = None) -> np.ndarray:
        """n digits, image i from latent(seed + i): each cell can be regenerated alone."""
        z = torch.stack([latent(seed + i, self.generator.latent_dim) for i in range(n)])
        return image_grid(self.images(z), nrow=nrow)

    def walk(self, seed_a: int, seed_b: int, frames: int) -> list[np.ndarray]:
        """Frames of a slerp walk from seed_a's digit to seed_b's, each HxWx3 uint8."""
        dim = self.generator.latent_dim
        a, b = latent(seed_a, dim), latent(seed_b, dim)
        z = torch.stack([slerp(a, b, t) for t in np.linspace(0, 1, frames)])
        return [image_grid(img[None], padding=0) for img in self.images(z)]
