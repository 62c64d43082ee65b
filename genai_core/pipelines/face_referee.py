"""The face referee's verdicts (eyeglasses, hair colour, male, ...) on faces of any size."""

import numpy as np
import torch

from ..models.face_referee import build_referee
from .base import Pipeline

MAX_BATCH = 512


class FaceRefereePipeline(Pipeline):
    """predict(images in [-1, 1], any size) -> {attribute: labels, attribute_prob(s): probabilities}."""

    build = staticmethod(build_referee)
    shipped = ("referee",)

    @torch.no_grad()
    def logits(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        chunks = [self.referee(chunk.float()) for chunk in images.split(MAX_BATCH)]
        return {k: torch.cat([c[k] for c in chunks]) for k in chunks[0]}

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
