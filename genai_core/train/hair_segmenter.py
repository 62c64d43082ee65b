"""Training the hair segmenter on the hair-colour photos' masks (drawn for Celeb1k, the face parser's
elsewhere; the CycleGAN's photos and cache) or, for the tiny run, on procedural faces whose hair
is known exactly (genai_core.data.faces.render_hair_twins)."""

import torch
import torch.nn.functional as F

from ..data.faces import HAIR_COLOURS, render_hair_twins
from ..images import image_grid, to_model_range, to_uint8
from ..metrics.hair_segmenter import mask_metrics
from ..models.hair_segmenter import build_hair_segmenter
from ..pipelines.hair_segmenter import HairSegmenterPipeline
from .augment import augment_with_masks
from .cyclegan import HairDomain, hair_domain
from .task import EpochSampler, Task, warmup_cosine

SAMPLE_PHOTOS = 8


def segmenter_photos(cfg, split: str) -> HairDomain:
    """The photos of every colour in data.hair_colours that have a hair mask ("train" or "eval")."""
    if cfg.data.source == "procedural":
        n, size = int(cfg.data.train_size if split == "train" else cfg.data.holdout), int(cfg.model.size)
        parts = []
        for i, colour in enumerate(cfg.data.hair_colours):
            other = next(c for c in HAIR_COLOURS if c != colour)
            seed = cfg.seed + 1_000 * i + (0 if split == "train" else 7_777_777)
            images, _, hair = render_hair_twins(n, seed, size, colour, other)
            parts.append(HairDomain(to_uint8(images), hair.float(), torch.ones(n, dtype=torch.bool)))
    elif cfg.data.source == "real":
        parts = [hair_domain(cfg, colour, split) for colour in cfg.data.hair_colours]
    else:
        raise ValueError("the hair segmenter trains on data.source=procedural or real (photos, hair masks)")
    keep = torch.cat([p.has_mask for p in parts])
    images, masks = torch.cat([p.images for p in parts])[keep], torch.cat([p.masks for p in parts])[keep]
    return HairDomain(images, masks, torch.ones(len(images), dtype=torch.bool))


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice per photo: rewards overlap whatever share of the photo the hair covers."""
    probability = torch.sigmoid(logits).flatten(1)
    target = target.flatten(1)
    overlap = (probability * target).sum(1)
    return (1 - (2 * overlap + 1) / (probability.sum(1) + target.sum(1) + 1)).mean()


class HairSegmenterTask(Task):
    """Cross-entropy + Dice on augmented photos and their masks; keeps the last checkpoint (the
    schedule decays to the end; the held-out photos are for the card, not for choosing)."""

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.photos = segmenter_photos(cfg, "train")
        self.sampler = EpochSampler(len(self.photos), cfg.batch_size, cfg.seed)
        self.segmenter = build_hair_segmenter(cfg.model)["segmenter"].to(device)
        self.modules = {"segmenter": self.segmenter}
        self.optimizers = {"segmenter": torch.optim.AdamW(self.segmenter.parameters(), lr=cfg.lr,
                                                          weight_decay=float(cfg.weight_decay))}

    def steps_per_epoch(self):
        return len(self.sampler)

    def train_step(self, step):
        rows = self.sampler.indices(step)
        generator = torch.Generator().manual_seed(self.cfg.seed * 7919 + step)
        size = int(self.cfg.model.size)
        images, masks = augment_with_masks(to_model_range(self.photos.images[rows]), self.photos.masks[rows],
                                           size, generator)
        images, masks = images.to(self.device), (masks > 0.5).float().to(self.device)
        logits = self.segmenter(images)
        cross_entropy = F.binary_cross_entropy_with_logits(logits, masks)
        dice = dice_loss(logits, masks)
        optimizer = self.optimizers["segmenter"]
        rate = warmup_cosine(step, float(self.cfg.lr), int(self.cfg.warmup), self.total_steps(), 0.02)
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        (cross_entropy + dice).backward()
        optimizer.step()
        return {"loss_cross_entropy": cross_entropy.item(), "loss_dice": dice.item()}

    def held_out(self) -> HairDomain:
        if getattr(self, "_held_out", None) is None:
            self._held_out = segmenter_photos(self.cfg, "eval")
        return self._held_out

    def _predict(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 photos -> hair probabilities, through the pipeline the tab uses."""
        pipeline = HairSegmenterPipeline.wrapping(self.cfg, {"segmenter": self.segmenter})
        return pipeline.hair(to_model_range(images).to(self.device)).cpu()

    def evaluate(self):
        photos = self.held_out()
        return mask_metrics(self._predict(photos.images), photos.masks)

    def sample_grid(self):
        """Rows: held-out photos, the reference masks, the predicted masks over the photos."""
        photos = self.held_out()
        images = to_model_range(photos.images[:SAMPLE_PHOTOS])
        predicted = self._predict(photos.images[:SAMPLE_PHOTOS])
        reference = photos.masks[:SAMPLE_PHOTOS]
        tint = torch.tensor([1.0, -1.0, 1.0]).view(1, 3, 1, 1)  # magenta where the hair is
        overlay = lambda mask: images * (1 - 0.6 * mask) + 0.6 * mask * tint  # noqa: E731
        return image_grid(torch.cat([images, overlay(reference), overlay(predicted)]), nrow=len(images))
