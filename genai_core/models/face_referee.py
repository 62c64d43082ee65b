"""The face referee: a small CNN with one head per attribute (eyeglasses, hair colour, male).

Any image size goes in: it is resized (area average) to the referee's own resolution first, so one
referee judges the 32x32 cWGAN, 64x64 CycleGAN and 128x128 VAE faces alike."""

import torch
import torch.nn.functional as F
from torch import nn

HEADS = {"eyeglasses": 1, "hair_colour": 4, "male": 1}


class FaceReferee(nn.Module):
    def __init__(self, channels=(16, 32, 64), feature_dim=64, size=32):
        super().__init__()
        self.size = size
        layers, c_in = [], 3
        for c_out in channels:
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(True),
                nn.MaxPool2d(2),
            ]
            c_in = c_out
        side = size // 2 ** len(channels)
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, feature_dim), nn.ReLU(True))
        self.heads = nn.ModuleDict({k: nn.Linear(feature_dim, n) for k, n in HEADS.items()})

    def resize(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == self.size and x.shape[-2] == self.size:
            return x
        if x.shape[-1] > self.size:
            return F.adaptive_avg_pool2d(x, self.size)  # area average: no aliasing of thin frames
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, 3, H, W) in [-1, 1] -> (N, feature_dim)."""
        return self.fc(self.conv(self.resize(x)))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head: eyeglasses (N,), hair_colour (N, 4), male (N,)."""
        h = self.features(x)
        return {k: head(h).squeeze(1) if HEADS[k] == 1 else head(h) for k, head in self.heads.items()}


def build_referee(model_cfg) -> dict[str, nn.Module]:
    return {"referee": FaceReferee(tuple(model_cfg.channels), model_cfg.feature_dim, model_cfg.size)}
