"""Contrastive pre-training of TinyCLIP on the shapes world (the thesis' CLIP, scaled to one CPU thread).

Every step draws fresh scenes (seeded by the step, so a resumed run replays the same data), renders
them, captions each one in a random phrasing, and trains both encoders with CLIP's symmetric InfoNCE
loss. Two things differ from CLIP's plain loss because the world is small: two scenes in a batch can
share a caption (one-object scenes repeat often), and a caption without a background matches every
background; so the target of each row is spread evenly over every caption the image satisfies, not
only its own (otherwise the loss would push true matches apart).

Augmentations resemble what the prompt optimiser shows the model: random square crops of 0.6-1.0 of
the area (kept around the objects, so the caption stays true), a little blur and noise. No flips:
captions say left and right, and fresh scenes already cover both sides.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..config import project_path
from ..data import face_captions, shapes
from ..data.real_faces import load_labelled_photos
from ..images import image_grid, to_model_range, to_uint8
from ..metrics.clip import clip_metrics, face_clip_metrics
from ..models.clip import build_clip
from . import distributed
from .augment import augment as photo_augment
from .pseudo_labels import fill_unknown
from .task import EpochSampler, Task, decay_groups, warmup_cosine

EVAL_SEED = 1_000_000_007  # held-out scenes: a seed no training step uses


def soft_clip_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE with targets spread over every true pair (rows: images, columns: texts).
    A text no image in the batch satisfies (a hard negative) only counts as a wrong answer for the
    images, and an image no text describes (clutter) only as a wrong answer for the texts: neither
    has a partner of its own to pick out."""
    described = targets.sum(1) > 0
    rows, row_logits = targets[described], logits[described]
    image_loss = -(rows / rows.sum(1, keepdim=True) * F.log_softmax(row_logits, 1)).sum(1).mean()
    matched = targets.sum(0) > 0
    columns = targets[:, matched]
    text_loss = -(columns / columns.sum(0, keepdim=True) * F.log_softmax(logits[:, matched], 0)).sum(0).mean()
    return (image_loss + text_loss) / 2


def crop_boxes(scenes: list[dict], rng: np.random.Generator, min_scale: float, p: float) -> torch.Tensor:
    """Affine thetas (N, 2, 3) for square crops of min_scale..1 of the area that keep every object's
    centre region inside; a scene gets no crop with probability 1 - p or when no crop fits."""
    thetas = torch.zeros(len(scenes), 2, 3)
    for i, scene in enumerate(scenes):
        half, centre = 1.0, [0.0, 0.0]
        if rng.random() < p:
            h = math.sqrt(rng.uniform(min_scale, 1.0))
            box = []
            for axis in ("x", "y"):
                low = max([-1 + h] + [o[axis] - h + 0.5 * o["size"] for o in scene["objects"]])
                high = min([1 - h] + [o[axis] + h - 0.5 * o["size"] for o in scene["objects"]])
                box.append((low, high))
            if all(low <= high for low, high in box):
                half, centre = h, [rng.uniform(low, high) for low, high in box]
        thetas[i] = torch.tensor([[half, 0, centre[0]], [0, half, centre[1]]])
    return thetas


