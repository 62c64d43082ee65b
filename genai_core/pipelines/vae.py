"""The face VAE: prior samples, encode/reconstruct, interpolation, and latent arithmetic on the means
of q(z | x) (mu) of labelled faces, as the book does it, never on sampled z."""

import numpy as np
import torch

from ..data.faces import GROUPS, PRESETS, labels_of, render_batch
from ..data.real_faces import PRESETS as REAL_PRESETS
from ..images import image_grid, resize_square
from ..models.vae import build_vae
from .base import Pipeline

MAX_BATCH = 256


class FaceVAEPipeline(Pipeline):
    build = staticmethod(build_vae)
    shipped = ("vae", "group_means")

    @property
    def size(self) -> int:
        return int(self.cfg.model.size)

    def fit(self, images: torch.Tensor) -> torch.Tensor:
        """Any square size -> the model's size."""
        return resize_square(images, self.size)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) in [-1, 1] -> mu (N, latent_dim): the code of each face."""
        return torch.cat([self.vae.encode(self.fit(c))[0] for c in images.split(MAX_BATCH)])

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.vae.decode(c) for c in z.split(MAX_BATCH)])

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))

    def prior_codes(self, n: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
        """n codes z ~ N(0, temperature^2 I), deterministic from seed."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.vae.latent_dim, generator=gen) * temperature

    def prior(self, n: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
        """n faces decoded from prior samples."""
        return self.decode(self.prior_codes(n, seed, temperature))

    def interpolate(self, z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
        """`steps` decodings along the straight line from code z_a to code z_b (both included)."""
        t = torch.linspace(0, 1, steps)[:, None]
        return self.decode((1 - t) * z_a + t * z_b)

    # -------------------------------------------------------- latent arithmetic
    def labelled_codes(self, n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """mu of n procedural faces and their exact labels. Only for a VAE trained on that source: a
        VAE of real photos has never seen a drawn face, and the photos carry no labels."""
        if self.cfg.data.source != "procedural":
            raise ValueError("latent arithmetic needs labelled faces: this VAE was trained on unlabelled "
                             "photos, so use the VAE of the project's labelled faces")
        images, attributes = render_batch(n, seed, self.size)
        return self.encode(images), labels_of(attributes)

    @property
    def real(self) -> bool:
        """A VAE of labelled photos: it ships its groups' mean codes (and has other presets)."""
        return bool(self.cfg.model.groups)

    @property
    def presets(self) -> dict[str, tuple[str, str, str, str]]:
        return REAL_PRESETS if self.real else PRESETS

    def mean_codes(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """group -> mean mu: shipped (photos), or over n labelled procedural faces drawn from seed."""
        if self.real:
            return dict(zip(self.cfg.model.groups, self.group_means.means, strict=True))
        return self.memo(("mean_codes", n, seed), lambda: self._drawn_group_means(n, seed))

    def _drawn_group_means(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        mu, labels = self.labelled_codes(n, seed)
        means = {}
        for name, (glasses, male) in GROUPS.items():
            member = (labels["eyeglasses"] == glasses) & (labels["male"] == male)
            if member.any():
                means[name] = mu[member].mean(0)
        return means

    def arithmetic(self, preset: str, seed: int, n: int = 512) -> tuple[torch.Tensor, str]:
        """Decodings of mean(a), mean(b), mean(c) and mean(a) - mean(b) + mean(c); the intended group.
        (seed and n choose the procedural faces; a VAE of photos uses its shipped means.)"""
        if preset not in self.presets:
            raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(self.presets)}")
        *terms, intended = self.presets[preset]
        means = self.mean_codes(n, seed)
        a, b, c = (means[t] for t in terms)
        return self.decode(torch.stack([a, b, c, a - b + c])), intended

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return image_grid(self.prior(n, seed), nrow=min(n, 8))


