"""The face referee: a tiny offline training run on procedural faces, and its verdicts on any size."""

import numpy as np
import pytest
import torch

from genai_core.data.faces import (
    render_batch,
)
from genai_core.images import to_model_range
from genai_core.pipelines.face_referee import FaceRefereePipeline
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder

# ---------------------------------------------------------------- renderer


# ---------------------------------------------------------------- real-data loaders


# ---------------------------------------------------------------- models and tiny training


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    referee_spec = get("face_referee")
    referee_cfg = referee_spec.config([*referee_spec.tiny, f"out_dir={root / 'referee'}"])
    referee_recorder = Recorder()
    assert Trainer(referee_spec.task_class(), referee_cfg, callbacks=[referee_recorder]).fit() == "finished"
    return {"root": root, "referee": referee_recorder}


def test_tiny_referee_training_exports_and_predicts(tiny_runs):
    evals = tiny_runs["referee"].evals
    assert evals and {"accuracy_eyeglasses", "accuracy_hair_colour", "accuracy_male"} <= set(evals[-1][1])
    referee = FaceRefereePipeline.from_pretrained(tiny_runs["root"] / "referee")
    images, _ = render_batch(5, seed=2, size=64)  # any size: the referee resizes
    out = referee.predict(images)
    assert out["eyeglasses"].shape == (5,) and out["hair_colour_probs"].shape == (5, 4)
    assert np.allclose(out["hair_colour_probs"].sum(1), 1, atol=1e-5)
    assert set(np.unique(out["male"])) <= {0, 1} and len(referee.captions(images)) == 5
    with pytest.raises(ValueError, match="RGB"):
        referee.predict(torch.zeros(2, 1, 32, 32))


# ---------------------------------------------------------------- the tab, on the shipped weights




def test_the_real_photo_referee_trains_on_labelled_photos(real_photo_folder, tmp_path):
    spec = get("real_face_referee")
    real = ["data.source=real", f"data.path={real_photo_folder}", "data.size=32", "eval_every=4"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *real])
    recorder = Recorder()
    assert Trainer(spec.task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    metrics = recorder.evals[-1][1]
    assert {"accuracy_eyeglasses", "auc_male", "accuracy_hair_colour", "accuracy_mean"} <= set(metrics)
    referee = FaceRefereePipeline.from_pretrained(tmp_path)
    verdict = referee.predict(torch.zeros(2, 3, 64, 64))
    assert referee.hair_colours == ("blond", "black", "brown", "gray")
    assert verdict["hair_colour_probs"].shape == (2, 4)
    assert {"smiling_prob", "hat_prob", "bald_prob"} <= set(verdict)


def test_roc_auc_matches_its_definition():
    from genai_core.metrics.face_referee import roc_auc

    assert roc_auc(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])) == pytest.approx(0.75)
    assert roc_auc(np.array([0.5, 0.5]), np.array([0, 1])) == pytest.approx(0.5)
    assert np.isnan(roc_auc(np.array([0.2, 0.3]), np.array([1, 1])))


def test_swapped_eyes_come_from_another_photo_of_the_batch_seeded_by_the_step(tmp_path):
    from genai_core.data.faces import eye_band

    spec = get("face_referee")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", "eye_swap=1.0"])
    task = spec.task_class()(cfg, "cpu")
    x = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 3, 32, 32) / 8  # photo i is the flat value i / 8
    swapped, partner = task.swap_eyes(x, step=0)
    band = eye_band(32).bool()
    assert torch.equal(swapped[:, :, ~band], x[:, :, ~band])  # the rest of each face is its own
    assert torch.equal(swapped[:, :, band], x[partner][:, :, band]) and (partner != torch.arange(8)).any()
    assert torch.equal(task.swap_eyes(x, step=0)[1], partner)  # seeded by the step
    task.cfg.eye_swap = 0.0
    assert torch.equal(task.swap_eyes(x, step=0)[0], x)
    task.cfg.eye_swap = 1.0
    assert np.isfinite(task.train_step(0)["loss"])


