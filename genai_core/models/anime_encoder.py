"""A small convolutional autoencoder for 64x64 anime faces. Its bottleneck is the feature space of the
project's Frechet distance for face GANs (FD-anime): no pretrained Inception weights can be
downloaded here, so the project trains its own referee on the training faces and documents it."""

import torch
from torch import nn


def _down(cin, cout):
    return [nn.Conv2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]


def _up(cin, cout):
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.ReLU(True)]


class AnimeEncoder(nn.Module):
    """(N, 3, 64, 64) in [-1, 1] -> (N, feature_dim)."""

    def __init__(self, channels=(32, 64, 128, 128), feature_dim: int = 128):
        super().__init__()
        c1, c2, c3, c4 = channels
        self.feature_dim = feature_dim
        self.conv = nn.Sequential(*_down(3, c1), *_down(c1, c2), *_down(c2, c3), *_down(c3, c4))  # 4x4
        self.fc = nn.Linear(c4 * 16, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).flatten(1))


class AnimeDecoder(nn.Module):
    """Only needed to train the encoder; not shipped."""

    def __init__(self, channels=(32, 64, 128, 128), feature_dim: int = 128):
        super().__init__()
        c1, c2, c3, c4 = channels
        self.c4 = c4
        self.fc = nn.Sequential(nn.Linear(feature_dim, c4 * 16), nn.ReLU(True))
        self.conv = nn.Sequential(
            *_up(c4, c3), *_up(c3, c2), *_up(c2, c1), nn.ConvTranspose2d(c1, 3, 4, 2, 1), nn.Tanh()
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv(self.fc(h).view(-1, self.c4, 4, 4))


def build_anime_encoder(model_cfg) -> dict[str, nn.Module]:
    channels = tuple(model_cfg.channels)
    return {
        "encoder": AnimeEncoder(channels, model_cfg.feature_dim),
        "decoder": AnimeDecoder(channels, model_cfg.feature_dim),
    }
