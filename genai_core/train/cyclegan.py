"""CycleGAN training (book ch. 6): unpaired blond-haired and black-haired faces.

data.source=procedural: domain A and domain B are rendered from different seeds, so no face appears
in both; evaluation draws each held-out face twice (source and target hair), which gives the exact
hair mask and the ideal output. data.source=real: labelled photos (genai_core.data.real_faces) whose
hair colour is known, person-disjoint train and test splits, each photo with a hair mask (drawn for
Celeb1k, the face parser's elsewhere). The masks teach the generator's attention mask where hair is
(hair_mask_weight), so the change stays in the hair. With hair_gate the generators' changes are also
kept to the hair masks during training, as the tab keeps them to the hair segmenter's: the
discriminators then judge hair alone, and a tint spilled onto the face cannot pass for blond hair.
"""

import random
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import ConfigError, project_path
from ..data.faces import HAIR_COLOURS, render_batch
from ..data.hair_masks import MIN_HAIR_SHARE, hair_masks_for
from ..data.real_faces import HAIR_COLOURS as REAL_HAIR_COLOURS
from ..data.real_faces import load_labelled_photos
from ..images import image_grid, masked_colour, to_model_range, to_uint8
from ..metrics.cyclegan import cyclegan_metrics, real_cyclegan_metrics
from ..models.cyclegan import build_cyclegan, gate
from ..pipelines.cyclegan import CycleGANPipeline
from ..pipelines.face_referee import FaceRefereePipeline
from ..pipelines.hair_segmenter import HairSegmenterPipeline
from .pseudo_labels import fill_unknown
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


@dataclass
class HairDomain:
    """The faces of one hair colour: uint8 images (N, 3, S, S), hair masks (N, 1, S, S) in {0, 1} and
    which photos have a mask (a photo without one teaches the mask nothing)."""

    images: torch.Tensor
    masks: torch.Tensor
    has_mask: torch.Tensor

    def __len__(self) -> int:
        return len(self.images)


def hair_domain(cfg, colour: str, split: str) -> HairDomain:
    """One hair colour's faces for split: "train", "val" (what training evaluates on) or "eval" (the
    test people, for benchmarks and cards): renders (train and the rest each their own seed, so no
    shared faces; their masks are unknown) or labelled photos."""
    size = int(cfg.model.size)
    if cfg.data.source == "real":
        return _photo_domain(cfg, colour, {"train": "train", "val": "val", "eval": "test"}[split])
    hair = float(HAIR_COLOURS.index(colour))
    offset = {"train": 0, "val": 7_777_777, "eval": 7_777_777}[split] + 1_000 * HAIR_COLOURS.index(colour)
    n = int(cfg.data.train_size if split == "train" else cfg.data.holdout)
    images, _ = render_batch(n, cfg.seed + offset, size, hair_colour=hair)
    return HairDomain(to_uint8(images), torch.zeros(n, 1, size, size), torch.zeros(n, dtype=torch.bool))


