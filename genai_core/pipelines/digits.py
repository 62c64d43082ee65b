"""Digits: the referee classifier, FD-MNIST, the MLP GAN's grid and latent walk, and the autoencoder
(reconstructions, the 2-D map of its codes, and drawings normalised like MNIST)."""

import functools
from dataclasses import dataclass

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image, ImageFilter, ImageOps

from ..config import project_path
from ..data.mnist import load_npz, synthetic_digits, to_model_range
from ..images import image_grid
from ..metrics.frechet import frechet_distance
from ..metrics.image import psnr
from ..models.autoencoder import build_autoencoder
from ..models.classifier import build_classifier
from ..models.gan_mlp import build_gan
from .base import Pipeline


class DigitReferee(Pipeline):
    build = staticmethod(build_classifier)
    shipped = ("classifier",)

    @torch.no_grad()
    def features(self, images: torch.Tensor) -> np.ndarray:
        """images (N, 1, 28, 28) in [-1, 1] -> penultimate features (N, 128)."""
        return torch.cat([self.classifier.features(c) for c in images.split(1000)]).numpy()

    @torch.no_grad()
    def predict(self, images: torch.Tensor) -> np.ndarray:
        return torch.cat([self.classifier(c).argmax(1) for c in images.split(1000)]).numpy()

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        raise ValueError("mnist_classifier is a classifier: it has nothing to sample")


def digit_gan_metrics(referee: DigitReferee, fake: torch.Tensor, real_features: np.ndarray) -> dict:
    """FD-MNIST, and how evenly the referee sees the ten classes among generated digits."""
    classes = referee.predict(fake)
    share = np.bincount(classes, minlength=10) / len(classes)
    nonzero = share[share > 0]
    return {
        "fd_mnist": frechet_distance(referee.features(fake), real_features),
        "class_evenness": float(-(nonzero * np.log(nonzero)).sum() / np.log(10)),
        "min_class_share": float(share.min()),
        "classes_covered": int((share >= 0.02).sum()),
    }


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation: Gaussian latents live near a sphere, straight lines cut inside it."""
    cos = torch.clamp((a * b).sum() / (a.norm() * b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def latent(seed: int, dim: int) -> torch.Tensor:
    """The latent vector a seed names: one seed, one image, in every tab and the CLI."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed))


class DigitGANPipeline(Pipeline):
    build = staticmethod(build_gan)
    shipped = ("generator",)

    @torch.no_grad()
    def images(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z).view(-1, 1, 28, 28)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return self.grid(n, seed)

    def grid(self, n: int, seed: int, nrow: int | None = None) -> np.ndarray:
        """n digits, image i from latent(seed + i): each cell can be regenerated alone."""
        z = torch.stack([latent(seed + i, self.generator.latent_dim) for i in range(n)])
        return image_grid(self.images(z), nrow=nrow)

    def walk(self, seed_a: int, seed_b: int, frames: int) -> list[np.ndarray]:
        """Frames of a slerp walk from seed_a's digit to seed_b's, each HxWx3 uint8."""
        dim = self.generator.latent_dim
        a, b = latent(seed_a, dim), latent(seed_b, dim)
        z = torch.stack([slerp(a, b, t) for t in np.linspace(0, 1, frames)])
        return [image_grid(img[None], padding=0) for img in self.images(z)]


# ---------------------------------------------------------------------------------- autoencoder
def reconstruction_metrics(images, reconstructions, labels=None, referee=None) -> dict:
    """Test-set MSE (on the [0, 1] pixel scale, like PSNR), mean PSNR per image in dB, and how
    often the referee still reads the right digit in the reconstructions."""
    unit = lambda t: (t.clamp(-1, 1) + 1) / 2  # noqa: E731
    metrics = {
        "mse": float(((unit(images) - unit(reconstructions)) ** 2).mean()),
        "psnr": float(psnr(images, reconstructions).mean()),
    }
    if referee is not None and labels is not None:
        metrics["referee_accuracy"] = float((referee.predict(reconstructions) == labels.numpy()).mean())
    return metrics


