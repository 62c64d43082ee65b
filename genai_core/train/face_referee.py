"""Training the face referee: a multi-head attribute classifier that judges every face model, on the
procedural faces (exact labels) or on real labelled photos (data.source: real; the person-disjoint
val split picks the checkpoint, the test split is left for the card)."""

import torch
import torch.nn.functional as F

from ..config import ConfigError, project_path
from ..data.faces import eye_band, load_labelled_faces
from ..data.hair_masks import MIN_HAIR_SHARE
from ..data.real_faces import load_labelled_photos
from ..images import masked_colour, recolour, to_model_range
from ..metrics.face_referee import referee_metrics
from ..models.face_referee import build_referee
from ..pipelines.face_referee import FaceRefereePipeline
from ..pipelines.hair_segmenter import HairSegmenterPipeline
from .augment import augment
from .task import EpochSampler, Task, decay_groups, warmup_cosine

EYE_ATTRIBUTES = ("eyeglasses", "sunglasses")  # what the band of the eyes shows, and only it


def referee_faces(cfg, split: str):
    """(uint8 images, labels) of a split: procedural renders, or real labelled photos."""
    data, size = cfg.data, int(cfg.data.size)
    if data.source == "procedural":
        return load_labelled_faces(data, size, "eval" if split != "train" else "train", cfg.seed)
    if data.source == "real":
        photos = load_labelled_photos(project_path(data.path), list(data.sources), size, split)
        return photos.images, photos.labels
    raise ValueError(f"unknown data.source {data.source!r} (procedural or real)")


