"""CycleGAN training (book ch. 6): unpaired blond-haired and black-haired procedural faces.

Domain A and domain B are rendered from different seeds, so no face appears in both: the model
never sees a pair. Evaluation, however, can use pairs: the renderer draws each held-out face twice
(source and target hair colour), which gives the exact hair mask and the ideal output.
"""

import random

import torch
import torch.nn.functional as F

from ..data.faces import HAIR_COLOURS, render_batch
from ..images import image_grid, to_model_range, to_uint8
from ..metrics.cyclegan import cyclegan_metrics
from ..models.cyclegan import build_cyclegan
from ..pipelines.cyclegan import CycleGANPipeline
from ..pipelines.face_referee import FaceRefereePipeline
from .task import EpochSampler, Task

SAMPLE_SEED = 1234


class ImagePool:
    """The CycleGAN repo's history buffer: the discriminator sees a mix of the newest fakes and
    older ones, which damps oscillation. Not checkpointed: a resumed run refills it in a few steps."""

    def __init__(self, size: int, seed: int):
        self.size = size
        self.images: list[torch.Tensor] = []
        self.rng = random.Random(seed)

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch
        out = []
        for image in batch.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.rng.random() < 0.5:
                slot = self.rng.randrange(self.size)
                out.append(self.images[slot])
                self.images[slot] = image
            else:
                out.append(image)
        return torch.stack(out)


def _domain(cfg, colour: str, split: str) -> torch.Tensor:
    """uint8 renders of one hair colour; each (colour, split) has its own seed: no shared faces."""
    hair = float(HAIR_COLOURS.index(colour))
    offset = {"train": 0, "eval": 7_777_777}[split] + 1_000 * HAIR_COLOURS.index(colour)
    n = int(cfg.data.train_size if split == "train" else cfg.data.holdout)
    images, _ = render_batch(n, cfg.seed + offset, int(cfg.model.size), hair_colour=hair)
    return to_uint8(images)


