"""Labelled faces: the procedural renderer, real-data loaders on tables the test writes, tiny runs of
the face referee and the conditional WGAN-GP, and the cWGAN tab's handlers. Offline, never ../shared."""

import json
import math
import time
import zipfile

import gradio as gr
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from demos import cwgan
from genai_core.data.faces import (
    celeba_labels,
    load_labelled_faces,
    parse_celeba_attributes,
    render_batch,
    render_faces,
    sample_attributes,
)
from genai_core.models.cwgan import build_classifier, build_cwgan, gradient_penalty, label_loss
from genai_core.pipelines.faces import PRESETS, ConditionalFacePipeline, FaceRefereePipeline
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder, StopAfter

# ---------------------------------------------------------------- renderer


def test_renderer_is_deterministic_and_in_range():
    a, attrs = render_batch(6, seed=3, size=32)
    b, _ = render_batch(6, seed=3, size=32)
    c, _ = render_batch(6, seed=4, size=32)
    assert a.shape == (6, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= -1 and a.max() <= 1
    assert render_batch(2, seed=3, size=128)[0].shape == (2, 3, 128, 128)
    assert set(attrs["hair_colour"].tolist()) <= {0.0, 1.0, 2.0, 3.0}


def test_labelled_attributes_are_balanced_and_independent():
    a = sample_attributes(8000, seed=0)
    glasses, male, hair = a["eyeglasses"], a["male"], a["hair_colour"].long()
    for g in (0, 1):
        for m in (0, 1):
            share = ((glasses == g) & (male == m)).float().mean().item()
            assert abs(share - 0.25) < 0.02, (g, m, share)
    counts = torch.bincount(hair, minlength=4).float() / len(hair)
    assert torch.all((counts - 0.25).abs() < 0.02)
    for colour in range(4):  # hair colour says nothing about glasses
        assert abs(glasses[hair == colour].mean().item() - 0.5) < 0.04
    # the continuous parameters really vary (no templates to memorise)
    for key in ("skin", "face_width", "smile", "roll", "light", "hair_length"):
        assert a[key].std() > 0.02 and len(torch.unique(a[key])) > 7000


def test_pinning_an_attribute_leaves_the_others_unchanged():
    free = sample_attributes(16, seed=5)
    pinned = sample_attributes(16, seed=5, eyeglasses=1, male=torch.zeros(16))
    assert torch.all(pinned["eyeglasses"] == 1) and torch.all(pinned["male"] == 0)
    assert torch.equal(free["skin"], pinned["skin"]) and torch.equal(
        free["frame_style"], pinned["frame_style"]
    )
    with pytest.raises(ValueError, match="unknown face attribute"):
        sample_attributes(2, seed=0, sunglasses=1)


def test_glasses_change_only_the_eye_band():
    a = sample_attributes(32, seed=7)
    off = render_faces({**a, "eyeglasses": torch.zeros(32)}, 64)
    on = render_faces({**a, "eyeglasses": torch.ones(32)}, 64)
    changed = (on - off).abs().amax(1) > 1e-6  # (N, H, W)
    rows = changed.any(2).float().mean(0)  # share of faces with a change in each row
    assert changed.flatten(1).any(1).all(), "every face must show its glasses"
    assert rows[:8].sum() == 0 and rows[44:].sum() == 0, "glasses must not touch hair top or mouth"


def test_render_speed_sanity():
    a = sample_attributes(256, seed=1)
    start = time.perf_counter()
    render_faces(a, 32)
    rate = 256 / (time.perf_counter() - start)
    # a free core renders a few thousand 32x32 faces per second; the bound leaves room for a busy CPU
    assert rate > 150, f"{rate:.0f} renders/s at 32x32"


# ---------------------------------------------------------------- real-data loaders

CELEBA = """3
5_o_Clock_Shadow Blond_Hair Black_Hair Brown_Hair Eyeglasses Male
000001.jpg -1  1 -1 -1 -1 -1
000002.jpg  1 -1 -1  1  1  1
000003.jpg -1 -1  1  1 -1  1
"""


def test_celeba_attribute_parser_reads_txt_and_zip(tmp_path):
    table = parse_celeba_attributes(CELEBA)
    assert table["000002.jpg"]["Eyeglasses"] == 1 and table["000001.jpg"]["Male"] == 0
    assert celeba_labels(table["000001.jpg"]) == (0.0, 0, 0.0)  # blond woman, no glasses
    assert celeba_labels(table["000002.jpg"]) == (1.0, 2, 1.0)  # brown-haired man with glasses
    assert celeba_labels(table["000003.jpg"])[1] == -1  # two hair colours: no label
    archive = tmp_path / "celeba_list_attr.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("list_attr_celeba.txt", CELEBA)
    assert parse_celeba_attributes(archive) == table
    with pytest.raises(ValueError, match="line 6 of the CelebA attribute table has 2 values") as err:
        parse_celeba_attributes(CELEBA + "000004.jpg 1 1\n")
    assert "000004" not in str(err.value)  # the file's content is never quoted


def _write_images(folder, names, colour):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", (40, 30), colour).save(folder / name)


def test_celeba_and_glasses_folder_sources(tmp_path):
    celeba = tmp_path / "celeba"
    _write_images(celeba / "img_align_celeba", ["000001.jpg", "000002.jpg", "000003.jpg"], (200, 10, 10))
    (celeba / "list_attr_celeba.txt").write_text(CELEBA)
    data = OmegaConf.create({"source": "celeba", "path": str(celeba), "attributes": None, "holdout": 1})
    images, labels = load_labelled_faces(data, 16, "train", 0)
    assert images.shape == (2, 3, 16, 16) and images.dtype == torch.uint8
    assert labels["eyeglasses"].tolist() == [0.0, 1.0]
    kaggle = tmp_path / "kaggle"
    _write_images(kaggle / "glasses", ["a.png", "c.png"], (0, 0, 0))
    _write_images(kaggle / "no_glasses", ["b.png", "d.png"], (255, 255, 255))
    data = OmegaConf.create({"source": "folders", "path": str(kaggle), "holdout": 1})
    images, labels = load_labelled_faces(data, 8, "train", 0)
    assert labels["eyeglasses"].tolist() == [1.0, 0.0, 1.0]  # a, b, c (sorted by name)
    assert images[0].max() == 0 and images[1].min() == 255
    with pytest.raises(FileNotFoundError):
        load_labelled_faces(
            OmegaConf.create({"source": "folders", "path": str(celeba), "holdout": 1}), 8, "train", 0
        )


# ---------------------------------------------------------------- models and tiny training


def test_gradient_penalty_of_a_linear_critic():
    """For f(x) = w.x the input gradient is w everywhere: the penalty is (||w|| - 1)^2."""
    real, fake = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    labels = torch.ones(4, 2)
    for norm, expected in ((1.0, 0.0), (2.0, 1.0), (0.5, 0.25)):
        w = torch.randn(3 * 8 * 8)
        w = w / w.norm() * norm
        critic = lambda x, y, w=w: x.flatten(1) @ w + y.sum(1)  # noqa: E731
        assert math.isclose(gradient_penalty(critic, real, fake, labels).item(), expected, abs_tol=1e-5)


def test_ac_label_loss_and_generator_gradient():
    """AC-WGAN-GP term: BCE summed over labels; it is ~0 for confident right answers, large for wrong
    ones, and its gradient reaches every generator parameter through the classifier."""
    widths = {"g_channels": [8, 8, 8], "d_channels": [8, 8, 8], "ac_channels": [8, 8, 8]}
    cfg = OmegaConf.create({"size": 32, "latent_dim": 8, "labels": ["eyeglasses", "male"], **widths})
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sure = lambda x: (labels * 2 - 1) * 20  # noqa: E731  (logits that agree with the labels)
    assert label_loss(sure, torch.zeros(2, 3, 32, 32), labels).item() < 1e-6
    assert label_loss(lambda x: -sure(x), torch.zeros(2, 3, 32, 32), labels).item() > 39
    undecided = lambda x: torch.zeros(2, 2)  # noqa: E731
    assert math.isclose(label_loss(undecided, None, labels).item(), 2 * math.log(2), rel_tol=1e-6)
    classifier, generator = build_classifier(cfg), build_cwgan(cfg)["generator"]
    assert classifier(torch.randn(2, 3, 32, 32)).shape == (2, 2)
    label_loss(classifier, generator(torch.randn(2, 8), labels), labels).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


def test_book_variant_builds_no_classifier(tiny_cfg):
    """ac_weight=0 reproduces the book's plain conditional WGAN-GP: no classifier, no extra logs."""
    from genai_core.train.faces import ConditionalWGANTask

    cfg = tiny_cfg("cwgan_glasses", "ac_weight=0", "eval.referee=null")
    task = ConditionalWGANTask(cfg, torch.device("cpu"))
    assert task.classifier is None and set(task.modules) == {"generator", "critic"}
    assert set(task.train_step(0)) == {"loss_critic", "gp", "wasserstein", "loss_g"}
    task = ConditionalWGANTask(tiny_cfg("cwgan_glasses", "eval.referee=null"), torch.device("cpu"))
    assert "classifier" in task.modules and "classifier" not in task.export_modules()
    assert {"loss_ac_real", "loss_ac_fake"} <= set(task.train_step(0))


@pytest.mark.parametrize("size", [32, 64])
def test_cwgan_shapes_and_init(size):
    cfg = OmegaConf.create({"size": size, "latent_dim": 16, "labels": ["eyeglasses", "male"],
                            "g_channels": [32, 16, 8, 8], "d_channels": [8, 16, 16, 32]})  # fmt: skip
    nets = build_cwgan(cfg)
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    images = nets["generator"](torch.randn(3, 16), labels)
    assert images.shape == (3, 3, size, size) and images.abs().max() <= 1
    assert nets["critic"](images, labels).shape == (3,)
    conv = next(m for m in nets["critic"].modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.in_channels == 5  # RGB + one plane per label
    assert abs(conv.weight.std().item() - 0.02) < 0.01  # .apply(dcgan_init) reached the layers


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    referee_spec, gan_spec = get("face_referee"), get("cwgan_glasses")
    referee_cfg = referee_spec.config([*referee_spec.tiny, f"out_dir={root / 'referee'}"])
    referee_recorder = Recorder()
    assert Trainer(referee_spec.task_class(), referee_cfg, callbacks=[referee_recorder]).fit() == "finished"
    gan_cfg = gan_spec.config([*gan_spec.tiny, f"out_dir={root / 'gan'}", f"eval.referee={root / 'referee'}"])
    gan_recorder = Recorder()
    assert Trainer(gan_spec.task_class(), gan_cfg, callbacks=[gan_recorder]).fit() == "finished"
    return {"root": root, "referee": referee_recorder, "gan": gan_recorder}


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


def test_tiny_cwgan_logs_floats_evaluates_and_exports(tiny_runs):
    recorder, out = tiny_runs["gan"], tiny_runs["root"] / "gan"
    logs = recorder.logs[-1][1]
    assert {"loss_critic", "gp", "wasserstein", "loss_g", "loss_ac_real", "loss_ac_fake"} <= set(logs)
    assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    assert "control_eyeglasses" in recorder.evals[-1][1]  # the referee was found and used
    assert json.loads((out / "exported.json").read_text())["step"] == 3
    gan = ConditionalFacePipeline.from_pretrained(out)
    assert gan.face(3, 1.0, 0.0).shape == (1, 3, 32, 32)
    assert torch.equal(gan.face(3, 1.0, 0.0), gan.face(3, 1.0, 0.0))
    sweep, w = gan.label_sweep(3, 1.0, 5)
    assert sweep.shape[0] == 5 and w[0] == 0 and w[-1] == 1
    assert gan.cross_grid(0, 1, 1.0, 0.0, 6).shape == (36, 3, 32, 32)
    referee = FaceRefereePipeline.from_pretrained(tiny_runs["root"] / "referee")
    try:
        images, intended = gan.arithmetic(referee, next(iter(PRESETS)), seed=0, n=256)
        assert images.shape == (4, 3, 32, 32) and intended == "woman with glasses"
    except ValueError as err:  # an untrained referee may see no face of some group
        assert "try another seed" in str(err)


# ---------------------------------------------------------------- the tab, on the shipped weights


def test_tab_handlers_return_captioned_galleries():
    faces = cwgan.face(0, 1.0, 1.0)
    assert len(faces) == 7 and faces[0][0].shape == (cwgan.DISPLAY, cwgan.DISPLAY, 3)
    assert "glasses" in faces[0][1] and ("man" in faces[0][1] or "woman" in faces[0][1])
    assert len(cwgan.interpolate(0, 1, 1.0, 0.0, 0.0, 5)) == 5
    assert len(cwgan.grid(0, 1, 1.0, 0.0)) == 36
    result = cwgan.arithmetic(next(iter(PRESETS)), 0)
    assert len(result) == 4 and "result" in result[-1][1]
    assert set(cwgan.API_EXAMPLES) == {"cwgan_glasses_face", "cwgan_glasses_interpolate",
                                       "cwgan_glasses_grid", "cwgan_glasses_arithmetic"}  # fmt: skip


@pytest.mark.parametrize(
    "call",
    [
        lambda: cwgan.face(-1, 1.0, 1.0),
        lambda: cwgan.face(0, 1.5, 1.0),
        lambda: cwgan.face(0, "lots", 1.0),
        lambda: cwgan.face(0, float("nan"), 1.0),
        lambda: cwgan.interpolate(0, 1, 1.0, 0.0, 0.0, 100),
        lambda: cwgan.grid(0, None, 1.0, 0.0),
        lambda: cwgan.arithmetic("man + dog", 0),
    ],
)
def test_bad_values_become_a_message(call):
    with pytest.raises(gr.Error):
        call()


def test_cwgan_resume_is_exact(tiny_cfg):
    """Stop at the first checkpoint and resume: the weights equal those of an uninterrupted run."""
    spec = get("cwgan_glasses")
    straight = Trainer(
        spec.task_class(),
        tiny_cfg("cwgan_glasses", "steps=4", "out_dir=" + str(tiny_cfg("cwgan_glasses").out_dir) + "_a"),
    )
    straight.fit()
    cfg = tiny_cfg(
        "cwgan_glasses", "steps=4", "log_every=1", "out_dir=" + str(tiny_cfg("cwgan_glasses").out_dir) + "_b"
    )
    assert Trainer(spec.task_class(), cfg, callbacks=[StopAfter(2)]).fit() == "stopped"
    resumed = Trainer(spec.task_class(), cfg)
    assert resumed.fit() == "finished"
    for key, module in straight.task.modules.items():
        for (name, a), b in zip(
            module.state_dict().items(), resumed.task.modules[key].state_dict().values(), strict=True
        ):
            assert torch.equal(a, b), f"{key}.{name} differs after resume"
