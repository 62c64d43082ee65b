"""The shapes-world VQGAN: encode / decode / reconstruct, and starting latents for the CLIP-guided
optimiser (which works on the continuous latent before quantisation, z of shape latent_shape)."""


import numpy as np
import torch

from ..checkpoint import WeightsError, read_taming_state_dict
from ..images import image_grid, resize_square
from ..models.vqgan import VQModel, build_vqgan
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


def load_taming_vqgan(ckpt_path, yaml_path) -> VQModel:
    """A taming-transformers VQGAN from its model.yaml (model.params.{ddconfig, n_embed, embed_dim})
    and .ckpt, loaded strictly: any missing or unexpected key is a WeightsError naming them."""
    from omegaconf import OmegaConf

    try:
        params = OmegaConf.load(yaml_path).model.params
        ddconfig = OmegaConf.to_container(params.ddconfig, resolve=True)
        model = VQModel(ddconfig, int(params.n_embed), int(params.embed_dim))
    except Exception as err:  # missing keys, bad YAML, a ddconfig the classes cannot build
        raise WeightsError(f"{yaml_path} is not a usable taming VQGAN config: {err}") from None
    state = read_taming_state_dict(ckpt_path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise WeightsError(f"{ckpt_path} does not fit the VQGAN of {yaml_path}: "
                           f"missing {_few(missing)}; unexpected {_few(unexpected)}")
    wrong = [k for k in expected if state[k].shape != expected[k].shape]
    if wrong:
        k = wrong[0]
        raise WeightsError(f"{ckpt_path}: {len(wrong)} tensors have the wrong shape, e.g. {k} "
                           f"{tuple(state[k].shape)} instead of {tuple(expected[k].shape)}")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    return model.eval()


def _few(keys: list[str], n: int = 5) -> str:
    if not keys:
        return "none"
    more = f" and {len(keys) - n} more" if len(keys) > n else ""
    return f"{len(keys)} ({', '.join(keys[:n])}{more})"

