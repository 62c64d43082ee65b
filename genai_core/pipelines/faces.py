"""Faces with attributes: the referee (eyeglasses, hair colour, male) and the conditional WGAN-GP's
label slider, latent interpolation, label x latent grid and attribute-vector arithmetic."""

import numpy as np
import torch
import torch.nn.functional as F

from ..data.faces import HAIR_COLOURS
from ..images import image_grid
from ..models.cwgan import build_cwgan
from ..models.face_referee import build_referee
from .base import Pipeline
from .digits import latent, slerp

MAX_BATCH = 512


def label_tensor(labels: dict[str, torch.Tensor], names) -> torch.Tensor:
    """{name: (N,) tensor} -> (N, len(names)) float tensor in the order the model was trained with."""
    return torch.stack([labels[name].float() for name in names], dim=1)


class FaceRefereePipeline(Pipeline):
    """predict(images in [-1, 1], any size) -> {attribute: labels, attribute_prob(s): probabilities}."""

    build = staticmethod(build_referee)
    shipped = ("referee",)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = [self.referee(chunk.float()) for chunk in images.split(MAX_BATCH)]
        return {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        return torch.cat([self.referee.features(c.float()) for c in images.split(MAX_BATCH)]).numpy()

    def predict(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        """eyeglasses / male: 0-1 labels and *_prob; hair_colour: index into HAIR_COLOURS and
        hair_colour_probs (N, 4)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"the referee takes (N, 3, H, W) RGB images, got shape {tuple(images.shape)}")
        logits = self.logits(images)
        out = {}
        for key in ("eyeglasses", "male"):
            prob = torch.sigmoid(logits[key]).numpy()
            out[key], out[f"{key}_prob"] = (prob > 0.5).astype(np.int64), prob
        probs = torch.softmax(logits["hair_colour"], dim=1).numpy()
        out["hair_colour"], out["hair_colour_probs"] = probs.argmax(1), probs
        return out

    def captions(self, images: torch.Tensor) -> list[str]:
        """One line per image: the referee's verdict, e.g. 'glasses 0.98 · woman 0.91 · blond'."""
        p = self.predict(images)
        lines = []
        for i in range(len(images)):
            glasses = p["eyeglasses_prob"][i]
            male = p["male_prob"][i]
            lines.append(
                f"{'glasses' if glasses > 0.5 else 'no glasses'} {max(glasses, 1 - glasses):.2f} · "
                f"{'man' if male > 0.5 else 'woman'} {max(male, 1 - male):.2f} · "
                f"{HAIR_COLOURS[p['hair_colour'][i]]}"
            )
        return lines

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        raise ValueError("face_referee is a classifier: it has nothing to sample")


# ---------------------------------------------------------------- the conditional WGAN-GP

# (eyeglasses, male) of the groups used by the arithmetic presets
GROUPS = {
    "man with glasses": (1, 1),
    "man without glasses": (0, 1),
    "woman with glasses": (1, 0),
    "woman without glasses": (0, 0),
}
# preset: (a, b, c, intended result): result = mean(a) - mean(b) + mean(c)
PRESETS = {
    "man with glasses - man without glasses + woman without glasses": (
        "man with glasses", "man without glasses", "woman without glasses", "woman with glasses"),
    "woman with glasses - woman without glasses + man without glasses": (
        "woman with glasses", "woman without glasses", "man without glasses", "man with glasses"),
    "man with glasses - woman with glasses + woman without glasses": (
        "man with glasses", "woman with glasses", "woman without glasses", "man without glasses"),
    "woman without glasses - man without glasses + man with glasses": (
        "woman without glasses", "man without glasses", "man with glasses", "woman with glasses"),
}  # fmt: skip


class ConditionalFacePipeline(Pipeline):
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
    def group_means(self, referee: FaceRefereePipeline, seed: int, n: int = 512) -> dict[str, torch.Tensor]:
        """Draw n inputs [z, random labels], let the referee read the faces, average each group's input.

        The whole generator input is averaged (z and the label entries): that input is the latent
        vector of a conditional GAN. Groups the referee never saw in the draw are left out."""
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
        return image_grid(upsample(self.images(z, labels), 64), nrow=min(n, 8))


def upsample(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bicubic enlargement for display (the model works at a small resolution the CPU affords)."""
    if images.shape[-1] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)


def cwgan_metrics(
    generator, referee: FaceRefereePipeline, label_names, n: int, seed: int
) -> dict[str, float]:
    """Controllability: the share of faces whose referee verdict matches the requested label(s)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.latent_dim, generator=gen)
    labels = (torch.rand(n, len(label_names), generator=gen) < 0.5).float()
    with torch.no_grad():
        fake = torch.cat(
            [generator(a, b) for a, b in zip(z.split(MAX_BATCH), labels.split(MAX_BATCH), strict=True)]
        )
    verdict = referee.predict(fake)
    metrics, all_match = {}, np.ones(n, dtype=bool)
    for i, name in enumerate(label_names):
        match = verdict[name] == labels[:, i].numpy().astype(np.int64)
        metrics[f"control_{name}"] = float(match.mean())
        all_match &= match
    metrics["control_all"] = float(all_match.mean())
    return metrics