def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss (book and repo): (D(x) - 1)^2 for real, D(x)^2 for fake."""
    return F.mse_loss(scores, torch.full_like(scores, 1.0 if real else 0.0))


class CycleGANTask(Task):
    """Keeps the checkpoint with the best `quality`: hair success times identity SSIM, averaged over
    both directions; a generator that changes nothing (SSIM 1, success 0) or repaints the whole face
    (success 1, low SSIM) scores low, so keep-best cannot reward a degenerate model."""

    best_metric = "quality"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        if cfg.data.source != "procedural":
            raise ValueError("cyclegan_hair trains on data.source=procedural (labelled hair colours)")
        self.colours = (cfg.model.domain_a, cfg.model.domain_b)
        self.images_a = _domain(cfg, self.colours[0], "train")
        self.images_b = _domain(cfg, self.colours[1], "train")
        self.sampler_a = EpochSampler(len(self.images_a), cfg.batch_size, cfg.seed)
        self.sampler_b = EpochSampler(len(self.images_b), cfg.batch_size, cfg.seed + 1)
        nets = {k: v.to(device) for k, v in build_cyclegan(cfg.model).items()}
        self.modules = nets
        self.g_ab, self.g_ba, self.d_a, self.d_b = nets["g_ab"], nets["g_ba"], nets["d_a"], nets["d_b"]
        betas = tuple(cfg.betas)
        generators = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        discriminators = list(self.d_a.parameters()) + list(self.d_b.parameters())
        self.optimizers = {
            "generators": torch.optim.Adam(generators, lr=cfg.lr, betas=betas),
            "discriminators": torch.optim.Adam(discriminators, lr=cfg.lr, betas=betas),
        }
        self.pool_a = ImagePool(int(cfg.pool_size), cfg.seed)
        self.pool_b = ImagePool(int(cfg.pool_size), cfg.seed + 1)

    def steps_per_epoch(self):
        return len(self.sampler_a)

    def export_modules(self):
        return {"g_ab": self.g_ab, "g_ba": self.g_ba}

    def _set_lr(self, step: int) -> None:
        """The repo's schedule: constant, then linear decay to zero over the last decay_fraction."""
        decay_start = (1 - float(self.cfg.decay_fraction)) * self.total_steps()
        factor = 1.0 - max(0.0, step - decay_start) / max(1.0, self.total_steps() - decay_start)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = float(self.cfg.lr) * factor

    def train_step(self, step):
        self._set_lr(step)
        cfg = self.cfg
        real_a = to_model_range(self.images_a[self.sampler_a.indices(step)]).to(self.device)
        real_b = to_model_range(self.images_b[self.sampler_b.indices(step)]).to(self.device)

        # generators: fool both discriminators, come back on both cycles, leave own domain alone
        fake_b, mask_ab = self.g_ab.forward_with_mask(real_a)
        fake_a, mask_ba = self.g_ba.forward_with_mask(real_b)
        loss_adv = lsgan_loss(self.d_b(fake_b), True) + lsgan_loss(self.d_a(fake_a), True)
        # the book weights only one direction of the cycle; both get cycle_weight here
        loss_cycle = F.l1_loss(self.g_ba(fake_b), real_a) + F.l1_loss(self.g_ab(fake_a), real_b)
        loss_identity = torch.zeros((), device=self.device)
        if cfg.identity_weight > 0:
            loss_identity = F.l1_loss(self.g_ab(real_b), real_b) + F.l1_loss(self.g_ba(real_a), real_a)
        loss_g = loss_adv + cfg.cycle_weight * loss_cycle + cfg.identity_weight * loss_identity
        loss_mask = torch.zeros((), device=self.device)
        if mask_ab is not None:  # attention masks: a small price per masked pixel keeps them to the hair
            loss_mask = mask_ab.mean() + mask_ba.mean()
            loss_g = loss_g + cfg.mask_weight * loss_mask
        g_opt = self.optimizers["generators"]
        g_opt.zero_grad(set_to_none=True)
        loss_g.backward()
        g_opt.step()

        # discriminators: real vs (pooled) fake, halved as in the repo so D learns slower than G
        pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        loss_d_b = 0.5 * (lsgan_loss(self.d_b(real_b), True) + lsgan_loss(self.d_b(pooled_b), False))
        loss_d_a = 0.5 * (lsgan_loss(self.d_a(real_a), True) + lsgan_loss(self.d_a(pooled_a), False))
        d_opt = self.optimizers["discriminators"]
        d_opt.zero_grad(set_to_none=True)
        (loss_d_a + loss_d_b).backward()
        d_opt.step()
        return {
            "loss_g_adv": loss_adv.item(),
            "loss_cycle": loss_cycle.item(),
            "loss_identity": loss_identity.item(),
            "mask": loss_mask.item() / 2,
            "loss_d_a": loss_d_a.item(),
            "loss_d_b": loss_d_b.item(),
        }

    def evaluate(self):
        referee = self.referee(FaceRefereePipeline)
        if referee is None:
            return {}
        pipeline = CycleGANPipeline.wrapping(self.cfg, {"g_ab": self.g_ab, "g_ba": self.g_ba})
        return cyclegan_metrics(pipeline, referee, int(self.cfg.eval.samples), SAMPLE_SEED)

    def sample_grid(self):
        """Rows: blond input, converted, round trip; then black input, converted, round trip."""
        a = to_model_range(_domain_sample(self.cfg, self.colours[0])).to(self.device)
        b = to_model_range(_domain_sample(self.cfg, self.colours[1])).to(self.device)
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        rows = [a, fake_b, self.g_ba(fake_b), b, fake_a, self.g_ab(fake_a)]
        return image_grid(torch.cat(rows).cpu(), nrow=len(a))


def _domain_sample(cfg, colour: str, n: int = 6) -> torch.Tensor:
    hair = float(HAIR_COLOURS.index(colour))
    images, _ = render_batch(n, SAMPLE_SEED, int(cfg.model.size), hair_colour=hair)
    return to_uint8(images)
