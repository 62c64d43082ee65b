"""Image helpers shared by trainers, pipelines and the CLI: value ranges, resizing, colour, grids,
animations."""

import math
from pathlib import Path

import imageio.v2
import numpy as np
import torch
import torch.nn.functional as F


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (any shape) -> float in [-1, 1], the range every network here works in."""
    return images.float() / 127.5 - 1


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255]."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Square images (N, 3, S, S) in [-1, 1] -> (N, 3, size, size): area average down, bicubic up."""
    if images.shape[-1] == size:
        return images
    if images.shape[-1] > size:
        return F.interpolate(images, size=(size, size), mode="area")
    return F.interpolate(images, size=(size, size), mode="bicubic", align_corners=False).clamp(-1, 1)


# YCbCr (BT.601): brightness (Y) apart from colour (Cb, Cr); linear, so it maps changes as well
TO_YCBCR = torch.tensor([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]])


def to_ycbcr(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [-1, 1] -> YCbCr with Y in [0, 1]."""
    return torch.einsum("ij,njhw->nihw", TO_YCBCR.to(images), (images + 1) / 2)


def from_ycbcr(ycbcr: torch.Tensor) -> torch.Tensor:
    """to_ycbcr's inverse, clamped to [-1, 1]."""
    rgb = torch.einsum("ij,njhw->nihw", torch.linalg.inv(TO_YCBCR).to(ycbcr), ycbcr)
    return rgb.clamp(0, 1) * 2 - 1


def masked_colour(images: torch.Tensor, masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation (N, 3) of each image's YCbCr values, weighted by its mask
    (N, 1, H, W) in [0, 1]: e.g. the colour of its hair."""
    ycbcr, weight = to_ycbcr(images), masks.float()
    area = weight.sum(dim=(2, 3)).clamp(min=1e-6)
    mean = (ycbcr * weight).sum(dim=(2, 3)) / area
    variance = ((ycbcr - mean[:, :, None, None]) ** 2 * weight).sum(dim=(2, 3)) / area
    return mean, variance.clamp(min=1e-8).sqrt()  # sqrt's gradient at 0 is infinite


def recolour(images: torch.Tensor, masks: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
    """Each image's masked pixels given the colour statistics mean, std ((N, 3) or (3,), YCbCr): its
    own values standardised, then rescaled, so the texture survives; blended in by the mask."""
    own_mean, own_std = masked_colour(images, masks)
    scale = (std / own_std.clamp(min=1e-3)).expand_as(own_mean)
    ycbcr = (to_ycbcr(images) - own_mean[:, :, None, None]) * scale[:, :, None, None] + \
        mean.expand_as(own_mean)[:, :, None, None]
    return images + masks * (from_ycbcr(ycbcr) - images)


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> HxWx3 uint8 grid."""
    images = images.detach().float().cpu().clamp(-1, 1)
    n, c, h, w = images.shape
    if c == 1:
        images = images.expand(n, 3, h, w)
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = torch.ones(3, ncol * (h + padding) + padding, nrow * (w + padding) + padding)
    for index in range(n):
        row, col = divmod(index, nrow)
        top, left = padding + row * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = images[index]
    return ((grid.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)


def save_animation(frames: list[np.ndarray], path, fps: int = 10) -> Path:
    """Write frames (HxWx3 uint8) as GIF or MP4, chosen by the file's suffix."""
    path = Path(path)
    if path.suffix == ".gif":
        # a fast octree palette per frame without dithering: 6x faster than imageio's median cut,
        # the same to the eye on these small smooth frames
        from PIL import Image

        palette = [Image.fromarray(f).quantize(256, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
                   for f in frames]
        palette[0].save(path, save_all=True, append_images=palette[1:], duration=round(1000 / fps), loop=0)
    elif path.suffix == ".mp4":
        # H.264 wants even sides; yuv420p keeps the file playable in every browser
        frames = [_pad_even(f) for f in frames]
        imageio.v2.mimwrite(path, frames, fps=fps, codec="libx264", pixelformat="yuv420p",
                            macro_block_size=2)
    else:
        raise ValueError(f"unsupported animation format {path.suffix!r} (use .gif or .mp4)")
    return path


def _pad_even(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def labelled_grid(images: torch.Tensor, captions: list[str], nrow: int | None = None, cell: int = 128,
                  font_size: int = 13, padding: int = 6, smooth: bool = True) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] and one caption per image -> HxWx3 uint8: each image resized to
    cell x cell (smooth: area / bicubic, else nearest so that digits' pixels stay crisp), its caption
    printed below it (lines split at " · " and newlines), on white. Captions stay readable at any page
    width, unlike labels laid over the images."""
    from PIL import Image, ImageDraw, ImageFont

    n = len(images)
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    font = ImageFont.load_default(size=font_size)
    lines = [_wrap(c.replace(" · ", "\n").split("\n"), font, cell) for c in captions]
    caption_h = (font_size + 3) * max((len(x) for x in lines), default=0) + 4
    pixels = images.detach().float().cpu().clamp(-1, 1)
    if pixels.shape[1] == 1:
        pixels = pixels.expand(-1, 3, -1, -1)
    big = resize_square(pixels, cell) if smooth else F.interpolate(pixels, size=(cell, cell), mode="nearest")
    big = to_uint8(big).permute(0, 2, 3, 1).numpy()
    width, height = nrow * (cell + padding) + padding, ncol * (cell + caption_h + padding) + padding
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for i in range(n):
        row, col = divmod(i, nrow)
        left, top = padding + col * (cell + padding), padding + row * (cell + caption_h + padding)
        canvas.paste(Image.fromarray(big[i]), (left, top))
        for j, line in enumerate(lines[i]):
            draw.text((left + cell / 2, top + cell + 2 + j * (font_size + 3)), line, fill=(20, 20, 20),
                      font=font, anchor="ma")
    return np.asarray(canvas)


def _wrap(lines: list[str], font, width: int) -> list[str]:
    """Lines broken at spaces so that each fits `width` pixels in `font`."""
    out = []
    for line in lines:
        current = ""
        for word in line.split(" "):
            trial = f"{current} {word}" if current else word
            if current and font.getlength(trial) > width:
                out.append(current)
                current = word
            else:
                current = trial
        out.append(current)
    return out
