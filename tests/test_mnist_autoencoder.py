"""The MNIST autoencoder: shipped weights round trip, drawing preprocessing, the 2-D map, the tab."""

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from demos import mnist_autoencoder
from genai_core.data.mnist import digit_batch, load_npz, prepare_drawing, synthetic_digits
from genai_core.metrics.mnist_autoencoder import reconstruction_metrics
from genai_core.pipelines.mnist_autoencoder import LatentMap
from genai_core.registry import SHARED_DATA, load_pipeline

MNIST = SHARED_DATA / "mnist.npz"


@pytest.fixture(scope="module")
def ae():
    return load_pipeline("mnist_autoencoder")


@pytest.fixture(scope="module")
def referee():
    return load_pipeline("mnist_classifier")


@pytest.fixture(scope="module")
def test_digits():
    if not MNIST.is_file():
        pytest.skip(f"{MNIST} not found")
    images, labels = load_npz(MNIST, "test")
    pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:500]
    return images[pick], labels[pick]  # a random subset: the shared file is sorted by label


def test_shipped_weights_reconstruct_real_digits(ae, referee, test_digits):
    digits, labels = test_digits
    images = digit_batch(digits)
    reconstructions = ae.reconstruct(images)
    assert reconstructions.shape == images.shape and reconstructions.abs().max() <= 1
    metrics = reconstruction_metrics(images, reconstructions, labels, referee)
    assert metrics["mse"] < 0.02 and metrics["psnr"] > 18
    assert metrics["referee_accuracy"] > 0.9, "the referee must read most reconstructions correctly"
    # the reconstruction resembles its own input much more than another digit
    assert (reconstructions[0] - images[0]).pow(2).mean() < (reconstructions[0] - images[1]).pow(2).mean()


def test_encode_decode_shapes_and_the_latent_map(ae):
    digits = synthetic_digits(8, seed=3)[0]
    codes = ae.encode(digit_batch(digits))
    assert codes.shape == (8, ae.cfg.model.latent_dim)
    assert ae.decode(codes).shape == (8, 1, 28, 28)
    latent_map, size = ae.latent_map, len(ae.test_set[0])
    assert latent_map.points.shape == (size, 2) and len(latent_map.labels) == size
    reconstructions, points = ae.reconstruct_digits(ae.test_set[0][:3])
    assert np.allclose(points, latent_map.points[:3], atol=1e-4)
    assert reconstructions.shape == (3, 1, 28, 28)
    assert ae.sample_image(4, 0).shape == (2 * 30 + 2, 4 * 30 + 2, 3)


def test_a_two_number_code_is_its_own_map():
    codes = torch.randn(50, 2)
    latent_map = LatentMap.fit(codes, np.zeros(50, int))
    assert latent_map.explained is None and np.allclose(latent_map.points, codes.numpy())
    codes = torch.randn(200, 5) * torch.tensor([5.0, 1, 1, 1, 0.1])
    pca = LatentMap.fit(codes, np.zeros(200, int))
    assert pca.explained[0] > 0.8 > pca.explained[1]
    assert np.allclose(pca.project(codes), pca.points, atol=1e-5)
    assert np.array_equal(pca.points, LatentMap.fit(codes, np.zeros(200, int)).points), "deterministic"


def _drawing(digit: np.ndarray, size=(137, 93), at=(10, 30)) -> np.ndarray:
    """An MNIST-style digit enlarged into a dark-on-white canvas of an odd size, off-centre."""
    canvas = np.full(size, 255, np.uint8)
    big = np.asarray(Image.fromarray(digit).resize((60, 60), Image.BILINEAR))
    canvas[at[0] : at[0] + 60, at[1] : at[1] + 60] = 255 - big
    return canvas


def _digit_and_label(referee):
    """An MNIST test digit, or (in a clone without ../shared) the first digit the project draws that
    the referee reads right: drawn from a font, not by hand, so not every one reads as MNIST does."""
    if MNIST.is_file():
        images, labels = load_npz(MNIST, "test")
        return images[0].numpy(), int(labels[0])
    images, labels = synthetic_digits(50, seed=5)
    read = referee.predict(digit_batch(images))
    first = int(np.flatnonzero(read == labels.numpy())[0])
    return images[first].numpy(), int(labels[first])


