"""The face referee's verdicts (eyeglasses, hair colour, male) on faces of any size."""

import numpy as np
import torch

from ..data.faces import HAIR_COLOURS
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

    def predict(self, images: torch.Tensor) -> dict[str, np.ndarray]:
        """eyeglasses / male: 0-1 labels and *_prob; hair_colour: index into HAIR_COLOURS and
        hair_colour_probs (N, 4)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"the referee takes (N, 3, H, W) RGB images, got shape {tuple(images.shape)}")
        logits = self.logits(images)
        out = {}
        for key in ("eyeglasses", "male"):
            prob = torch.sigmoid(logits[key]).numpy()
            out[key], out[f"{key}_prob"] = (prob > 0.5).astype(np.int64), prob
        probs = torch.softmax(logits["hair_colour"], dim=1).numpy()
        out["hair_colour"], out["hair_colour_probs"] = probs.argmax(1), probs
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
                f"{HAIR_COLOURS[p['hair_colour'][i]]}"
            )
        return lines



# ---------------------------------------------------------------- the conditional WGAN-GP


