"""VAE training on faces (book ch. 7): the project's labelled procedural faces, or unlabelled photos
(real_faces_128.tar) with augmentation, which the small set needs."""

import torch
import torch.nn.functional as F

from ..config import project_path
from ..data.faces import load_face_photos, load_labelled_faces
from ..images import image_grid, to_model_range
from ..metrics.vae import arithmetic_metrics, vae_metrics
from ..models.vae import build_vae, kl_divergence
from ..pipelines.face_referee import FaceRefereePipeline
from ..pipelines.vae import FaceVAEPipeline
from .task import EpochSampler, Task

SAMPLE_SEED = 1234


def _images(cfg, split: str) -> torch.Tensor:
    """uint8 (N, 3, S, S): S = model.size for procedural faces, data.load_size for photos (the
    augmentation crops and resizes them to model.size)."""
    data = cfg.data
    if data.source == "procedural":
        return load_labelled_faces(data, int(cfg.model.size), split, cfg.seed)[0]
    if data.source == "tar":
        return load_face_photos(project_path(data.path), int(data.load_size), split, int(data.holdout))
    raise ValueError(f"unknown data.source {data.source!r} (procedural or tar)")


def augment(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Random flip, zoom (scale 0.85-1) with shift, slight rotation and colour jitter, resampled to
    size x size in one affine warp. x in [-1, 1]."""
    n = len(x)
    r = lambda lo, hi: torch.empty(n).uniform_(lo, hi, generator=generator)  # noqa: E731
    scale, angle = r(0.85, 1.0), r(-0.08, 0.08)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    shift_x, shift_y = (1 - scale) * r(-1, 1), (1 - scale) * r(-1, 1)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift_x], 1), torch.stack([sin * flip, cos, shift_y], 1)], 1
    )
    grid = F.affine_grid(theta, (n, 3, size, size), align_corners=False)
    # sample from an area-averaged copy near the target size: bilinear from 128 px would alias
    source = x
    if x.shape[-1] > size:
        source = F.interpolate(x, scale_factor=size / x.shape[-1] * 1.25, mode="area")
    out = F.grid_sample(source, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    brightness, contrast = r(-0.1, 0.1)[:, None, None, None], r(0.85, 1.15)[:, None, None, None]
    mean = out.mean((1, 2, 3), keepdim=True)
    return ((out - mean) * contrast + mean + brightness).clamp(-1, 1)


class FaceVAETask(Task):
    """Reconstruction (sum of squared errors per image) + kl_weight x KL; keeps the checkpoint with
    the lowest held-out negative ELBO, the quantity being trained (PSNR alone would reward a model
    that ignores the prior)."""

    best_metric = "elbo_loss"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.size = int(cfg.model.size)
        self.images = _images(cfg, "train")
        self.eval_images = self._fit(to_model_range(_images(cfg, "eval")[: int(cfg.eval.samples)]))
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.vae = build_vae(cfg.model)["vae"].to(device)
        self.modules = {"vae": self.vae}
        self.optimizers = {"vae": torch.optim.Adam(self.vae.parameters(), lr=cfg.lr)}
        self.kl_weight = float(cfg.kl_weight)
        fixed = torch.Generator().manual_seed(SAMPLE_SEED)
        self.fixed_z = torch.randn(8, cfg.model.latent_dim, generator=fixed)

    def steps_per_epoch(self):
        return len(self.sampler)

    def _fit(self, x: torch.Tensor) -> torch.Tensor:
        return x if x.shape[-1] == self.size else F.interpolate(x, size=(self.size, self.size), mode="area")

    def _kl_scale(self, step: int) -> float:
        """Optional warm-up of the KL weight over kl_warmup steps (0 = the full weight at once)."""
        warmup = int(self.cfg.kl_warmup)
        return 1.0 if warmup <= 0 else min(1.0, (step + 1) / warmup)

    def train_step(self, step):
        x = to_model_range(self.images[self.sampler.indices(step)])
        if self.cfg.augment:
            gen = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + step)
            x = augment(x, self.size, gen)
        else:
            x = self._fit(x)
        x = x.to(self.device)
        recon, mu, logvar = self.vae(x)
        loss_recon = (recon - x).pow(2).flatten(1).sum(1).mean()
        loss_kl = kl_divergence(mu, logvar).mean()
        loss = loss_recon + self.kl_weight * self._kl_scale(step) * loss_kl
        optimizer = self.optimizers["vae"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), "recon": loss_recon.item(), "kl": loss_kl.item()}

    def evaluate(self):
        pipeline = FaceVAEPipeline.wrapping(self.cfg, {"vae": self.vae})
        metrics = vae_metrics(pipeline, self.eval_images.to(self.device), self.kl_weight)
        referee = self.referee(FaceRefereePipeline)
        if self.cfg.data.source == "procedural" and referee is not None:
            metrics |= arithmetic_metrics(pipeline, referee, seeds=range(4), n=256)
        return metrics

    def sample_grid(self):
        """Held-out faces, their reconstructions, and faces from 8 fixed prior samples."""
        x = self.eval_images[:8].to(self.device)
        mu, _ = self.vae.encode(x)
        rows = [x, self.vae.decode(mu), self.vae.decode(self.fixed_z.to(self.device))]
        return image_grid(torch.cat(rows).cpu(), nrow=8)
