"""CycleGAN: networks, photo loading (any format, bad files), hair twins, the shipped translator's
quality on fresh held-out faces, and the tab's handlers. Offline, never ../shared."""

import io

import gradio as gr
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from demos import cyclegan as tab
from genai_core.data import photos
from genai_core.data.faces import HAIR_COLOURS, render_hair_twins
from genai_core.data.photos import load_photo
from genai_core.metrics.cyclegan import cyclegan_metrics
from genai_core.metrics.image import l1, psnr, ssim
from genai_core.models.cyclegan import build_cyclegan
from genai_core.registry import load_pipeline

TINY = OmegaConf.create({"ngf": 4, "n_blocks": 1, "ndf": 4, "d_layers": 2, "output": "mask"})


def test_generators_keep_the_shape_and_start_as_the_identity():
    torch.manual_seed(0)
    nets = build_cyclegan(TINY)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert nets["g_ab"](x).shape == x.shape
    plain = build_cyclegan(OmegaConf.merge(TINY, {"output": "plain"}))["g_ab"]
    residual = build_cyclegan(OmegaConf.merge(TINY, {"output": "residual"}))["g_ab"]
    # mask or residual + small initial weights: start near the input; the book's starts near grey
    assert max(l1(nets["g_ab"](x), x).max(), l1(residual(x), x).max()) < 0.1 < l1(plain(x), x).min()
    image, mask = nets["g_ab"].forward_with_mask(x)
    assert mask.shape == (2, 1, 32, 32) and abs(mask.mean().item() - 0.5) < 0.1  # starts half open
    with pytest.raises(ValueError, match="output"):
        build_cyclegan(OmegaConf.merge(TINY, {"output": "magic"}))
    assert nets["d_a"](x).shape[:2] == (2, 1)  # a map of patch scores


def test_image_metrics_on_known_cases():
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-4)
    assert torch.isinf(psnr(x, x)).logical_not().all() and (psnr(x, x) > 90).all()
    half = torch.zeros(2, 1, 32, 32, dtype=torch.bool)
    half[..., :16] = True
    y = x.clone()
    y[..., 16:] = -y[..., 16:]  # change only the right half
    assert l1(y, x, half).max() == 0 and l1(y, x).min() > 0
    assert torch.allclose(ssim(y, x, half), torch.ones(2), atol=1e-4)  # the change is outside the mask
    assert (ssim(y, x) < 0.9).all()


def test_hair_twins_differ_only_in_the_hair():
    images, twins, hair = render_hair_twins(8, 5, 32, "blond", "black")
    assert hair.any(dim=(1, 2, 3)).all() and (~hair).any(dim=(1, 2, 3)).all()
    assert l1(images, twins, ~hair).max() < 0.01


def _encoded(image: Image.Image, fmt: str) -> io.BytesIO:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_load_photo_crops_any_format_to_a_centred_square(fmt):
    image = Image.new("RGB", (300, 150), (255, 0, 0))
    photo = load_photo(_encoded(image, fmt))
    assert photo.shape == (3, 148, 148)  # the shorter side, rounded down to a multiple of 4
    assert photo.min() >= -1 and photo.max() <= 1
    big = load_photo(np.zeros((900, 1200, 4), np.uint8))  # RGBA arrays too
    assert big.shape == (3, 512, 512)


def test_load_photo_refuses_non_images_huge_and_tiny_ones(monkeypatch):
    with pytest.raises(ValueError, match="not an image"):
        load_photo(io.BytesIO(b"%PDF-1.4 this is not an image"))
    with pytest.raises(ValueError, match="too small"):
        load_photo(np.zeros((8, 8, 3), np.uint8))
    truncated = _encoded(Image.new("RGB", (64, 64), (9, 9, 9)), "PNG").getvalue()[:80]
    with pytest.raises(ValueError, match="damaged|not an image"):
        load_photo(io.BytesIO(truncated))
    monkeypatch.setattr(photos, "MAX_PIXELS", 10_000)
    with pytest.raises(ValueError, match="too large"):
        load_photo(_encoded(Image.new("RGB", (200, 200)), "PNG"))


def test_shipped_translator_changes_the_hair_and_keeps_the_face():
    """Fresh faces (a seed no training or evaluation used): most come out with the target colour,
    and everything outside the hair stays close to the input."""
    translator, referee = load_pipeline("cyclegan_hair"), load_pipeline("face_referee")
    metrics = cyclegan_metrics(translator, referee, 48, seed=99_999)
    assert metrics["success_blond_to_black"] >= 0.8 and metrics["success_black_to_blond"] >= 0.8
    assert metrics["ssim_outside_hair_blond_to_black"] > 0.6
    assert metrics["l1_outside_hair_black_to_blond"] < 0.1


def test_convert_strength_blends_and_large_photos_keep_their_size():
    translator = load_pipeline("cyclegan_hair")
    photo = load_photo(tab.EXAMPLE_PHOTO)
    nothing, _ = translator.convert(photo, "blond -> black", 0.0)
    assert torch.allclose(nothing, photo, atol=1e-6)
    full, back = translator.convert(photo, "blond -> black", 1.0)
    assert full.shape == back.shape == photo.shape
    verdict = load_pipeline("face_referee").predict(torch.stack([photo, full]))["hair_colour"]
    assert [HAIR_COLOURS[v] for v in verdict] == ["blond", "black"]
    with pytest.raises(ValueError, match="direction"):
        translator.convert(photo, "red -> green")


def test_tab_converts_an_example_and_draws_reproducible_faces():
    shown, converted, round_trip, verdict = tab.convert(str(tab.EXAMPLE_PHOTO), "blond -> black", 1.0)
    assert shown.shape == converted.shape == round_trip.shape == (128, 128, 3)
    assert "converted **black" in verdict
    face, again = (np.asarray(Image.open(tab.random_face(3, "black"))) for _ in range(2))
    assert face.shape == (128, 128, 3) and np.array_equal(face, again)


@pytest.mark.parametrize(
    "call",
    [
        lambda: tab.convert(None, "blond -> black", 1.0),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), "sideways", 1.0),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), "blond -> black", 1.5),
        lambda: tab.convert(__file__, "blond -> black", 1.0),  # a Python file is no image
        lambda: tab.random_face(-1, "blond"),
        lambda: tab.random_face(0, "green"),
    ],
)
def test_tab_bad_input_is_a_message(call):
    with pytest.raises(gr.Error):
        call()
