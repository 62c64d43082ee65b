"""A small CNN for 28x28 digits. It is the referee of the MNIST models: its predictions give class
coverage and its penultimate features give the Frechet distance FD-MNIST."""

import torch
from torch import nn


class MnistClassifier(nn.Module):
    def __init__(self, channels=(32, 64), feature_dim=128, num_classes=10):
        super().__init__()
        c1, c2 = channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7x7
        )
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c2 * 49, feature_dim), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 1, 28, 28) in [-1, 1] -> (N, feature_dim)."""
        return self.fc(self.conv(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def build_mnist_classifier(model_cfg) -> dict[str, nn.Module]:
    return {"classifier": MnistClassifier(tuple(model_cfg.channels), model_cfg.feature_dim)}
