"""The VQGAN's measures: reconstruction error, codebook use, and the shapes checker on its copies."""

import math

import numpy as np
import torch

from ..data.shapes import caption, check_image
from .image import l1, psnr

MAX_BATCH = 128


def codebook_perplexity(counts: torch.Tensor) -> float:
    """exp(entropy) of a code histogram: how many codes are in effective use."""
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return math.exp(float(-(p * p.log()).sum()))


def checker_passes(images: torch.Tensor, scenes: list[dict]) -> list[bool]:
    """Whether the shapes world's checker reads each image as its scene's caption."""
    return [check_image(image, caption(s))["all"] for image, s in zip(images, scenes, strict=True)]


def vqgan_metrics(pipeline, images: torch.Tensor, scenes: list[dict] | None = None) -> dict:
    """Held-out reconstruction PSNR and L1 ([0, 1] scale), and codebook usage over those images. With
    the images' scenes, also checker_ok: the share of reconstructions the world's checker reads as
    their caption, the ceiling of any prompt optimiser steering this VQGAN (PSNR hardly sees a
    square's rounded corners, the checker does)."""
    vqgan = pipeline.vqgan
    psnr_sum, l1_sum, passes = 0.0, 0.0, []
    counts = torch.zeros(vqgan.n_embed)
    for start in range(0, len(images), MAX_BATCH):
        batch = images[start : start + MAX_BATCH]
        quant, indices = vqgan.encode(batch)
        recon = vqgan.decode(quant)
        psnr_sum += psnr(recon, batch).sum().item()
        l1_sum += l1(recon, batch).sum().item()
        counts += torch.bincount(indices.flatten().cpu(), minlength=vqgan.n_embed)
        if scenes is not None:
            passes += checker_passes(recon.cpu(), scenes[start : start + MAX_BATCH])
    n = len(images)
    metrics = {
        "psnr": psnr_sum / n,
        "l1": l1_sum / n,
        "perplexity": codebook_perplexity(counts),
        "codes_used": float((counts > 0).float().mean()),
    }
    if scenes is not None:
        metrics["checker_ok"] = float(np.mean(passes))
    return metrics
