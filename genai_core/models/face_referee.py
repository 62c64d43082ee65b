"""The face referee: a CNN with one head per attribute (a logit for yes/no attributes, one logit per
class for hair colour), which judges the faces every face model makes.

Any image size goes in: it is resized (area average) to the referee's own resolution first, so one
referee judges 32x32, 64x64 and 128x128 faces alike. arch "small" is the procedural-world referee's
plain conv stack; "resnet" (the real-photo referee) stacks stride-2 residual blocks, then global
average pooling."""

import torch
import torch.nn.functional as F
from torch import nn


class ResidualDown(nn.Module):
    """Two 3x3 convolutions that halve the resolution, with a strided 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True),
            nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, 2, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class FaceReferee(nn.Module):
    def __init__(self, heads: dict[str, int], size: int, arch: str, channels, feature_dim: int,
                 dropout: float = 0.0):
        super().__init__()
        self.size, self.head_sizes = size, dict(heads)
        if arch == "small":
            layers, c_in = [], 3
            for c_out in channels:
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(True),
                           nn.MaxPool2d(2)]
                c_in = c_out
            side = size // 2 ** len(channels)
            self.conv = nn.Sequential(*layers)
            self.fc = nn.Sequential(nn.Flatten(), nn.Linear(c_in * side * side, feature_dim), nn.ReLU(True))
        elif arch == "resnet":
            first = channels[0]
            stem = [nn.Conv2d(3, first, 3, 1, 1, bias=False), nn.BatchNorm2d(first), nn.ReLU(True)]
            blocks = [ResidualDown(a, b) for a, b in zip([first, *channels[:-1]], channels, strict=True)]
            self.conv = nn.Sequential(*stem, *blocks)
            self.fc = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                    nn.Linear(channels[-1], feature_dim), nn.ReLU(True))
        else:
            raise ValueError(f"model.arch must be small or resnet, got {arch!r}")
        self.heads = nn.ModuleDict({k: nn.Linear(feature_dim, n) for k, n in self.head_sizes.items()})

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
        """Logits per head: (N,) for a yes/no head, (N, classes) for a class head."""
        h = self.features(x)
        return {k: head(h).squeeze(1) if self.head_sizes[k] == 1 else head(h)
                for k, head in self.heads.items()}


def build_referee(model_cfg) -> dict[str, nn.Module]:
    heads = {str(k): int(v) for k, v in model_cfg.heads.items()}
    if model_cfg.get("hair_only"):  # shown the hair alone, it can judge nothing but its colour
        heads = {"hair_colour": heads["hair_colour"]}
    return {"referee": FaceReferee(heads, model_cfg.size, model_cfg.arch, tuple(model_cfg.channels),
                                   model_cfg.feature_dim, model_cfg.dropout)}
