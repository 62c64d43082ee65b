"""The digit autoencoder (book ch. 7): reconstructions, and the 2-D map (PCA) of its codes."""

import functools
from dataclasses import dataclass

import numpy as np
import torch
from omegaconf import OmegaConf

from ..config import project_path
from ..data.mnist import digit_batch, load_npz, synthetic_digits
from ..images import image_grid
from ..models.mnist_autoencoder import build_mnist_autoencoder
from .base import Pipeline


class MnistAutoencoderPipeline(Pipeline):
    build = staticmethod(build_mnist_autoencoder)
    shipped = ("encoder", "decoder")

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1] -> codes (N, latent_dim); in chunks, so 10,000 digits fit."""
        device = next(self.encoder.parameters()).device
        return torch.cat([self.encoder(c.to(device)).cpu() for c in images.split(1000)])

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        device = next(self.decoder.parameters()).device
        return torch.cat([self.decoder(c.to(device)).cpu() for c in codes.split(1000)])

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))

    @functools.cached_property
    def test_set(self) -> tuple[torch.Tensor, torch.Tensor, str]:
        """(digits uint8 (N, 28, 28), labels, source) behind the map and the picker: the MNIST test
        split of the training config's npz file, else 2,000 procedural digits (no data file here)."""
        path = project_path(OmegaConf.select(self.cfg, "data.path"))
        if OmegaConf.select(self.cfg, "data.source") == "npz" and path and path.is_file():
            return (*load_npz(path, "test"), "MNIST test digits")
        return (*synthetic_digits(2000, seed=1), "procedural digits (no MNIST file found)")

    @functools.cached_property
    def latent_map(self) -> "LatentMap":
        """The 2-D map of the test set's codes, fitted once and kept."""
        digits, labels, _ = self.test_set
        return LatentMap.fit(self.encode(digit_batch(digits)), labels.numpy())

    def reconstruct_digits(self, digits: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """uint8 digits (N, 28, 28) -> (reconstructions in [-1, 1], their points on the map (N, 2))."""
        codes = self.encode(digit_batch(digits))
        return self.decode(codes), self.latent_map.project(codes)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """n test digits picked by seed (top row) over their reconstructions (bottom row)."""
        digits = self.test_set[0]
        pick = torch.randperm(len(digits), generator=torch.Generator().manual_seed(seed))[:n]
        images = digit_batch(digits[pick])
        return image_grid(torch.cat([images, self.reconstruct(images)]), nrow=len(pick))


@dataclass
class LatentMap:
    """Codes projected to 2-D: PCA fitted on the test set's codes, or the codes themselves when the
    latent space is already 2-D."""

    points: np.ndarray  # (N, 2) the fitted codes on the map
    labels: np.ndarray  # (N,)
    mean: torch.Tensor  # (D,)
    axes: torch.Tensor  # (D, 2)
    explained: tuple[float, float] | None  # variance share of each axis (PCA only)

    @classmethod
    def fit(cls, codes: torch.Tensor, labels: np.ndarray) -> "LatentMap":
        dim = codes.shape[1]
        if dim <= 2:
            mean, axes, explained = torch.zeros(dim), torch.eye(dim, 2), None
        else:
            mean = codes.mean(0)
            _, singular, vh = torch.linalg.svd(codes - mean, full_matrices=False)
            axes = vh[:2].T
            # an SVD's signs are arbitrary: fix them so the same codes always give the same picture
            axes = axes * torch.sign(axes[axes.abs().argmax(0), torch.arange(2)])
            share = singular**2 / (singular**2).sum()
            explained = (float(share[0]), float(share[1]))
        points = ((codes - mean) @ axes).numpy()
        return cls(points, labels, mean, axes, explained)

    def project(self, codes: torch.Tensor) -> np.ndarray:
        return ((codes - self.mean) @ self.axes).numpy()