def test_swapped_hair_takes_another_photos_hair_colour_and_keeps_the_face(tmp_path):
    from genai_core.images import masked_colour

    spec = get("real_face_referee")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", "hair_swap=1.0"])
    task = spec.task_class()(cfg, "cpu")
    assert task.hair.shape == (len(task.images), 1, 32, 32)  # the segmenter's mask of every photo
    generator = torch.Generator().manual_seed(0)
    colours = torch.rand(8, 3, 1, 1, generator=generator) * 1.2 - 0.6
    x = (colours + 0.1 * torch.randn(8, 3, 32, 32, generator=generator)).clamp(-1, 1)  # colour + texture
    task.hair[:8] = 0
    task.hair[:8, :, :12] = 255  # the top rows are the hair
    swapped, partner = task.swap_hair(x, torch.arange(8), step=0)
    assert (partner != torch.arange(8)).any()
    torch.testing.assert_close(swapped[:, :, 12:], x[:, :, 12:])  # the face is its own
    hair = task.hair[:8].float() / 255
    got, wanted = masked_colour(swapped, hair), masked_colour(x[partner], hair)
    torch.testing.assert_close(got, wanted, atol=0.02, rtol=0)
    assert torch.equal(task.swap_hair(x, torch.arange(8), step=0)[1], partner)  # seeded by the step
    assert np.isfinite(task.train_step(0)["loss"])


def test_hair_partners_by_label_draw_every_hair_colour_equally(tmp_path):
    """Rare colours (blond) must be lent as often as common ones, and an unswapped photo stays itself."""
    spec = get("real_face_referee")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", "hair_swap=0.5", "hair_swap_by_label=true"])
    task = spec.task_class()(cfg, "cpu")
    labels = task.labels["hair_colour"]
    colours = labels[task._partners_by_hair_label(4000, torch.Generator().manual_seed(0))]
    present = labels[labels >= 0].unique()
    shares = torch.stack([(colours == c).float().mean() for c in present])
    assert torch.allclose(shares, torch.full_like(shares, 1 / len(present)), atol=0.03)
    x = to_model_range(task.images[:8])
    task.hair[:8] = 0
    task.hair[:8, :, :12] = 255
    swapped, partner = task.swap_hair(x, torch.arange(8), step=0)
    kept = partner == torch.arange(8)
    assert kept.any() and (~kept).any()
    torch.testing.assert_close(swapped[kept], x[kept], atol=1e-5, rtol=0)


def test_a_hair_only_referee_sees_the_hair_and_nothing_else(tmp_path):
    """model.hair_only: the referee reads through the segmenter's mask, so what lies outside the hair
    cannot move its verdict; a referee with hair_reader takes its hair colour from such a referee."""
    spec = get("real_face_referee")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path / 'hair'}", "model.hair_only=true", "eye_swap=0"])
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    task = spec.task_class()(cfg, "cpu")
    assert task.hair.shape == (len(task.images), 1, 32, 32)  # masks found once for the training photos
    reader = FaceRefereePipeline.from_pretrained(tmp_path / "hair")
    assert set(reader.referee.heads) == {"hair_colour"}
    images = to_model_range(task.test_images[:6])
    hair = reader.segmenter().hair(images)
    outside = hair < 1e-4
    assert outside.float().mean() > 0.2  # a face framed with its hair is mostly not hair
    repainted = torch.where(outside, torch.rand_like(images) * 2 - 1, images)
    torch.testing.assert_close(reader.logits(repainted)["hair_colour"], reader.logits(images)["hair_colour"],
                               atol=1e-3, rtol=0)
    whole = get("real_face_referee")
    whole_cfg = whole.config([*whole.tiny, f"out_dir={tmp_path / 'whole'}",
                              f"hair_reader={tmp_path / 'hair'}"])
    assert Trainer(whole.task_class(), whole_cfg).fit() == "finished"
    referee = FaceRefereePipeline.from_pretrained(tmp_path / "whole")
    verdict, read = referee.predict(images), reader.predict(images)
    np.testing.assert_allclose(verdict["hair_colour_probs"], read["hair_colour_probs"], atol=1e-5)
    assert {"eyeglasses", "male"} <= set(verdict)  # its own heads read the whole face


def test_balanced_hair_weights_are_inverse_to_each_colours_share(tmp_path):
    spec = get("real_face_referee")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", "balance_hair=true", "eye_swap=0"])
    task = spec.task_class()(cfg, "cpu")
    labels = task.labels["hair_colour"]
    counts = torch.stack([(labels == c).sum() for c in range(4)]).float()
    weights = task.class_weights
    assert torch.allclose(weights * counts, torch.full((4,), float(counts.sum()) / 4))  # colours weigh alike
    assert np.isfinite(task.train_step(0)["loss_hair_colour"])
    plain = spec.task_class()(spec.config([*spec.tiny, f"out_dir={tmp_path}", "eye_swap=0"]), "cpu")
    assert plain.class_weights is None
