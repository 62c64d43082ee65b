"""Inference for the toy GANs of book ch. 3: points on the curve y = 1.08^x, and multiples of 5."""

import numpy as np
import torch
import torch.nn.functional as F

from ..data.toy import denormalise_points
from ..metrics.toy_gans import curve_metrics, multiples_metrics
from ..models.mlp_gan import build_mlp_gan
from ..plots import curve_figure, figure_to_array, multiples_figure
from .base import Pipeline


def sample_multiples(generator_net, n, book: bool, tau: float, generator: torch.Generator):
    """Integers from the generator. Gumbel noise is drawn from `generator` so seeds reproduce."""
    latent = generator_net.latent_dim
    if book:
        z = F.one_hot(torch.randint(100, (n,), generator=generator), 100).float()
        return generator_net(z).argmax(1).numpy()
    logits = generator_net(torch.randn(n, latent, generator=generator))
    uniform = torch.rand(logits.shape, generator=generator).clamp_(1e-9, 1 - 1e-9)
    gumbel = -torch.log(-torch.log(uniform))
    return (logits / tau + gumbel).argmax(1).numpy()


class CurvePipeline(Pipeline):
    build = staticmethod(build_mlp_gan)
    shipped = ("generator",)

    @torch.no_grad()
    def __call__(self, n: int, seed: int) -> np.ndarray:
        z = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
        return denormalise_points(self.generator(z)).numpy()

    def metrics(self, points) -> dict:
        return curve_metrics(torch.from_numpy(points))

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return figure_to_array(curve_figure(self(n, seed)))


class MultiplesPipeline(Pipeline):
    build = staticmethod(build_mlp_gan)
    shipped = ("generator",)

    @torch.no_grad()
    def __call__(self, n: int, seed: int) -> np.ndarray:
        generator = torch.Generator().manual_seed(seed)
        book = self.cfg.model.variant == "book"
        return sample_multiples(self.generator, n, book, self.cfg.model.tau, generator)

    def metrics(self, values) -> dict:
        return multiples_metrics(values)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return figure_to_array(multiples_figure(self(n, seed)))
