"""The shapes-world VQGAN: encode / decode / reconstruct, and starting latents for the CLIP-guided
optimiser (which works on the continuous latent before quantisation, z of shape latent_shape)."""

import math

import numpy as np
import torch

from ..data.shapes import caption, check_image
from ..images import image_grid, resize_square
from ..metrics.image import l1, psnr
from ..models.vqgan import build_vqgan
from .base import Pipeline

MAX_BATCH = 128


class VQGANPipeline(Pipeline):
    build = staticmethod(build_vqgan)
    shipped = ("vqgan",)

    @property
    def size(self) -> int:
        return int(self.cfg.data.size)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """(embed_dim, h, w) of one image's latent."""
        side = self.size // self.vqgan.downsample_factor
        return (self.vqgan.embed_dim, side, side)

    def fit(self, images: torch.Tensor) -> torch.Tensor:
        """Any square size -> the model's size."""
        return resize_square(images, self.size)

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images (N, 3, H, W) in [-1, 1] -> (quant (N, embed_dim, h, w), indices (N, h, w))."""
        parts = [self.vqgan.encode(self.fit(c)) for c in images.split(MAX_BATCH)]
        return torch.cat([q for q, _ in parts]), torch.cat([i for _, i in parts])

    def decode(self, quant: torch.Tensor) -> torch.Tensor:
        """quant or any latent (N, embed_dim, h, w) -> images in [-1, 1]. Keeps the autograd graph
        when the latent requires grad (the optimiser backpropagates through the decoder)."""
        return self.vqgan.decode(quant)

    def quantize_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest codebook entries with the straight-through gradient."""
        return self.vqgan.quantize_latent(z)

    @torch.no_grad()
    def decode_code(self, indices: torch.Tensor) -> torch.Tensor:
        return self.vqgan.decode_code(indices)

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.vqgan.decode(self.encode(c)[0]) for c in images.split(MAX_BATCH)])

    def random_latent(self, n: int, seed: int) -> torch.Tensor:
        """n latents of random codes (N, embed_dim, h, w), deterministic from seed."""
        return self.vqgan.random_latent(n, self.latent_shape[1], torch.Generator().manual_seed(seed))

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """Decodings of random code grids (a VQGAN has no prior of its own: CLIP steers it)."""
        with torch.no_grad():
            return image_grid(self.decode(self.random_latent(n, seed)), nrow=min(n, 8))


def perplexity(counts: torch.Tensor) -> float:
    """exp(entropy) of a code histogram: how many codes are in effective use."""
    p = counts.double() / counts.sum()
    p = p[p > 0]
    return math.exp(float(-(p * p.log()).sum()))


def checker_passes(images: torch.Tensor, scenes: list[dict]) -> list[bool]:
    """Whether the shapes world's checker reads each image as its scene's caption."""
    return [check_image(image, caption(s))["all"] for image, s in zip(images, scenes, strict=True)]


@torch.no_grad()
def vqgan_metrics(pipeline: VQGANPipeline, images: torch.Tensor, scenes: list[dict] | None = None) -> dict:
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
        "perplexity": perplexity(counts),
        "codes_used": float((counts > 0).float().mean()),
    }
    if scenes is not None:
        metrics["checker_ok"] = float(np.mean(passes))
    return metrics
