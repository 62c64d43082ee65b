"""The face referee's verdicts (eyeglasses, hair colour, male, ...) on faces of any size.

A referee with model.hair_only sees nothing but the hair: every image is multiplied by the hair
segmenter's mask (hair_segmenter) first, so the face around the hair cannot vote on its colour. A
referee with hair_reader takes its hair_colour verdict from such a referee."""

import numpy as np
import torch

from ..config import ConfigError, project_path
from ..models.face_referee import build_referee
from .base import Pipeline
from .hair_segmenter import HairSegmenterPipeline

MAX_BATCH = 512


class FaceRefereePipeline(Pipeline):
    """predict(images in [-1, 1], any size) -> {attribute: labels, attribute_prob(s): probabilities}."""

    build = staticmethod(build_referee)
    shipped = ("referee",)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = [self.referee(self.visible(chunk.float())) for chunk in images.split(MAX_BATCH)]
        out = {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}
        if self.cfg.get("hair_reader"):
            out["hair_colour"] = self.hair_reader().logits(images)["hair_colour"]
        return out

    def visible(self, images: torch.Tensor) -> torch.Tensor:
        """What the referee sees: the images, or with model.hair_only their hair alone (the rest 0,
        mid grey)."""
        if not self.cfg.model.get("hair_only"):
            return images
        return images * self.segmenter().hair(images)

    def segmenter(self) -> HairSegmenterPipeline:
        return self.memo("segmenter", lambda: _load(HairSegmenterPipeline, self.cfg, "hair_segmenter"))

    def hair_reader(self) -> "FaceRefereePipeline":
        return self.memo("hair_reader", lambda: _load(FaceRefereePipeline, self.cfg, "hair_reader"))

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        return torch.cat([self.referee.features(c.float()) for c in images.split(MAX_BATCH)]).numpy()

    @property
    def hair_colours(self) -> tuple[str, ...]:
        """The classes of the hair_colour head, in order."""
        return tuple(self.cfg.model.hair_colours)

    def predict(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        """For each yes/no head: 0-1 labels and {head}_prob; hair_colour: an index into hair_colours and
        hair_colour_probs (N, classes)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"the referee takes (N, 3, H, W) RGB images, got shape {tuple(images.shape)}")
        out = {}
        for key, logits in self.logits(images).items():
            if logits.dim() == 1:
                prob = torch.sigmoid(logits).numpy()
                out[key], out[f"{key}_prob"] = (prob > 0.5).astype(np.int64), prob
            else:
                probs = torch.softmax(logits, dim=1).numpy()
                out[key], out[f"{key}_probs"] = probs.argmax(1), probs
        return out

    def captions(self, images: torch.Tensor) -> list[str]:
        """One line per image: the referee's verdict, e.g. 'glasses 0.98 · woman 0.91 · blond'."""
        p = self.predict(images)
        lines = []
        for i in range(len(images)):
            glasses = p["eyeglasses_prob"][i]
            male = p["male_prob"][i]
            lines.append(
                f"{'glasses' if glasses > 0.5 else 'no glasses'} {max(glasses, 1 - glasses):.2f} · "
                f"{'man' if male > 0.5 else 'woman'} {max(male, 1 - male):.2f} · "
                f"{self.hair_colours[p['hair_colour'][i]]}"
            )
        return lines


def _load(pipeline_class, cfg, key: str):
    folder = project_path(cfg.get(key))
    if folder is None or not folder.is_dir():
        raise ConfigError(f"{cfg.name}: {key} names no weights folder ({cfg.get(key)!r})")
    return pipeline_class.from_pretrained(folder)
