"""The GAN step shared by the toy GANs, the MNIST GAN and DCGAN: the book's non-saturating BCE loss, or
what small GANs on little data use today (hinge loss, differentiable augmentation of what the
discriminator sees, an exponential moving average of the generator as the shipped one)."""

import copy

import torch
import torch.nn.functional as F

from . import distributed
from .augment import diff_augment
from .task import Task

LOSSES = ("bce", "hinge")


class GANTask(Task):
    """Subclasses call set_networks(...) in __init__ and define real_batch (and maybe noise, generate)."""

    def set_networks(self, nets: dict) -> None:
        """Adopt nets["generator"] and nets["discriminator"], each with its own Adam (cfg.lr, cfg.betas).

        cfg.real_label < 1 gives one-sided label smoothing.
        """
        self.generator = nets["generator"].to(self.device)
        self.discriminator = nets["discriminator"].to(self.device)
        self.real_label = float(self.cfg.real_label)
        if self.cfg.gan_loss not in LOSSES:
            raise ValueError(f"gan_loss must be one of {', '.join(LOSSES)}, got {self.cfg.gan_loss!r}")
        lr, betas = self.cfg.lr, tuple(self.cfg.betas)
        self.modules = {"generator": self.generator, "discriminator": self.discriminator}
        self.optimizers = {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas),
        }
        # the shipped generator: an exponential moving average of the trained one (ema_decay: null = off)
        self.ema = None
        if self.cfg.ema_decay is not None:
            self.ema = copy.deepcopy(self.generator).requires_grad_(False)
            self.modules["ema"] = self.ema

    exported_from = {"generator": "ema"}

    @property
    def shipped_generator(self) -> torch.nn.Module:
        return self.generator if self.ema is None else self.ema

    def train(self, mode: bool = True) -> None:
        super().train(mode)
        if self.ema is not None:
            self.ema.train(False)  # never trained: its batch-norm statistics are updated in _update_ema

    @torch.no_grad()
    def _update_ema(self, z: torch.Tensor) -> None:
        """Average the weights, then update the average's batch-norm statistics from its own activations
        on this step's noise. The live generator's statistics, copied here before, belong to other
        weights: with them every face of the DCGAN's average came out tinted red."""
        decay = float(self.cfg.ema_decay)
        for ema, live in zip(self.ema.parameters(), self.generator.parameters(), strict=True):
            ema.lerp_(live, 1 - decay)
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in self.ema.modules()):
            self.ema.train(True)
            self.ema(z)
            self.ema.train(False)

    def _judge(self, images: torch.Tensor) -> torch.Tensor:
        return self.discriminator(diff_augment(images) if self.cfg.diff_augment else images)

    def _d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.gan_loss == "hinge":
            return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
        return F.binary_cross_entropy_with_logits(real, torch.full_like(real, self.real_label)) + \
            F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))

    def _g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        if self.cfg.gan_loss == "hinge":
            return -fake.mean()
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))

    def real_batch(self, step: int) -> torch.Tensor:
        raise NotImplementedError

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.generator.latent_dim, generator=generator).to(self.device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def export_modules(self):
        return {"generator": self.shipped_generator}

    def train_step(self, step: int) -> dict[str, float]:
        real = self.real_batch(step).to(self.device)
        # the noise of the global batch, shared out like the real images: the world trains on one batch
        z = distributed.draw_share(self.noise, real.shape[0])
        fake = self.generate(z)
        d_opt, g_opt = self.optimizers["discriminator"], self.optimizers["generator"]

        d_real = self._judge(real)
        d_fake = self._judge(fake.detach())
        loss_d = self._d_loss(d_real, d_fake)
        d_opt.zero_grad(set_to_none=True)
        loss_d.backward()
        d_opt.step()

        loss_g = self._g_loss(self._judge(fake))
        g_opt.zero_grad(set_to_none=True)
        loss_g.backward()
        g_opt.step()
        if self.ema is not None:
            self._update_ema(z)
        return {
            "loss_d": loss_d.item(),
            "loss_g": loss_g.item(),
            "d_real": torch.sigmoid(d_real).mean().item(),
            "d_fake": torch.sigmoid(d_fake).mean().item(),
        }