def _photo_domain(cfg, colour: str, split: str) -> HairDomain:
    """Photos labelled with this hair colour; for training, data.pseudo_labels (a referee) may also
    label the photos whose hair colour is unknown where it is sure (data.pseudo_confidence)."""
    folder, size = project_path(cfg.data.path), int(cfg.model.size)
    photos = load_labelled_photos(folder, list(cfg.data.sources), size, split)
    hair = photos.labels["hair_colour"]
    if split == "train" and cfg.data.pseudo_labels:
        confidence, names = float(cfg.data.pseudo_confidence), ["hair_colour"]
        hair = fill_unknown(photos.labels, photos.images, cfg.data.pseudo_labels, confidence, names)[names[0]]
    photos = photos.select(hair == REAL_HAIR_COLOURS.index(colour))
    if not len(photos):
        raise ValueError(f"no {colour}-haired photos in the {split} split of {', '.join(cfg.data.sources)}")
    masks, has = hair_masks_for(folder, photos, size, parse_others=bool(cfg.data.parse_hair))
    return HairDomain(photos.images, masks, has)


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
        if cfg.data.source not in ("procedural", "real"):
            raise ValueError("the CycleGAN trains on data.source=procedural or real (labelled hair colours)")
        self.colours = (cfg.model.domain_a, cfg.model.domain_b)
        self.domain_a = hair_domain(cfg, self.colours[0], "train")
        self.domain_b = hair_domain(cfg, self.colours[1], "train")
        self.sampler_a = EpochSampler(len(self.domain_a), cfg.batch_size, cfg.seed)
        self.sampler_b = EpochSampler(len(self.domain_b), cfg.batch_size, cfg.seed + 1)
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
        if cfg.get("init_from"):
            self._warm_start(project_path(cfg.init_from))
        self.d_warmup = int(cfg.get("d_warmup") or 0)
        # what each domain's hair looks like (YCbCr mean and spread inside the hair masks, over its
        # training photos): hair_colour_weight pulls every fake's hair towards the other domain's
        self.hair_colour_weight = float(cfg.get("hair_colour_weight") or 0.0)
        if self.hair_colour_weight:
            self.hair_colour_a, self.hair_colour_b = (hair_colour(d) for d in (self.domain_a, self.domain_b))

    def steps_per_epoch(self):
        return len(self.sampler_a)

    def _warm_start(self, folder: Path) -> None:
        """Both generators from a shipped weights folder (which holds no discriminators: they start
        afresh and learn the generators' fakes for d_warmup steps before the generators move)."""
        from ..checkpoint import WEIGHTS_NAME, load_weights

        if not (folder / WEIGHTS_NAME).is_file():
            raise ConfigError(f"init_from: no {WEIGHTS_NAME} in {folder}")
        load_weights(folder, {"g_ab": self.g_ab, "g_ba": self.g_ba})

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
        real_a, hair_a, has_a = self._batch(self.domain_a, self.sampler_a.indices(step))
        real_b, hair_b, has_b = self._batch(self.domain_b, self.sampler_b.indices(step))

        gate_a, gate_b = (self._gate(hair, has) for hair, has in ((hair_a, has_a), (hair_b, has_b)))
        if step < self.d_warmup:  # fresh discriminators learn the fakes; the generators stay put
            with torch.no_grad():
                fake_b = gate(real_a, self.g_ab(real_a), gate_a)
                fake_a = gate(real_b, self.g_ba(real_b), gate_b)
            logs = {}
        else:
            fake_b, fake_a, loss_g, logs = self._generator_losses(real_a, hair_a, has_a, gate_a,
                                                                  real_b, hair_b, has_b, gate_b)
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
        return {**logs, "loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}

    def _generator_losses(self, real_a, hair_a, has_a, gate_a, real_b, hair_b, has_b, gate_b):
        """Fool both discriminators, come back on both cycles, leave the own domain alone (and the
        optional mask and hair-colour terms) -> (fake_b, fake_a, the generators' loss, logs)."""
        cfg = self.cfg
        fake_b, mask_ab = self.g_ab.forward_with_mask(real_a)
        fake_a, mask_ba = self.g_ba.forward_with_mask(real_b)
        fake_b, fake_a = gate(real_a, fake_b, gate_a), gate(real_b, fake_a, gate_b)
        loss_adv = lsgan_loss(self.d_b(fake_b), True) + lsgan_loss(self.d_a(fake_a), True)
        # the book weights only one direction of the cycle; both get cycle_weight here
        back_a, back_b = gate(fake_b, self.g_ba(fake_b), gate_a), gate(fake_a, self.g_ab(fake_a), gate_b)
        loss_cycle = F.l1_loss(back_a, real_a) + F.l1_loss(back_b, real_b)
        loss_identity = torch.zeros((), device=self.device)
        if cfg.identity_weight > 0:
            same_b, same_a = gate(real_b, self.g_ab(real_b), gate_b), gate(real_a, self.g_ba(real_a), gate_a)
            loss_identity = F.l1_loss(same_b, real_b) + F.l1_loss(same_a, real_a)
        loss_g = loss_adv + cfg.cycle_weight * loss_cycle + cfg.identity_weight * loss_identity
        loss_colour = torch.zeros((), device=self.device)
        if self.hair_colour_weight:
            loss_colour = _hair_colour_loss(fake_b, hair_a, has_a, self.hair_colour_b) + \
                _hair_colour_loss(fake_a, hair_b, has_b, self.hair_colour_a)
            loss_g = loss_g + self.hair_colour_weight * loss_colour
        loss_mask = loss_hair = torch.zeros((), device=self.device)
        if mask_ab is not None:  # attention masks: a small price per masked pixel keeps them to the hair
            loss_mask = mask_ab.mean() + mask_ba.mean()
            loss_g = loss_g + cfg.mask_weight * loss_mask
            if cfg.hair_mask_weight > 0 and (has_a.any() or has_b.any()):
                loss_hair = _mask_loss(mask_ab, hair_a, has_a) + _mask_loss(mask_ba, hair_b, has_b)
                loss_g = loss_g + cfg.hair_mask_weight * loss_hair
        logs = {"loss_g_adv": loss_adv.item(), "loss_cycle": loss_cycle.item(),
                "loss_identity": loss_identity.item(), "mask": loss_mask.item() / 2,
                "loss_hair_mask": loss_hair.item(), "loss_hair_colour": loss_colour.item()}
        return fake_b, fake_a, loss_g, logs

    def _gate(self, hair: torch.Tensor, has: torch.Tensor) -> torch.Tensor | None:
        """The hair masks softened at their edge (as the segmenter's are) where hair_gate is on; 1 (no
        gate) for photos without a mask."""
        if not self.cfg.hair_gate:
            return None
        soft = F.avg_pool2d(hair, 3, stride=1, padding=1, count_include_pad=False)
        return torch.where(has[:, None, None, None], soft, torch.ones_like(soft))

    def _batch(self, domain: HairDomain, rows: torch.Tensor):
        images, masks, has = to_model_range(domain.images[rows]), domain.masks[rows], domain.has_mask[rows]
        if self.cfg.augment_flip:  # a mirrored face keeps its hair; global RNG: checkpointed
            flip = (torch.rand(len(images)) < 0.5)[:, None, None, None]
            images, masks = torch.where(flip, images.flip(3), images), torch.where(flip, masks.flip(3), masks)
        return images.to(self.device), masks.to(self.device), has.to(self.device)

    def held_out(self) -> tuple[HairDomain, HairDomain]:
        if getattr(self, "_held_out", None) is None:
            # the val people: keep-best and snapshot picks must not see the test people of the card
            self._held_out = tuple(hair_domain(self.cfg, colour, "val") for colour in self.colours)
        return self._held_out

    def segmenter(self):
        """The hair segmenter a gated model is used with (eval.segmenter), once its weights exist."""
        return self.pipeline_named("eval.segmenter", HairSegmenterPipeline)

    def evaluate(self):
        referee = self.referee(FaceRefereePipeline)
        if referee is None:
            return {}
        pipeline = CycleGANPipeline.wrapping(self.cfg, {"g_ab": self.g_ab, "g_ba": self.g_ba})
        if self.cfg.data.source == "real":
            domains = dict(zip(self.colours, self.held_out(), strict=True))
            return real_cyclegan_metrics(pipeline, referee, domains, self.segmenter())
        return cyclegan_metrics(pipeline, referee, int(self.cfg.eval.samples), SAMPLE_SEED)

    def sample_grid(self):
        """Rows: A input, converted, round trip; then B input, converted, round trip."""
        if self.cfg.data.source == "real":
            a, b = (to_model_range(d.images[:6]).to(self.device) for d in self.held_out())
        else:
            a = to_model_range(_domain_sample(self.cfg, self.colours[0])).to(self.device)
            b = to_model_range(_domain_sample(self.cfg, self.colours[1])).to(self.device)
        segmenter = self.segmenter() if self.cfg.data.source == "real" else None
        gate_a, gate_b = (None, None) if segmenter is None else (segmenter.hair(a), segmenter.hair(b))
        fake_b, fake_a = gate(a, self.g_ab(a), gate_a), gate(b, self.g_ba(b), gate_b)
        back_a, back_b = gate(fake_b, self.g_ba(fake_b), gate_a), gate(fake_a, self.g_ab(fake_a), gate_b)
        rows = [a, fake_b, back_a, b, fake_a, back_b]
        return image_grid(torch.cat(rows).cpu(), nrow=len(a))


def hair_colour(domain: HairDomain) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean over a domain's masked photos of each photo's hair colour statistics (YCbCr mean
    and spread, (3,) each)."""
    rows = torch.nonzero(domain.has_mask).flatten()
    if not len(rows):
        raise ConfigError("hair_colour_weight needs hair masks: data.parse_hair, or photos with drawn masks")
    mean, spread = masked_colour(to_model_range(domain.images[rows]), domain.masks[rows])
    return mean.mean(0), spread.mean(0)


def _hair_colour_loss(fakes: torch.Tensor, hair: torch.Tensor, has: torch.Tensor, target) -> torch.Tensor:
    """Squared distance of each fake's hair colour statistics (inside its photo's hair mask) from the
    target domain's, over the photos that have a mask."""
    has = has & (hair.mean(dim=(1, 2, 3)) >= MIN_HAIR_SHARE)
    if not has.any():
        return torch.zeros((), device=fakes.device)
    mean, spread = masked_colour(fakes[has], hair[has])
    target_mean, target_spread = (t.to(fakes.device) for t in target)
    return ((mean - target_mean) ** 2).sum(1).mean() + ((spread - target_spread) ** 2).sum(1).mean()


def _mask_loss(mask: torch.Tensor, hair: torch.Tensor, has: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of the attention mask against the hair mask, over photos that have one."""
    if not has.any():
        return torch.zeros((), device=mask.device)
    return F.binary_cross_entropy(mask[has].clamp(1e-4, 1 - 1e-4), hair[has])


def _domain_sample(cfg, colour: str, n: int = 6) -> torch.Tensor:
    hair = float(HAIR_COLOURS.index(colour))
    images, _ = render_batch(n, SAMPLE_SEED, int(cfg.model.size), hair_colour=hair)
    return to_uint8(images)
