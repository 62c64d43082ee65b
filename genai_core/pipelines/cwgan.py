"""Faces from the conditional WGAN-GP (book ch. 5): the glasses label slider, latent interpolation,
the label x latent grid and attribute-vector arithmetic."""

import numpy as np
import torch

from ..data.faces import GROUPS, PRESETS
from ..images import image_grid, resize_square
from ..latents import latent, slerp
from ..models.cwgan import build_cwgan
from .base import Pipeline

MAX_BATCH = 512


def label_tensor(labels: dict[str, torch.Tensor], names) -> torch.Tensor:
    """{name: (N,) tensor} -> (N, len(names)) float tensor in the order the model was trained with."""
    return torch.stack([labels[name].float() for name in names], dim=1)


# ---------------------------------------------------------------- the conditional WGAN-GP


class CWGANPipeline(Pipeline):
    build = staticmethod(build_cwgan)
    shipped = ("generator",)

    @property
    def label_names(self) -> list[str]:
        return list(self.cfg.model.labels)

    def labels(self, n: int, eyeglasses: float, male: float = 0.0) -> torch.Tensor:
        values = {"eyeglasses": float(eyeglasses), "male": float(male)}
        return torch.tensor([[values[k] for k in self.label_names]]).expand(n, -1)

    @torch.no_grad()
    def images(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [self.generator(a, b) for a, b in zip(z.split(MAX_BATCH), labels.split(MAX_BATCH), strict=True)]
        )

    def latent(self, seed: int) -> torch.Tensor:
        return latent(seed, self.generator.latent_dim)

    def face(self, seed: int, eyeglasses: float, male: float) -> torch.Tensor:
        return self.images(self.latent(seed)[None], self.labels(1, eyeglasses, male))

    def label_sweep(self, seed: int, male: float, steps: int) -> tuple[torch.Tensor, np.ndarray]:
        """One face, the glasses label from 0 to 1 (the book's w * no-glasses + (1 - w) * glasses)."""
        w = np.linspace(0, 1, steps)
        z = self.latent(seed)[None].expand(steps, -1)
        labels = torch.cat([self.labels(1, g, male) for g in w])
        return self.images(z, labels), w

    def interpolate(
        self, seed_a, seed_b, male_a, male_b, eyeglasses, steps
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Slerp between two seeds' latents while the male label moves linearly from male_a to male_b."""
        t = np.linspace(0, 1, steps)
        a, b = self.latent(seed_a), self.latent(seed_b)
        z = torch.stack([slerp(a, b, s) for s in t])
        labels = torch.cat([self.labels(1, eyeglasses, (1 - s) * male_a + s * male_b) for s in t])
        return self.images(z, labels), t

    def cross_grid(self, seed_a: int, seed_b: int, male_a: float, male_b: float, n: int = 6) -> torch.Tensor:
        """n x n: rows walk from seed_a (as male_a) to seed_b (as male_b), columns the glasses label 0->1."""
        a, b = self.latent(seed_a), self.latent(seed_b)
        rows = []
        for t in np.linspace(0, 1, n):
            z = slerp(a, b, t)[None].expand(n, -1)
            male = (1 - t) * male_a + t * male_b
            rows.append(self.images(z, torch.cat([self.labels(1, g, male) for g in np.linspace(0, 1, n)])))
        return torch.cat(rows)

    # -------------------------------------------------------- attribute-vector arithmetic
    def group_means(self, referee, seed: int, n: int = 512) -> dict[str, torch.Tensor]:
        """Draw n inputs [z, random labels], let the referee read the faces, average each group's input.

        The whole generator input is averaged (z and the label entries): that input is the latent
        vector of a conditional GAN. Groups the referee never saw in the draw are left out. Computed
        once per (referee, seed, n): drawing and judging 512 faces is most of an arithmetic request."""
        return self.memo(("group_means", id(referee), seed, n), lambda: self._group_means(referee, seed, n))

    def _group_means(self, referee, seed: int, n: int) -> dict[str, torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.generator.latent_dim, generator=gen)
        labels = (torch.rand(n, len(self.label_names), generator=gen) < 0.5).float()
        verdict = referee.predict(self.images(z, labels))
        inputs = torch.cat([z, labels], dim=1)
        means = {}
        for name, (glasses, male) in GROUPS.items():
            member = torch.from_numpy((verdict["eyeglasses"] == glasses) & (verdict["male"] == male))
            if member.any():
                means[name] = inputs[member].mean(0)
        return means

    def arithmetic(self, referee, preset: str, seed: int, n: int = 512):
        """(images of mean(a), mean(b), mean(c), result; the intended result's group name)."""
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}")
        *terms, intended = PRESETS[preset]
        means = self.group_means(referee, seed, n)
        missing = [t for t in terms if t not in means]
        if missing:
            raise ValueError(f"no generated face in this draw was read as {missing[0]!r}: try another seed")
        a, b, c = (means[t] for t in terms)
        inputs = torch.stack([a, b, c, a - b + c])
        dim = self.generator.latent_dim
        # A mean of ~100 Gaussian latents has norm ~0.7 instead of ~sqrt(dim): the generator never saw
        # such inputs and draws a grey average face. Rescale z back to the shell it was trained on, and
        # keep the label entries in the trained range [0, 1].
        z = inputs[:, :dim] * (dim**0.5 / inputs[:, :dim].norm(dim=1, keepdim=True).clamp(min=1e-6))
        return self.images(z, inputs[:, dim:].clamp(0, 1)), intended

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """n faces from latent(seed + i), alternating without / with glasses."""
        z = torch.stack([self.latent(seed + i // 2) for i in range(n)])
        labels = torch.cat([self.labels(1, i % 2, (i // 2) % 2) for i in range(n)])
        return image_grid(resize_square(self.images(z, labels), 64), nrow=min(n, 8))


