"""Image similarity: PSNR and SSIM, each optionally restricted to a mask (e.g. everything but hair);
and the contrast of an image's shapes, which tells a face from a flat tile."""

import torch
import torch.nn.functional as F


def _to_unit(images: torch.Tensor) -> torch.Tensor:
    return (images.float().clamp(-1, 1) + 1) / 2  # model range [-1, 1] -> [0, 1]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean of (N, C, H, W) values over the pixels where mask (N, 1, H, W) is true."""
    if mask is None:
        return values.flatten(1).mean(1)
    weight = mask.float().expand_as(values)
    return (values * weight).flatten(1).sum(1) / weight.flatten(1).sum(1).clamp(min=1)


def l1(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute difference per image, on the [0, 1] scale."""
    return _masked_mean((_to_unit(a) - _to_unit(b)).abs(), mask)


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio per image in dB, images in [-1, 1]."""
    mse = _masked_mean((_to_unit(a) - _to_unit(b)) ** 2, mask)
    return 10 * torch.log10(1 / mse.clamp(min=1e-10))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float32) - size // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5), the
    SSIM map averaged over the channels and the masked pixels. Images in [-1, 1].

    With a mask, only the masked pixels of a are compared: a's other pixels are replaced by b's first.
    Otherwise every window that straddles the mask's edge would count a change made outside it (an
    ideal hair-colour change scored 0.77 "outside the hair" on 64x64 faces)."""
    if mask is not None:
        a = torch.where(mask, a, b)
    x, y = _to_unit(a), _to_unit(b)
    channels = x.shape[1]
    window = _gaussian_window().expand(channels, 1, -1, -1)
    blur = lambda t: F.conv2d(F.pad(t, [5] * 4, mode="reflect"), window, groups=channels)  # noqa: E731
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return _masked_mean(ssim_map, mask)


def shape_contrast(images: torch.Tensor) -> float:
    """Mean over images and channels of the spatial standard deviation of the image pooled 4x4: the
    contrast of its shapes. Pooling ignores fine texture, so a flat tile with a checkered pattern (what
    a GAN draws far from its training latents) scores near 0, where a per-pixel std would not."""
    return F.avg_pool2d(images.float(), 4).std(dim=(2, 3)).mean().item()
