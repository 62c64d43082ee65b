"""VAE training on faces (book ch. 7): the project's labelled procedural faces, unlabelled photos
(data.source: tar) or labelled real photos (data.source: real: LFW, Celeb1k, real_faces_128), the
photos with augmentation. A VAE of labelled photos ships the mean code of each group its arithmetic
presets name (model.groups), computed from the training photos at each export."""

import torch
import torch.nn.functional as F

from ..config import ConfigError, project_path
from ..data.faces import eye_band, load_face_photos, load_labelled_faces
from ..data.real_faces import group_members, load_labelled_photos
from ..images import image_grid, to_model_range
from ..metrics.vae import arithmetic_metrics, real_arithmetic_metrics, vae_metrics
from ..models.cyclegan import PatchDiscriminator
from ..models.vae import build_vae, kl_divergence
from ..pipelines.face_referee import FaceRefereePipeline
from ..pipelines.vae import FaceVAEPipeline
from .augment import augment
from .cyclegan import lsgan_loss
from .task import EpochSampler, Task

SAMPLE_SEED = 1234


def _images(cfg, split: str) -> tuple[torch.Tensor, dict | None]:
    """(uint8 (N, 3, S, S), labels or None): S = model.size for procedural faces, data.load_size for
    photos (the augmentation crops and resizes them to model.size). split: train or eval (real photos:
    the val people; the test people are left for the card)."""
    data = cfg.data
    if data.source == "procedural":
        return load_labelled_faces(data, int(cfg.model.size), split, cfg.seed)[0], None
    if data.source == "tar":
        return load_face_photos(project_path(data.path), int(data.load_size), split, int(data.holdout)), None
    if data.source == "real":
        split = "val" if split == "eval" else split
        photos = load_labelled_photos(project_path(data.path), list(data.sources), int(data.load_size), split)
        return photos.images, photos.labels
    raise ValueError(f"unknown data.source {data.source!r} (procedural, tar or real)")


class FaceVAETask(Task):
    """Reconstruction (sum of squared errors per image) + kl_weight x KL; keeps the checkpoint with
    the lowest held-out negative ELBO, the quantity being trained (PSNR alone would reward a model
    that ignores the prior)."""

    best_metric = "elbo_loss"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.size = int(cfg.model.size)
        self.images, self.labels = _images(cfg, "train")
        self.eval_images = self._fit(to_model_range(_images(cfg, "eval")[0][: int(cfg.eval.samples)]))
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        nets = build_vae(cfg.model)
        self.vae = nets["vae"].to(device)
        self.group_means = nets.get("group_means")
        self.modules = {"vae": self.vae}
        self.optimizers = {"vae": torch.optim.Adam(self.vae.parameters(), lr=cfg.lr)}
        self.kl_weight = float(cfg.kl_weight)
        # the sum of squared errors in [-1, 1] units is the Gaussian likelihood of a decoder whose sigma
        # is 0.35 of the pixel range, several times its real error: the KL then outweighs the detail.
        # recon_loss "calibrated" sets sigma to the error itself (sigma-VAE, Rybkin et al. 2021; tried,
        # not shipped: the card)
        if cfg.recon_loss not in ("sse", "calibrated"):
            raise ConfigError(f"recon_loss must be sse or calibrated, got {cfg.recon_loss!r}")
        self.calibrated = cfg.recon_loss == "calibrated"
        # glasses are a few pixels of frame in a 64x64 face: at an even weight the squared error hardly
        # notices them missing, and the decoder learned to draw none (departure from the book)
        self.pixel_weight = (1 + (float(cfg.eye_weight) - 1) * eye_band(self.size)).to(device)
        # squared error alone draws the mean of every face that could be there, a blur without frames;
        # a patch critic on the reconstructions asks for edges (VAE-GAN, Larsen et al. 2016)
        self.adv_weight = float(cfg.adv_weight)
        if self.adv_weight:
            self.critic = PatchDiscriminator(ndf=32, n_layers=2).to(device)
            self.modules["critic"] = self.critic
            self.optimizers["critic"] = torch.optim.Adam(self.critic.parameters(), lr=2e-4,
                                                         betas=(0.5, 0.999))
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
        squared = (recon - x).pow(2) * self.pixel_weight
        if self.calibrated:  # -log N(x; recon, sigma^2) per image at the batch's best sigma^2, its mean error
            loss_recon = 0.5 * squared[0].numel() * torch.log(squared.mean().clamp(min=1e-5))
        else:
            loss_recon = squared.flatten(1).sum(1).mean()
        loss_kl = kl_divergence(mu, logvar).mean()
        loss = loss_recon + self.kl_weight * self._kl_scale(step) * loss_kl
        logs = {"recon": loss_recon.item(), "kl": loss_kl.item()}
        if self.adv_weight:
            loss_adv = lsgan_loss(self.critic(recon), real=True)  # as the CycleGAN's critics
            loss = loss + self.adv_weight * loss_adv
            logs["adv"] = loss_adv.item()
        optimizer = self.optimizers["vae"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if self.adv_weight:
            logs["critic"] = self._critic_step(x, recon.detach())
        return {"loss": loss.item(), **logs}

    def _critic_step(self, real: torch.Tensor, recon: torch.Tensor) -> float:
        loss = 0.5 * (lsgan_loss(self.critic(real), real=True) + lsgan_loss(self.critic(recon), real=False))
        optimizer = self.optimizers["critic"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    def export_modules(self):
        if self.group_means is None:
            return {"vae": self.vae}
        self._fill_group_means()
        return {"vae": self.vae, "group_means": self.group_means}

    @torch.no_grad()
    def _fill_group_means(self) -> None:
        """mean mu of each of model.groups over the training photos (no augmentation)."""
        was_training = self.vae.training
        self.vae.eval()
        mu = torch.cat([self.vae.encode(self._fit(to_model_range(c)).to(self.device))[0].cpu()
                        for c in self.images.split(256)])
        for row, group in enumerate(self.cfg.model.groups):
            member = group_members(self.labels, group)
            if not member.any():
                raise ValueError(f"no training photo is in the group {group!r}")
            self.group_means.means[row] = mu[member].mean(0)
        self.vae.train(was_training)

    def evaluate(self):
        modules = {"vae": self.vae}
        if self.group_means is not None:
            self._fill_group_means()
            modules["group_means"] = self.group_means
        pipeline = FaceVAEPipeline.wrapping(self.cfg, modules)
        metrics = vae_metrics(pipeline, self.eval_images.to(self.device), self.kl_weight, self.calibrated)
        referee = self.referee(FaceRefereePipeline)
        if referee is not None and self.group_means is not None:
            metrics |= real_arithmetic_metrics(pipeline, referee, self.eval_images)
        elif referee is not None and self.cfg.data.source == "procedural":
            metrics |= arithmetic_metrics(pipeline, referee, seeds=range(4), n=256)
        return metrics

    def sample_grid(self):
        """Held-out faces, their reconstructions, and faces from 8 fixed prior samples."""
        x = self.eval_images[:8].to(self.device)
        mu, _ = self.vae.encode(x)
        rows = [x, self.vae.decode(mu), self.vae.decode(self.fixed_z.to(self.device))]
        return image_grid(torch.cat(rows).cpu(), nrow=8)