class DigitAutoencoderPipeline(Pipeline):
    build = staticmethod(build_autoencoder)
    shipped = ("encoder", "decoder")

    @torch.no_grad()
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [-1, 1] -> codes (N, latent_dim); in chunks, so 10,000 digits fit."""
        device = next(self.encoder.parameters()).device
        return torch.cat([self.encoder(c.to(device)).cpu() for c in images.split(1000)])

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        device = next(self.decoder.parameters()).device
        return torch.cat([self.decoder(c.to(device)).cpu() for c in codes.split(1000)])

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))

    @functools.cached_property
    def test_set(self) -> tuple[torch.Tensor, torch.Tensor, str]:
        """(digits uint8 (N, 28, 28), labels, source) behind the map and the picker: the MNIST test
        split of the training config's npz file, else 2,000 procedural digits (no data file here)."""
        path = project_path(OmegaConf.select(self.cfg, "data.path"))
        if OmegaConf.select(self.cfg, "data.source") == "npz" and path and path.is_file():
            return (*load_npz(path, "test"), "MNIST test digits")
        return (*synthetic_digits(2000, seed=1), "procedural digits (no MNIST file found)")

    @functools.cached_property
    def latent_map(self) -> "LatentMap":
        """The 2-D map of the test set's codes, fitted once and kept."""
        digits, labels, _ = self.test_set
        return LatentMap.fit(self.encode(to_model_range(digits)), labels.numpy())

    def reconstruct_digits(self, digits: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """uint8 digits (N, 28, 28) -> (reconstructions in [-1, 1], their points on the map (N, 2))."""
        codes = self.encode(to_model_range(digits))
        return self.decode(codes), self.latent_map.project(codes)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """n test digits picked by seed (top row) over their reconstructions (bottom row)."""
        digits = self.test_set[0]
        pick = torch.randperm(len(digits), generator=torch.Generator().manual_seed(seed))[:n]
        images = to_model_range(digits[pick])
        return image_grid(torch.cat([images, self.reconstruct(images)]), nrow=len(pick))


@dataclass
class LatentMap:
    """Codes projected to 2-D: PCA fitted on the test set's codes, or the codes themselves when the
    latent space is already 2-D."""

    points: np.ndarray  # (N, 2) the fitted codes on the map
    labels: np.ndarray  # (N,)
    mean: torch.Tensor  # (D,)
    axes: torch.Tensor  # (D, 2)
    explained: tuple[float, float] | None  # variance share of each axis (PCA only)

    @classmethod
    def fit(cls, codes: torch.Tensor, labels: np.ndarray) -> "LatentMap":
        dim = codes.shape[1]
        if dim <= 2:
            mean, axes, explained = torch.zeros(dim), torch.eye(dim, 2), None
        else:
            mean = codes.mean(0)
            _, singular, vh = torch.linalg.svd(codes - mean, full_matrices=False)
            axes = vh[:2].T
            # an SVD's signs are arbitrary: fix them so the same codes always give the same picture
            axes = axes * torch.sign(axes[axes.abs().argmax(0), torch.arange(2)])
            share = singular**2 / (singular**2).sum()
            explained = (float(share[0]), float(share[1]))
        points = ((codes - mean) @ axes).numpy()
        return cls(points, labels, mean, axes, explained)

    def project(self, codes: torch.Tensor) -> np.ndarray:
        return ((codes - self.mean) @ self.axes).numpy()


# ------------------------------------------------------------------ drawings -> MNIST-like digits
EMPTY_DRAWING = "The drawing is empty: draw a digit (one colour on a plain background) first."
MNIST_STROKE = 2.7  # median stroke width of MNIST test digits in their 20-pixel box (_stroke_width)


def _ink(image) -> np.ndarray:
    """Any picture -> float (H, W) 'ink' in [0, 255] with 0 for the background, whatever the colours:
    transparent canvases use alpha, opaque ones the distance from the border's (background) grey."""
    if isinstance(image, Image.Image):
        transparent = "A" in image.getbands() or "transparency" in image.info
        image = np.asarray(image.convert("RGBA" if transparent else "L"))
    array = np.asarray(image)
    if array.dtype == bool or array.size == 0:
        array = array.astype(np.float32) * 255
    array = array.astype(np.float32)
    if np.issubdtype(np.asarray(image).dtype, np.floating) and array.max(initial=0) <= 1:
        array = array * 255  # float pictures in [0, 1]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 3 and array.shape[2] in (2, 4):
        alpha = array[..., -1]
        if alpha.min() < 250:  # a transparent canvas: the strokes are what is opaque
            return alpha
        array = array[..., :-1]
    if array.ndim == 3 and array.shape[2] == 3:
        array = array @ np.array([0.299, 0.587, 0.114], np.float32)
    if array.ndim != 2 or min(array.shape) < 2:
        raise ValueError(f"expected a greyscale, RGB or RGBA picture, got an array of shape {array.shape}")
    border = np.concatenate([array[0], array[-1], array[:, 0], array[:, -1]])
    return np.abs(array - np.median(border))


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary drawing: a stroke of width w and length L covers w*L pixels
    and has about 2*L edge pixels."""
    padded = np.pad(mask, 1)
    inside = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = (mask & ~inside).sum()
    return 2 * mask.sum() / max(edge, 1)


def _match_stroke(digit: Image.Image, target: float) -> Image.Image:
    """Thicken (max filter) or thin (min filter) the strokes towards `target` pixels wide."""
    width = _stroke_width(np.asarray(digit) > 127)
    change = round(target - width)
    if abs(change) < 2:
        return digit
    size = min(2 * (abs(change) // 2) + 1, 15)  # odd sizes; each grows or shrinks by size - 1
    if change < 0:
        return digit.filter(ImageFilter.MinFilter(size))
    # room around the crop first, or a thickened "1" could not grow wider than its bounding box
    return ImageOps.expand(digit, size // 2, fill=0).filter(ImageFilter.MaxFilter(size))


def _fit(digit: Image.Image, side: int) -> Image.Image:
    """Resize so the longer side is `side` pixels, keeping the aspect ratio."""
    scale = side / max(digit.size)
    return digit.resize(
        (max(1, round(digit.width * scale)), max(1, round(digit.height * scale))), Image.LANCZOS
    )


def prepare_drawing(image) -> np.ndarray:
    """A drawing or photo of one digit (PIL image or array; greyscale, RGB or RGBA; dark-on-light or
    light-on-dark; any size) -> uint8 (28, 28) white on black, normalised the way MNIST was made:
    cropped to its bounding box, scaled to fit a 20x20 box with its aspect ratio, and placed so its
    centre of mass sits at the centre of the 28x28 field. ValueError if there is nothing drawn."""
    ink = _ink(image)
    if ink.max(initial=0) < 32:
        raise ValueError(EMPTY_DRAWING)
    # a relative threshold drops anti-aliasing halos and JPEG noise from the bounding box
    rows, cols = np.nonzero(ink > 0.25 * ink.max())
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    digit = Image.fromarray(np.clip(crop * (255 / crop.max()), 0, 255).astype(np.uint8), "L")
    # match the stroke width at 4x the final size: cheap on big canvases, fine enough for 20 px
    digit = _match_stroke(_fit(digit, 80), MNIST_STROKE * 4)
    pixels = np.asarray(_fit(digit, 20), np.float32)
    mass = pixels.sum()
    com_y = (pixels.sum(1) * np.arange(pixels.shape[0])).sum() / mass
    com_x = (pixels.sum(0) * np.arange(pixels.shape[1])).sum() / mass
    top = int(np.clip(round(13.5 - com_y), 0, 28 - pixels.shape[0]))
    left = int(np.clip(round(13.5 - com_x), 0, 28 - pixels.shape[1]))
    out = np.zeros((28, 28), np.float32)
    out[top : top + pixels.shape[0], left : left + pixels.shape[1]] = pixels
    return np.clip(out * (255 / out.max()), 0, 255).round().astype(np.uint8)
