"""The hair segmenter: the U-Net's shapes, a short run that learns the procedural faces' hair, the
real-photo path on the project's stand-in archives, the shipped model on the tab's example photos,
and the gate that keeps the CycleGAN's change to the hair. Offline, never ../shared."""

import torch
from PIL import Image

from demos import cyclegan as tab
from genai_core.data import photos
from genai_core.metrics.hair_segmenter import mask_metrics
from genai_core.models.cyclegan import gate
from genai_core.pipelines.hair_segmenter import HairSegmenterPipeline
from genai_core.registry import get, load_pipeline
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder
from genai_core.train.hair_segmenter import segmenter_photos


def test_the_unet_keeps_the_size_and_the_pipeline_any_size(tmp_path):
    spec = get("hair_segmenter")
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}"])
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    segmenter = HairSegmenterPipeline.from_pretrained(tmp_path)
    for side in (32, 50, 128):
        hair = segmenter.hair(torch.rand(2, 3, side, side) * 2 - 1)
        assert hair.shape == (2, 1, side, side) and 0 <= hair.min() and hair.max() <= 1


def test_a_short_run_finds_the_hair_of_fresh_procedural_faces(tmp_path):
    spec = get("hair_segmenter")
    longer = ["steps=150", "eval_every=150", "batch_size=16", "lr=5e-3", "data.train_size=192",
              "data.holdout=32", "warmup=10", "model.channels=[8,16,32]"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *longer])
    recorder = Recorder()
    assert Trainer(spec.task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    last = recorder.evals[-1][1]
    assert last["iou"] > 0.5, last  # the hair covers about a third of a face: all-hair scores ~0.3
    held_out = segmenter_photos(cfg, "eval")
    assert torch.equal(held_out.images, segmenter_photos(cfg, "eval").images)  # fixed split


def test_mask_metrics_on_known_masks():
    truth = torch.zeros(1, 1, 4, 4)
    truth[..., :2, :] = 1
    perfect = mask_metrics(truth, truth)
    assert perfect["iou"] == perfect["precision"] == perfect["recall"] == perfect["pixel_accuracy"] == 1
    half = torch.zeros_like(truth)
    half[..., :1, :] = 1
    metrics = mask_metrics(half, truth)
    assert metrics["iou"] == 0.5 and metrics["precision"] == 1 and metrics["recall"] == 0.5


def test_the_real_photo_path_trains_on_drawn_masks(real_photo_folder, tmp_path):
    spec = get("hair_segmenter")
    referee = "weights/real_face_referee"
    real = ["data.source=real", f"data.path={real_photo_folder}", f"data.pseudo_labels={referee}",
            "data.pseudo_confidence=0.5"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *real])
    train = segmenter_photos(cfg, "train")
    assert len(train) and train.masks.sum() > 0  # Celeb1k-style drawn masks only (no parser here)
    recorder = Recorder()
    assert Trainer(spec.task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    assert {"iou", "precision", "recall"} <= set(recorder.evals[-1][1])


def test_the_shipped_segmenter_marks_hair_above_the_face_of_real_photos():
    """On the tab's example photos (held-out LFW people), framed as the tab frames them, the top of the
    crop (hair) is marked and the middle (eyes, nose, cheeks) is not."""
    segmenter, size = load_pipeline("hair_segmenter"), 64
    for path in tab.PHOTO_EXAMPLES:
        framed = photos.frame_face(Image.open(path), size, 0, True)
        hair = segmenter.hair(framed.face[None])[0, 0]
        top, middle = hair[2:10, 16:48].mean(), hair[28:44, 22:42].mean()
        assert top > 0.5 and middle < 0.1, (path.name, float(top), float(middle))


def test_the_gate_keeps_the_change_inside_the_hair():
    before, after = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    hair = torch.zeros(1, 1, 8, 8)
    hair[..., :3, :] = 1
    out = gate(before, after, hair)
    assert out[..., :3, :].eq(1).all() and out[..., 3:, :].eq(0).all()
    assert torch.equal(gate(before, after, None), after)
    translator = load_pipeline("cyclegan_real_hair")
    framed = photos.frame_face(Image.open(tab.PHOTO_EXAMPLES[0]), 64, 0, True)
    gated = translator.convert_framed(framed, "blond -> black", 1.0, torch.zeros(1, 64, 64))
    assert torch.allclose(gated.converted, framed.photo, atol=1e-5)  # an empty gate changes nothing


def test_the_gate_keeps_nothing_where_the_segmenter_doubts_and_everything_where_it_is_sure():
    from genai_core.pipelines.cyclegan import GATE_FLOOR, hair_gate, keep_to_hair

    probability = torch.linspace(0, 1, 101)
    gate = hair_gate(probability)
    assert gate[probability <= GATE_FLOOR].max() == 0 and gate[-1] == 1
    assert (gate.diff() >= 0).all() and (gate <= probability).all()  # never more than the segmenter says
    before, after = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    doubtful = torch.full((1, 1, 8, 8), GATE_FLOOR)
    torch.testing.assert_close(keep_to_hair(before, after, doubtful), before)


def test_keep_to_hair_averages_the_colour_of_the_change_and_leaves_the_face():
    from genai_core.pipelines.cyclegan import keep_to_hair

    before = torch.zeros(1, 3, 64, 64)
    hair = torch.zeros(1, 1, 64, 64)
    hair[..., :24, :] = 1
    specks = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 0.3
    after = before + torch.tensor([0.4, 0.3, 0.1]).view(1, 3, 1, 1) + specks
    out = keep_to_hair(before, after, hair)
    assert out[..., 24:, :].abs().max() == 0  # outside the hair: the photo itself
    inside = out[..., 4:20, 8:56]
    assert torch.allclose(inside.mean((2, 3)), torch.tensor([[0.4, 0.3, 0.1]]), atol=0.03)  # the colour shift
    chroma = lambda x: x - x.mean(1, keepdim=True)  # noqa: E731
    assert chroma(inside).std() < 0.5 * chroma(after[..., 4:20, 8:56]).std()  # specks between the channels
