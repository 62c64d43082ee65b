"""Inference and plots for the toy GANs: points on the curve, and multiples of 5."""

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from ..data.toy import MULTIPLE, NUM_VALUES, X_MAX, curve, denormalise_points  # noqa: E402
from ..metrics.toy import curve_metrics, multiples_metrics  # noqa: E402
from ..models.gan_mlp import build_gan  # noqa: E402
from .base import Pipeline  # noqa: E402


def figure_to_array(figure) -> np.ndarray:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return np.asarray(Image.open(buffer).convert("RGB"))


def curve_figure(points: np.ndarray):
    figure, axis = plt.subplots(figsize=(6, 4))
    xs = np.linspace(0, X_MAX, 200)
    axis.plot(xs, curve(torch.from_numpy(xs)).numpy(), color="black", lw=1.5, label="y = 1.08^x")
    axis.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5, color="tab:orange", label="generated")
    axis.set(xlabel="x", ylabel="y", xlim=(-5, 55), ylim=(-5, 55))
    axis.legend(loc="upper left")
    figure.tight_layout()
    return figure


def multiples_figure(values: np.ndarray):
    figure, axis = plt.subplots(figsize=(7, 3.5))
    counts = np.bincount(values, minlength=NUM_VALUES)
    colors = ["tab:green" if v % MULTIPLE == 0 else "tab:red" for v in range(NUM_VALUES)]
    axis.bar(np.arange(NUM_VALUES), counts, color=colors, width=0.9)
    axis.axhline(len(values) / (NUM_VALUES // MULTIPLE), color="black", lw=1, ls="--", label="perfectly even")
    axis.set(xlabel="generated integer (green: multiple of 5)", ylabel="count", xlim=(-1, NUM_VALUES))
    axis.legend(loc="upper right")
    figure.tight_layout()
    return figure


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
    build = staticmethod(build_gan)
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
    build = staticmethod(build_gan)
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
