"""The MNIST referee: digit classes, and the penultimate features behind FD-MNIST."""

import numpy as np
import torch

from ..models.mnist_classifier import build_mnist_classifier
from .base import Pipeline


class MnistClassifierPipeline(Pipeline):
    build = staticmethod(build_mnist_classifier)
    shipped = ("classifier",)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """images (N, 1, 28, 28) in [-1, 1] -> penultimate features (N, 128)."""
        return torch.cat([self.classifier.features(c) for c in images.split(1000)]).numpy()

    @property
    def classes(self) -> tuple[str, ...]:
        """The name of each class index (digits, or Fashion-MNIST's garments)."""
        return tuple(self.cfg.model.classes)

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> np.ndarray:
        return torch.cat([self.classifier(c).argmax(1) for c in images.split(1000)]).numpy()



