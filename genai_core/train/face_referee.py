"""Training the face referee: a multi-head attribute classifier that judges every face model."""

import torch
import torch.nn.functional as F

from ..data.faces import load_labelled_faces
from ..images import to_model_range
from ..models.face_referee import build_referee
from ..pipelines.face_referee import FaceRefereePipeline
from .task import EpochSampler, Task


class FaceRefereeTask(Task):
    """Multi-head attribute classifier; keeps the checkpoint with the best mean held-out accuracy."""

    best_metric = "accuracy_mean"

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        size = int(cfg.data.size)
        self.images, self.labels = load_labelled_faces(cfg.data, size, "train", cfg.seed)
        self.test_images, self.test_labels = load_labelled_faces(cfg.data, size, "eval", cfg.seed)
        self.sampler = EpochSampler(len(self.images), cfg.batch_size, cfg.seed)
        self.referee = build_referee(cfg.model)["referee"].to(device)
        self.modules = {"referee": self.referee}
        self.optimizers = {"referee": torch.optim.Adam(self.referee.parameters(), lr=cfg.lr)}

    def steps_per_epoch(self):
        return len(self.sampler)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """Flips, exposure and noise: the referee must also read imperfect generated faces."""
        flip = torch.rand(len(x)) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(3), x)
        gain = 1 + 0.15 * (torch.rand(len(x), 1, 1, 1) * 2 - 1)
        noise = torch.randn_like(x) * torch.rand(len(x), 1, 1, 1) * self.cfg.augment_noise
        return ((x + 1) * gain - 1 + noise).clamp(-1, 1)

    def train_step(self, step):
        index = self.sampler.indices(step)
        x = self.augment(to_model_range(self.images[index])).to(self.device)
        logits = self.referee(x)
        losses = {}
        for key, out in logits.items():
            target = self.labels[key][index].to(self.device)
            known = target >= 0  # real-data sources may lack some labels (-1)
            if not known.any():
                continue
            if key == "hair_colour":
                losses[key] = F.cross_entropy(out[known], target[known].long())
            else:
                losses[key] = F.binary_cross_entropy_with_logits(out[known], target[known].float())
        loss = sum(losses.values())
        optimizer = self.optimizers["referee"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item(), **{f"loss_{k}": v.item() for k, v in losses.items()}}

    def evaluate(self):
        pipeline = FaceRefereePipeline.wrapping(self.cfg, {"referee": self.referee})
        predicted = pipeline.predict(to_model_range(self.test_images))
        metrics = {}
        for key in ("eyeglasses", "hair_colour", "male"):
            target = self.test_labels[key]
            known = target >= 0
            if known.any():
                hits = torch.as_tensor(predicted[key])[known] == target[known].long()
                metrics[f"accuracy_{key}"] = hits.float().mean().item()
        metrics["accuracy_mean"] = sum(metrics.values()) / len(metrics)
        return metrics


