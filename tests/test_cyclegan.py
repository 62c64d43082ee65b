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
from genai_core.models.cyclegan import build_cyclegan, gate
from genai_core.registry import load_pipeline

DRAWN_BLOND = tab.EXAMPLES_DIR / "blond_face_1.png"  # a procedural face: the procedural model's input
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


def _scene(size=(1200, 900), faces=((600, 300, 384),)) -> Image.Image:
    """A 'photo': the drawn example face pasted onto a plain background at (left, top, side)."""
    face = Image.open(tab.EXAMPLE_PHOTO).convert("RGB")
    canvas = Image.new("RGB", size, (40, 90, 60))
    for left, top, side in faces:
        canvas.paste(face.resize((side, side), Image.LANCZOS), (left, top))
    return canvas


def test_faces_are_found_largest_first_and_framed_with_their_hair():
    scene = _scene(faces=((600, 300, 384), (100, 100, 192)))
    framed = photos.frame_face(scene, 64)
    assert framed.found and len(framed.faces) == 2
    assert framed.faces[0][2] > framed.faces[1][2]  # the largest first
    left, top, side = framed.box
    assert left <= 600 + 40 and top <= 300 + 40 and left + side >= 600 + 384 - 40  # face and hair inside
    assert side < 1.5 * 384 and framed.face.shape == (3, 64, 64)
    second = photos.frame_face(scene, 64, face=1)
    assert second.box[0] < 300 and second.box[2] < side
    with pytest.raises(ValueError, match="from 1 to 2"):
        photos.frame_face(scene, 64, face=2)


def test_no_face_is_a_clear_error_or_the_centred_square_when_asked():
    empty = Image.new("RGB", (800, 600), (200, 180, 160))
    with pytest.raises(photos.NoFaceError, match="no face"):
        photos.frame_face(empty, 64)
    framed = photos.frame_face(empty, 64, centred_if_none=True)
    assert not framed.found and framed.box == (100, 0, 600)


def test_exif_orientation_is_applied_before_looking_for_the_face():
    upright = _scene()
    rotated = upright.rotate(90, expand=True)  # stored sideways, tagged "rotate 270 to view"
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    rotated.save(buffer, format="JPEG", exif=exif, quality=95)
    buffer.seek(0)
    opened = photos.open_photo(buffer)
    assert opened.size == upright.size
    assert photos.frame_face(opened, 64).found


def test_the_change_is_pasted_into_the_box_only_with_a_soft_edge():
    scene = _scene()
    framed = photos.frame_face(scene, 64)
    assert torch.equal(photos.paste_change(framed, torch.zeros(3, 64, 64)), framed.photo)
    pasted = photos.paste_change(framed, torch.full((3, 64, 64), -0.5))
    left, top, side = framed.box
    changed = (pasted - framed.photo).abs().amax(0) > 1e-6
    rows, cols = changed.nonzero(as_tuple=True)
    assert rows.min() >= top and cols.min() >= left and cols.max() < left + side
    centre = (pasted - framed.photo)[:, top + side // 2, left + side // 2]
    edge = (pasted - framed.photo)[:, top + side // 2, left + 1]
    assert centre.abs().min() > 0.3 and edge.abs().max() < 0.05  # feathered, no seam


def test_convert_framed_keeps_the_photo_size_and_strength_blends():
    translator = load_pipeline("cyclegan_hair")
    framed = photos.frame_centred(DRAWN_BLOND, int(translator.cfg.model.size))
    nothing = translator.convert_framed(framed, "blond -> black", 0.0)
    assert torch.allclose(nothing.converted, framed.photo, atol=1e-5)
    full = translator.convert_framed(framed, "blond -> black", 1.0)
    assert full.converted.shape == full.round_trip.shape == framed.photo.shape
    assert full.faces.shape == (3, 3, 64, 64) and full.mask.shape == (1, 64, 64)
    verdict = load_pipeline("face_referee").predict(full.faces[:2])["hair_colour"]
    assert [HAIR_COLOURS[v] for v in verdict] == ["blond", "black"]
    with pytest.raises(ValueError, match="direction"):
        translator.convert_framed(framed, "red -> green")


def test_tab_converts_a_photo_and_marks_the_face(tmp_path):
    path = tmp_path / "scene.jpg"
    _scene().save(path, quality=95)
    outputs = tab.convert(str(path), tab.FIRST, "blond -> black", 1.0, 1, False)
    shown, converted, round_trip, view, summary = outputs
    assert shown.shape == converted.shape == round_trip.shape == (900, 1200, 3)
    assert view.shape[1] > 3 * 112 and "1 face found" in summary and "Asked for **black**" in summary
    # outside the converted square the photo is its own
    assert np.abs(converted[:, :200].astype(int) - np.asarray(Image.open(path))[:, :200]).max() == 0


def test_tab_procedural_model_and_reproducible_faces():
    shown, converted, _, _, summary = tab.convert(str(DRAWN_BLOND), tab.PROCEDURAL, "blond -> black", 1.0, 1,
                                                  False)
    assert shown.shape == converted.shape == (128, 128, 3) and "centred square" in summary
    assert "reads the converted face as **black" in summary
    (face, choice), (again, _) = (tab.random_face(3, "black") for _ in range(2))
    face, again = np.asarray(Image.open(face)), np.asarray(Image.open(again))
    assert face.shape == (128, 128, 3) and np.array_equal(face, again) and choice == tab.PROCEDURAL


@pytest.mark.parametrize(
    "call",
    [
        lambda: tab.convert(None, tab.FIRST, "blond -> black", 1.0, 1, True),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), "my model", "blond -> black", 1.0, 1, True),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), tab.FIRST, "sideways", 1.0, 1, True),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), tab.FIRST, "blond -> black", 1.5, 1, True),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), tab.FIRST, "blond -> black", 1.0, 0, True),
        lambda: tab.convert(str(tab.EXAMPLE_PHOTO), tab.FIRST, "blond -> black", 1.0, 9, True),
        lambda: tab.convert(str(tab.EXAMPLES_DIR / "black_face_1.png"), tab.FIRST, "black -> blond", 1.0, 1,
                            False),  # no face found and no fallback asked for
        lambda: tab.convert(__file__, tab.FIRST, "blond -> black", 1.0, 1, True),  # a Python file is no image
        lambda: tab.random_face(-1, "blond"),
        lambda: tab.random_face(0, "green"),
    ],
)
def test_tab_bad_input_is_a_message(call):
    with pytest.raises(gr.Error):
        call()


