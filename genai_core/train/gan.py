"""The standard (non-saturating, BCE) GAN step shared by the toy GANs, the MNIST GAN and DCGAN."""

import torch
import torch.nn.functional as F

from .task import Task


class GANTask(Task):
    """Subclasses call set_networks(...) in __init__ and define real_batch (and maybe noise, generate)."""

    def set_networks(self, nets: dict) -> None:
        """Adopt nets["generator"] and nets["discriminator"], each with its own Adam (cfg.lr, cfg.betas).

        cfg.real_label < 1 gives one-sided label smoothing.
        """
        self.generator = nets["generator"].to(self.device)
        self.discriminator = nets["discriminator"].to(self.device)
        self.real_label = float(self.cfg.real_label)
        lr, betas = self.cfg.lr, tuple(self.cfg.betas)
        self.modules = {"generator": self.generator, "discriminator": self.discriminator}
        self.optimizers = {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=lr, betas=betas),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=betas),
        }

    def real_batch(self, step: int) -> torch.Tensor:
        raise NotImplementedError

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.randn(n, self.generator.latent_dim, generator=generator).to(self.device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)

    def export_modules(self):
        return {"generator": self.generator}

    def train_step(self, step: int) -> dict[str, float]:
        real = self.real_batch(step).to(self.device)
        fake = self.generate(self.noise(real.shape[0]))
        d_opt, g_opt = self.optimizers["discriminator"], self.optimizers["generator"]

        d_real = self.discriminator(real)
        d_fake = self.discriminator(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(
            d_real, torch.full_like(d_real, self.real_label)
        ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        d_opt.zero_grad(set_to_none=True)
        loss_d.backward()
        d_opt.step()

        g_out = self.discriminator(fake)
        loss_g = F.binary_cross_entropy_with_logits(g_out, torch.ones_like(g_out))
        g_opt.zero_grad(set_to_none=True)
        loss_g.backward()
        g_opt.step()
        return {
            "loss_d": loss_d.item(),
            "loss_g": loss_g.item(),
            "d_real": torch.sigmoid(d_real).mean().item(),
            "d_fake": torch.sigmoid(d_fake).mean().item(),
        }
