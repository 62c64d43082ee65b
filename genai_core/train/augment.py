"""Augmentation of photos for training: what a small set of real faces needs to generalise."""

import torch
import torch.nn.functional as F


def augment(x: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Random flip, zoom (scale 0.85-1) with shift, slight rotation and colour jitter, resampled to
    size x size in one affine warp. x in [-1, 1]."""
    return augment_with_masks(x, None, size, generator)[0]


def augment_with_masks(x: torch.Tensor, masks: torch.Tensor | None, size: int, generator: torch.Generator):
    """augment(), with masks (N, 1, H, W) in [0, 1] warped by the same affine map (no colour jitter):
    -> (images, masks or None)."""
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

    def warp(images):
        # sample from an area-averaged copy near the target size: bilinear from 128 px would alias
        if images.shape[-1] > size:
            images = F.interpolate(images, scale_factor=size / images.shape[-1] * 1.25, mode="area")
        return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    out = warp(x)
    brightness, contrast = r(-0.1, 0.1)[:, None, None, None], r(0.85, 1.15)[:, None, None, None]
    mean = out.mean((1, 2, 3), keepdim=True)
    out = ((out - mean) * contrast + mean + brightness).clamp(-1, 1)
    return out, None if masks is None else warp(masks)


def diff_augment(x: torch.Tensor, translation: float = 0.125, cutout: float = 0.5) -> torch.Tensor:
    """Differentiable augmentation (Zhao et al. 2020, "color,translation,cutout"), applied to the real
    and the generated images the discriminator sees, so that it cannot memorise a small training set
    while the generator still gets gradients. Random numbers from torch's global generator (kept in
    the checkpoint). x (N, 3, H, W) in [-1, 1]."""
    n, _, h, w = x.shape
    # colour: brightness, saturation, contrast
    x = x + (torch.rand(n, 1, 1, 1, device=x.device) - 0.5)
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) * 2) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device) + 0.5) + mean
    # translation by up to `translation` of the side, zero-padded
    shift_h, shift_w = int(h * translation + 0.5), int(w * translation + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy).clamp(-1, h)
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx).clamp(-1, w)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device)[:, None, None]
    x = padded.permute(0, 2, 3, 1)[batch, rows + 1, cols + 1].permute(0, 3, 1, 2)
    # cutout: a square of `cutout` of the side set to zero
    size_h, size_w = int(h * cutout + 0.5), int(w * cutout + 0.5)
    top = torch.randint(0, h + (1 - size_h % 2), (n, 1, 1), device=x.device) - size_h // 2
    left = torch.randint(0, w + (1 - size_w % 2), (n, 1, 1), device=x.device) - size_w // 2
    ys, xs = torch.arange(h, device=x.device)[None, :, None], torch.arange(w, device=x.device)[None, None, :]
    hole = (ys >= top) & (ys < top + size_h) & (xs >= left) & (xs < left + size_w)
    return x * (~hole)[:, None].to(x.dtype)