def test_a_cyclegan_of_labelled_photos_learns_masks_from_the_drawn_hair(real_photo_folder, tmp_path):
    """Real-photo path on the project's stand-in archives: hair colours from the labels (and the shipped
    real-photo referee's pseudo labels), Celeb1k-style drawn hair masks teaching the attention mask,
    held-out metrics on the val split in training, and on the test split (with drawn masks) after."""
    from genai_core.metrics.cyclegan import real_cyclegan_metrics
    from genai_core.pipelines.cyclegan import CycleGANPipeline
    from genai_core.pipelines.face_referee import FaceRefereePipeline
    from genai_core.registry import get
    from genai_core.train import Trainer
    from genai_core.train.cyclegan import CycleGANTask, hair_domain

    spec = get("cyclegan_real_hair")
    referee = "weights/real_face_referee"
    real = ["data.source=real", f"data.path={real_photo_folder}", f"data.pseudo_labels={referee}",
            "data.pseudo_confidence=0.5", f"eval.referee={referee}", "hair_mask_weight=1.0"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *real])
    task = CycleGANTask(cfg, torch.device("cpu"))
    assert task.domain_a.has_mask.any() and not task.domain_a.has_mask.all()  # drawn masks only (no parser)
    assert any(task.train_step(step)["loss_hair_mask"] > 0 for step in range(12))  # batches with a mask
    assert Trainer(CycleGANTask, cfg).fit() == "finished"
    metrics = __import__("json").loads((tmp_path / "exported.json").read_text())["metrics"]
    assert {"success_black_to_blond", "success_blond_to_black", "l1_round_trip_black_to_blond"} \
        <= set(metrics)
    val, test = ([hair_domain(cfg, c, split) for c in ("blond", "black")] for split in ("val", "eval"))
    assert torch.equal(task.held_out()[1].images, val[1].images)  # training never judges on the test people
    assert len(val[1]) != len(test[1]) or not torch.equal(val[1].images, test[1].images)
    pipeline, referee = CycleGANPipeline.from_pretrained(tmp_path), task.referee(FaceRefereePipeline)
    tested = real_cyclegan_metrics(pipeline, referee, dict(zip(("blond", "black"), test, strict=True)))
    assert {"psnr_outside_hair_blond_to_black", "mask_iou_blond_to_black"} <= set(tested)