def augment(images, scenes, rng, cfg) -> torch.Tensor:
    thetas = crop_boxes(scenes, rng, cfg.min_scale, cfg.crop_p)
    grid = F.affine_grid(thetas, list(images.shape), align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    blur = torch.from_numpy(rng.random(len(images)) < cfg.blur_p)
    if blur.any():  # a 2x box blur: generated images are softer than renders
        soft = F.interpolate(
            F.avg_pool2d(images[blur], 2), scale_factor=2, mode="bilinear", align_corners=False
        )
        images[blur] = soft
    sigma = torch.from_numpy(rng.uniform(0, cfg.noise, len(images))).float()[:, None, None, None]
    noise = torch.from_numpy(rng.standard_normal(images.shape)).float()
    return (images + sigma * noise).clamp(-1, 1)


class CLIPTask(Task):
    best_metric = "retrieval_and_binding"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        if cfg.model.get("vocab") is None:  # saved with the weights: the tokenizer never drifts
            cfg.model.vocab = list(shapes.WORDS)
        self.clip = build_clip(cfg.model)["clip"].to(device)
        self.modules = {"clip": self.clip}
        groups = decay_groups(self.clip, cfg.weight_decay, exempt=("position",))  # nor learned positions
        self.optimizers = {"clip": torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98))}
        self.eval_scenes = shapes.sample_scenes(int(cfg.data.eval_scenes), EVAL_SEED + cfg.seed)
        self.eval_images = shapes.render_scenes(self.eval_scenes, cfg.model.image_size)

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to a tenth."""
        return warmup_cosine(step, self.cfg.lr, int(self.cfg.warmup), self.total_steps(), 0.1)

    def batch(self, step: int):
        # procedural scenes: each process draws its own share from a seed that includes its rank
        rng = np.random.default_rng([self.cfg.seed, step, *distributed.rank_seed()])
        scenes = shapes.sample_scenes(distributed.local_batch_size(int(self.cfg.batch_size)),
                                      int(rng.integers(2**31)))
        images = augment(
            shapes.render_scenes(scenes, self.cfg.model.image_size), scenes, rng, self.cfg.augment
        )
        captions = [shapes.caption(s, rng=rng) for s in scenes]
        specs = [shapes.scene_spec(s) for s in scenes]
        negatives = shapes.binding_negatives(specs, rng, int(self.cfg.hard_negatives))
        captions += [shapes.caption(n, rng=rng) for n in negatives]
        targets = shapes.match_matrix(scenes, [shapes.parse_prompt(c) for c in captions])
        clutter = int(self.cfg.clutter)
        if clutter:  # images no caption describes: rows of zeros
            extra = shapes.render_clutter(clutter, rng, self.cfg.model.image_size)
            empty = [{"objects": []}] * clutter  # any crop keeps a clutter image what it is
            images = torch.cat([images, augment(extra, empty, rng, self.cfg.augment)])
            targets = torch.cat([targets, torch.zeros(clutter, len(captions))])
        return images, captions, targets

    def train_step(self, step):
        images, captions, targets = self.batch(step)
        optimizer = self.optimizers["clip"]
        for group in optimizer.param_groups:
            group["lr"] = self.lr_at(step)
        logits = self.clip(images.to(self.device), self.clip.tokenize(captions).to(self.device))
        loss = soft_clip_loss(logits, targets.to(self.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            self.clip.logit_scale.clamp_(0, math.log(100))  # CLIP's cap on the temperature
            described = targets.sum(1) > 0  # not the clutter
            accuracy = targets.gather(1, logits.argmax(1, keepdim=True).cpu())[described].mean()
        return {
            "loss": loss.item(),
            "train_i2t_top1": accuracy.item(),
            "scale": self.clip.logit_scale.exp().item(),
        }

    def evaluate(self):
        group = min(int(self.cfg.data.eval_group), len(self.eval_scenes))
        return clip_metrics(
            self.clip, self.eval_scenes, self.eval_images.to(self.device), group, self.cfg.seed
        )

    def sample_grid(self):
        """What the model is trained on: one augmented batch (first 32 images)."""
        return image_grid(self.batch(0)[0][:32], nrow=8)


class FaceCLIPTask(CLIPTask):
    """TinyCLIP on labelled face photos (data.source=real): each photo captioned from a random subset of
    its known labels (genai_core.data.face_captions), unknown labels filled by the referee where it is
    sure (data.pseudo_labels), hard negatives that change one attribute of a caption (NegCLIP), and the
    soft targets of CLIPTask: a caption is true of every photo in the batch that satisfies it.
    Augmentation: flips, a zoom of 0.85-1 with a shift, slight rotation and colour jitter (captions
    here say nothing about left and right). The held-out test people are the evaluation set."""

    best_metric = "attribute_and_binding"

    def __init__(self, cfg, device):
        Task.__init__(self, cfg, device)
        cfg.model.world = "faces"
        if cfg.model.get("vocab") is None:  # saved with the weights: the tokenizer never drifts
            cfg.model.vocab = list(face_captions.WORDS)
        self.clip = build_clip(cfg.model)["clip"].to(device)
        self.modules = {"clip": self.clip}
        groups = decay_groups(self.clip, cfg.weight_decay, exempt=("position",))
        self.optimizers = {"clip": torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98))}
        self.photos, self.specs = face_photos(cfg, "train")
        self.sampler = EpochSampler(len(self.photos), int(cfg.batch_size), int(cfg.seed))
        test, test_specs = face_photos(cfg, "test")
        pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(EVAL_SEED))[
            : int(cfg.data.eval_photos)].tolist()
        self.eval_images = to_model_range(test[pick])
        self.eval_specs = [test_specs[i] for i in pick]

    def steps_per_epoch(self) -> int:
        return len(self.sampler)

    def batch(self, step: int):
        rng = np.random.default_rng([self.cfg.seed, step])
        rows = self.sampler.indices(step)
        generator = torch.Generator().manual_seed(int(rng.integers(2**31)))
        images = photo_augment(to_model_range(self.photos[rows]), int(self.cfg.model.image_size), generator)
        specs = [self.specs[i] for i in rows.tolist()]
        captions = [face_captions.caption(s, rng) for s in specs]
        negatives = [face_captions.flip_one(face_captions.parse_prompt(c), rng)
                     for c in captions[: int(self.cfg.hard_negatives)]]
        captions += [face_captions.phrase(n, rng) for n in negatives if n]
        targets = face_captions.match_matrix(specs, [face_captions.parse_prompt(c) for c in captions])
        return images, captions, targets

    def evaluate(self):
        return face_clip_metrics(self.clip, self.eval_specs, self.eval_images.to(self.device),
                                 int(self.cfg.data.eval_group), int(self.cfg.seed))


def face_photos(cfg, split: str) -> tuple[torch.Tensor, list[dict]]:
    """uint8 photos of split and their known labels as caption specs (procedural faces with exact
    labels for data.source=procedural: tests and fresh clones have no photos)."""
    size = int(cfg.model.image_size)
    if cfg.data.source != "real":
        from ..data.faces import render_batch

        n = int(cfg.data.procedural_size)
        images, attributes = render_batch(n, int(cfg.seed) + (0 if split == "train" else 99_991), size)
        hair = attributes["hair_colour"].long()
        hair[hair >= 3] = -1  # the drawings' fourth colour is red, the photos' gray
        labels = {"male": attributes["male"].float(), "eyeglasses": attributes["eyeglasses"].float(),
                  "hair_colour": hair}
        labels = {k: labels.get(k, torch.full((n,), -1.0)) for k in face_captions.ATTRIBUTES}
        return to_uint8(images), face_captions.known_labels(labels)
    photos = load_labelled_photos(project_path(cfg.data.path), list(cfg.data.sources), size, split)
    labels = photos.labels
    if split == "train" and cfg.data.pseudo_labels:
        confidence = float(cfg.data.pseudo_confidence)
        names = face_captions.ATTRIBUTES
        labels = fill_unknown(labels, photos.images, cfg.data.pseudo_labels, confidence, names)
    return photos.images, face_captions.known_labels(labels)
