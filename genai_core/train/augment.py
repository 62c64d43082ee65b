"""Augmentation of photos for training: what a small set of real faces needs to generalise."""

import torch
import torch.nn.functional as F


def augment(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Random flip, zoom (scale 0.85-1) with shift, slight rotation and colour jitter, resampled to
    size x size in one affine warp. x in [-1, 1]."""
    n = len(x)
    r = lambda lo, hi: torch.empty(n).uniform_(lo, hi, generator=generator)  # noqa: E731
    scale, angle = r(0.85, 1.0), r(-0.08, 0.08)
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    shift_x, shift_y = (1 - scale) * r(-1, 1), (1 - scale) * r(-1, 1)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift_x], 1), torch.stack([sin * flip, cos, shift_y], 1)], 1
    )
    grid = F.affine_grid(theta, (n, 3, size, size), align_corners=False)
    # sample from an area-averaged copy near the target size: bilinear from 128 px would alias
    source = x
    if x.shape[-1] > size:
        source = F.interpolate(x, scale_factor=size / x.shape[-1] * 1.25, mode="area")
    out = F.grid_sample(source, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    brightness, contrast = r(-0.1, 0.1)[:, None, None, None], r(0.85, 1.15)[:, None, None, None]
    mean = out.mean((1, 2, 3), keepdim=True)
    return ((out - mean) * contrast + mean + brightness).clamp(-1, 1)