def _gated_real_overrides(folder) -> list[str]:
    """A hair-gated CycleGAN on the stand-in photos, pseudo-labelled and judged by the shipped referee."""
    referee = "weights/real_face_referee"
    return ["data.source=real", f"data.path={folder}", f"data.pseudo_labels={referee}",
            "data.pseudo_confidence=0.5", f"eval.referee={referee}", "hair_gate=true",
            "eval.segmenter=weights/hair_segmenter"]


def test_a_hair_gated_cyclegan_changes_nothing_outside_the_drawn_hair(real_photo_folder, tmp_path):
    """hair_gate: in training the fakes the discriminators judge are the generators' changes kept to
    the hair masks, so outside a photo's mask a fake is that photo exactly."""
    from genai_core.registry import get
    from genai_core.train import Trainer
    from genai_core.train.cyclegan import CycleGANTask

    spec = get("cyclegan_real_hair")
    real = _gated_real_overrides(real_photo_folder)
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *real])
    task = CycleGANTask(cfg, torch.device("cpu"))
    rows = task.domain_a.has_mask.nonzero().flatten()[:2]
    images, hair, has = task._batch(task.domain_a, rows)
    hair_gate = task._gate(hair, has)
    fake = gate(images, task.g_ab(images), hair_gate)
    outside = hair_gate == 0
    assert outside.any() and (fake - images).abs().amax(1, keepdim=True)[outside].max() == 0
    assert Trainer(CycleGANTask, cfg).fit() == "finished"
    metrics = __import__("json").loads((tmp_path / "exported.json").read_text())["metrics"]
    assert {"success_blond_to_black", "success_black_to_blond", "quality"} <= set(metrics)


def test_a_warm_started_cyclegan_pulls_the_hair_colour_after_its_discriminator_warm_up(real_photo_folder,
                                                                                       tmp_path):
    """init_from: both generators from a weights folder; d_warmup: the generators stay put while the
    fresh discriminators learn; hair_colour_weight: the price of a fake's hair colour statistics
    away from the target domain's, zero when they match."""
    from genai_core.checkpoint import load_weights
    from genai_core.images import masked_colour, recolour
    from genai_core.registry import get
    from genai_core.train import Trainer
    from genai_core.train.cyclegan import CycleGANTask, _hair_colour_loss, hair_colour

    spec = get("cyclegan_real_hair")
    real = _gated_real_overrides(real_photo_folder)
    first = spec.config([*spec.tiny, f"out_dir={tmp_path / 'first'}", *real])
    assert Trainer(CycleGANTask, first).fit() == "finished"
    warm = [f"init_from={tmp_path / 'first'}", "d_warmup=2"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path / 'warm'}", *real, *warm])
    task = CycleGANTask(cfg, torch.device("cpu"))
    # only the stand-in's blond photos have drawn masks: the black-haired ones get the top rows
    task.domain_b.masks[:] = 0
    task.domain_b.masks[:, :, :12] = 1
    task.domain_b.has_mask[:] = True
    task.hair_colour_weight = 20.0
    task.hair_colour_a, task.hair_colour_b = hair_colour(task.domain_a), hair_colour(task.domain_b)
    shipped = {k: m for k, m in build_cyclegan(cfg.model).items() if k.startswith("g_")}
    load_weights(tmp_path / "first", shipped)
    for name in ("g_ab", "g_ba"):
        for ours, theirs in zip(task.modules[name].parameters(), shipped[name].parameters(), strict=True):
            torch.testing.assert_close(ours, theirs)
    before = [p.detach().clone() for p in task.g_ab.parameters()]
    task.train_step(0)
    assert all(torch.equal(a, b) for a, b in zip(before, task.g_ab.parameters(), strict=True))
    assert task.train_step(2)["loss_hair_colour"] > 0
    assert not all(torch.equal(a, b) for a, b in zip(before, task.g_ab.parameters(), strict=True))

    rows = task.domain_a.has_mask.nonzero().flatten()[:2]
    images, hair, has = task._batch(task.domain_a, rows)
    target_mean, target_spread = task.hair_colour_b
    matched = recolour(images, hair, target_mean, target_spread)
    assert _hair_colour_loss(matched, hair, has, task.hair_colour_b) < 0.2 * _hair_colour_loss(
        images, hair, has, task.hair_colour_b)
    assert torch.allclose(masked_colour(matched, hair)[0], target_mean.expand(2, 3), atol=0.03)
    with pytest.raises(ValueError, match="hair masks"):
        CycleGANTask(spec.config([*spec.tiny, f"out_dir={tmp_path / 'x'}", "hair_colour_weight=1"]), "cpu")
