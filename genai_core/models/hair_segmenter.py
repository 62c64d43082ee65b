"""The hair segmenter: a small U-Net (Ronneberger et al. 2015) that marks the hair pixels of a framed
face, so that the hair-colour tab changes the hair and nothing else. It learns from Celeb1k's drawn
hair masks and the face parser's masks of the other photos; it replaces the 53 MB parser at run time.
"""

import torch
from torch import nn


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True),
    )


class HairSegmenter(nn.Module):
    """(N, 3, S, S) in [-1, 1], S a multiple of 2^(levels - 1) -> hair logits (N, 1, S, S)."""

    def __init__(self, channels=(16, 32, 64, 128)):
        super().__init__()
        channels = list(channels)
        self.down = nn.ModuleList()
        c_in = 3
        for c_out in channels:
            self.down.append(conv_block(c_in, c_out))
            c_in = c_out
        self.up = nn.ModuleList()
        for c_skip in reversed(channels[:-1]):
            self.up.append(conv_block(c_in + c_skip, c_skip))
            c_in = c_skip
        self.head = nn.Conv2d(c_in, 1, 1)
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1]), strict=True):
            x = block(torch.cat([self.upsample(x), skip], 1))
        return self.head(x)


def build_hair_segmenter(model_cfg) -> dict[str, nn.Module]:
    return {"segmenter": HairSegmenter(tuple(model_cfg.channels))}