def test_drawings_are_normalised_like_mnist(referee):
    digit, label = _digit_and_label(referee)
    dark_on_white = _drawing(digit)
    rgba = np.zeros((*dark_on_white.shape, 4), np.uint8)  # black strokes on a transparent canvas
    rgba[..., 3] = 255 - dark_on_white
    rgb = np.stack([dark_on_white] * 3, -1)
    for picture in [dark_on_white, 255 - dark_on_white, rgb, rgba, Image.fromarray(rgba), rgb / 255.0]:
        out = prepare_drawing(picture)
        assert out.shape == (28, 28) and out.dtype == np.uint8 and out.max() == 255
        rows, cols = np.nonzero(out > 30)
        assert np.ptp(rows) < 22 and np.ptp(cols) < 22, "the digit fits MNIST's 20x20 box"
        mass = out.astype(float) / out.sum()
        centre = ((mass.sum(1) * np.arange(28)).sum(), (mass.sum(0) * np.arange(28)).sum())
        assert np.allclose(centre, 13.5, atol=1.0), "centred by centre of mass"
        assert out[0].max() == 0 and out[-1].max() == 0, "white on black"
        assert referee.predict(digit_batch(torch.from_numpy(out)[None]))[0] == label


def test_a_thin_stroke_on_a_big_canvas_is_thickened():
    canvas = np.full((800, 600), 255, np.uint8)
    canvas[100:700, 295:300] = 0  # a "1", 5 px wide on an 800 px canvas
    out = prepare_drawing(canvas)
    assert (out > 127).sum() >= 25, "a hairline would vanish at 28x28"


@pytest.mark.parametrize(
    "picture",
    [
        np.full((200, 200), 255, np.uint8),  # white paper
        np.zeros((50, 70), np.uint8),  # black paper
        np.zeros((64, 64, 4), np.uint8),  # a transparent canvas
        np.full((30, 30, 3), 128, np.uint8),  # grey
    ],
)
def test_an_empty_drawing_is_a_clear_error(picture):
    with pytest.raises(ValueError, match="drawing is empty"):
        prepare_drawing(picture)


def test_tab_handlers_return_images(referee):
    original, reconstruction, code_map, verdict = mnist_autoencoder.reconstruct_test(7)
    side = 28 * mnist_autoencoder.SCALE
    assert original.shape == reconstruction.shape == (side, side, 3)
    assert code_map.ndim == 3 and code_map.shape[0] > 200 and "referee" in verdict
    index, *rest = mnist_autoencoder.random_test(3)
    assert 0 <= index < len(load_pipeline("mnist_autoencoder").test_set[0])
    assert np.array_equal(rest[0], mnist_autoencoder.reconstruct_test(index)[0])
    digit, _ = _digit_and_label(referee)
    drawing = {"background": None, "layers": [], "composite": _drawing(digit)}
    original, reconstruction, code_map, verdict = mnist_autoencoder.reconstruct_drawing(drawing)
    assert original.shape == reconstruction.shape and "drawing" in verdict
    assert mnist_autoencoder.latent_map().ndim == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda: mnist_autoencoder.reconstruct_test(-1),
        lambda: mnist_autoencoder.reconstruct_test(10**6),
        lambda: mnist_autoencoder.reconstruct_test(1.5),
        lambda: mnist_autoencoder.reconstruct_test("seven"),
        lambda: mnist_autoencoder.random_test(-3),
        lambda: mnist_autoencoder.reconstruct_drawing(None),
        lambda: mnist_autoencoder.reconstruct_drawing({"background": None, "layers": [], "composite": None}),
        lambda: mnist_autoencoder.reconstruct_drawing({"composite": np.full((280, 280), 255, np.uint8)}),
        lambda: mnist_autoencoder.reconstruct_drawing(np.zeros((3, 3, 3, 3), np.uint8)),
    ],
)
def test_bad_input_becomes_a_message(call):
    with pytest.raises(gr.Error):
        call()