class FaceRefereeTask(Task):
    """Multi-head attribute classifier; keeps the checkpoint with the best mean held-out accuracy."""

    best_metric = "accuracy_mean"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        self.images, self.labels = referee_faces(cfg, "train")
        self.test_images, self.test_labels = referee_faces(cfg, "val")
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.referee = build_referee(cfg.model)["referee"].to(device)
        self.modules = {"referee": self.referee}
        groups = decay_groups(self.referee, float(cfg.weight_decay))
        self.optimizers = {"referee": torch.optim.AdamW(groups, lr=cfg.lr)}
        self.hair = self._hair_masks() if cfg.get("hair_swap") or cfg.model.get("hair_only") else None
        self.hair_pools = self._hair_pools() if cfg.get("hair_swap_by_label") else None
        self.class_weights = self._balanced_hair_weights() if cfg.get("balance_hair") else None

    def steps_per_epoch(self):
        return len(self.sampler)

    def augment(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """Flips, exposure and noise (the referee must also read imperfect generated faces); for
        photos also zoom, shift, tilt and contrast (a few thousand photos are few)."""
        if self.cfg.data.source == "real":
            generator = torch.Generator().manual_seed(self.cfg.seed * 7919 + step)
            x = augment(x, int(self.cfg.data.size), generator)
        else:
            flip = torch.rand(len(x)) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
            x = (x + 1) * (1 + 0.15 * (torch.rand(len(x), 1, 1, 1) * 2 - 1)) - 1
        noise = torch.randn_like(x) * torch.rand(len(x), 1, 1, 1) * self.cfg.augment_noise
        return (x + noise).clamp(-1, 1)

    def swap_eyes(self, x: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """With probability eye_swap per photo, the band of the eyes of another photo of the batch
        pasted in; returns the images and, per row, the photo whose eyes it shows. Glasses cover the
        eyebrows, and a referee that read hair colour from them changed its hair reading when a
        generator added glasses and nothing else: with eyes from elsewhere, only the eye attributes
        may follow the band (departure from a plain classifier)."""
        rows = torch.arange(len(x))
        if not self.cfg.eye_swap:
            return x, rows
        generator = torch.Generator().manual_seed(self.cfg.seed * 104_729 + step)
        swapped = torch.rand(len(x), generator=generator) < float(self.cfg.eye_swap)
        partner = torch.where(swapped, torch.randperm(len(x), generator=generator), rows)
        band = eye_band(x.shape[-1]).to(x.device)
        return x * (1 - band) + x[partner] * band, partner

    def _hair_masks(self) -> torch.Tensor:
        """Where each training photo's hair is, found once by the project's hair segmenter (uint8)."""
        segmenter = self.pipeline_named("hair_segmenter", HairSegmenterPipeline)
        if segmenter is None:
            raise ConfigError(f"hair_swap and model.hair_only use the hair that hair_segmenter finds: "
                              f"no weights in {self.cfg.get('hair_segmenter')}")
        masks = [segmenter.hair(to_model_range(chunk)) for chunk in self.images.split(256)]
        return (torch.cat(masks) * 255).round().to(torch.uint8)

    def swap_hair(self, x: torch.Tensor, index: torch.Tensor, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """With probability hair_swap per photo, its hair recoloured to another photo's hair colour
        (YCbCr mean and spread inside the segmenter's masks, the photo's own strands kept); returns
        the images and, per row, the training photo whose hair colour it shows. The referee reads
        blond largely from the face (blond test photos with their hair painted flat grey are still
        read blond), so a change kept to the hair is rarely read as one; hair colours from elsewhere
        should make the hair head read the hair. Partners come from the batch, or with
        hair_swap_by_label from the whole training set, each of the four hair colours equally often
        (blond is about one photo in twenty, so batch partners rarely put blond hair on a face)."""
        if not self.cfg.get("hair_swap"):
            return x, index
        generator = torch.Generator().manual_seed(self.cfg.seed * 15_485_863 + step)
        swapped = torch.rand(len(x), generator=generator) < float(self.cfg.hair_swap)
        if self.cfg.get("hair_swap_by_label"):
            partner = self._partners_by_hair_label(len(x), generator)
            source = to_model_range(self.images[partner])
        else:
            batch_row = torch.randperm(len(x), generator=generator)
            partner, source = index[batch_row], x[batch_row]
        masks, partner_masks = self.hair[index].float() / 255, self.hair[partner].float() / 255
        share = masks.mean(dim=(1, 2, 3)), partner_masks.mean(dim=(1, 2, 3))
        swapped &= (share[0] >= MIN_HAIR_SHARE) & (share[1] >= MIN_HAIR_SHARE)
        mean, std = masked_colour(source, partner_masks)
        recoloured = recolour(x, masks, mean, std)
        return torch.where(swapped[:, None, None, None], recoloured, x), torch.where(swapped, partner, index)

    def _balanced_hair_weights(self) -> torch.Tensor:
        """Cross-entropy weights inverse to each hair colour's share of the training photos (mean 1
        per photo): blond is rare, and an unweighted head learns to say brown when in doubt."""
        labels = self.labels["hair_colour"]
        counts = torch.stack([(labels == c).sum() for c in range(len(self.cfg.model.hair_colours))]).float()
        weights = counts.sum() / (len(counts) * counts.clamp(min=1))
        return weights.to(self.device)

    def _hair_pools(self) -> list[torch.Tensor]:
        """The training photos of each hair colour the data has (found once, drawn from every step)."""
        labels = self.labels["hair_colour"]
        pools = [torch.nonzero(labels == colour).flatten() for colour in range(int(labels.max()) + 1)]
        return [pool for pool in pools if len(pool)]

    def _partners_by_hair_label(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """n training photos: a hair colour drawn uniformly among those the data has, then a photo of it."""
        pools = self.hair_pools
        colour = torch.randint(len(pools), (n,), generator=generator).tolist()
        place = torch.rand(n, generator=generator).tolist()
        rows = [int(pools[c][int(u * len(pools[c]))]) for c, u in zip(colour, place, strict=True)]
        return torch.tensor(rows)

    def train_step(self, step):
        index = self.sampler.indices(step)
        x, hair_rows = self.swap_hair(to_model_range(self.images[index]), index, step)
        if self.cfg.model.get("hair_only"):  # as FaceRefereePipeline.visible shows it the hair alone
            x = x * (self.hair[index].float() / 255)
        x = self.augment(x, step)
        x, partner = self.swap_eyes(x, step)
        x, eye_rows = x.to(self.device), index[partner]
        logits = self.referee(x)
        losses = {}
        for key, out in logits.items():
            if key not in self.labels:  # a head the data has no labels for (procedural tiny runs)
                continue
            rows = eye_rows if key in EYE_ATTRIBUTES else hair_rows if key == "hair_colour" else index
            target = self.labels[key][rows].to(self.device)
            known = target >= 0  # real photos lack some labels (-1)
            if not known.any():
                continue
            if out.dim() == 2:
                weight = self.class_weights if key == "hair_colour" else None
                losses[key] = F.cross_entropy(out[known], target[known].long(), weight=weight)
            else:
                losses[key] = F.binary_cross_entropy_with_logits(out[known], target[known].float())
        loss = sum(losses.values())
        optimizer = self.optimizers["referee"]
        if self.cfg.warmup is not None:
            rate = warmup_cosine(step, self.cfg.lr, int(self.cfg.warmup), self.total_steps(), 0.02)
            for group in optimizer.param_groups:
                group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), **{f"loss_{k}": v.item() for k, v in losses.items()}}

    def evaluate(self):
        pipeline = FaceRefereePipeline.wrapping(self.cfg, {"referee": self.referee})
        verdict = pipeline.predict(to_model_range(self.test_images))
        return referee_metrics(verdict, self.test_labels, tuple(self.cfg.model.hair_colours))
