"""How good the MNIST GAN's digits are, read by the MNIST referee: FD-MNIST and class coverage."""

import numpy as np
import torch

from .frechet import frechet_distance


def mnist_gan_metrics(referee, fake: torch.Tensor, real_features: np.ndarray) -> dict:
    """FD-MNIST, and how evenly the referee sees the ten classes among generated digits."""
    classes = referee.predict(fake)
    share = np.bincount(classes, minlength=10) / len(classes)
    nonzero = share[share > 0]
    return {
        "fd_mnist": frechet_distance(referee.features(fake), real_features),
        "class_evenness": float(-(nonzero * np.log(nonzero)).sum() / np.log(10)),
        "min_class_share": float(share.min()),
        "classes_covered": int((share >= 0.02).sum()),
    }
