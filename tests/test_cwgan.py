"""The conditional WGAN-GP (book ch. 5): penalty, auxiliary classifier, shapes, a tiny run judged by a tiny
referee, exact resume, and the tab on the shipped weights."""

import json
import math
from pathlib import Path

import gradio as gr
import pytest
import torch
from omegaconf import OmegaConf

from demos import cwgan
from genai_core.data.faces import (
    PRESETS,
)
from genai_core.models.cwgan import build_cwgan, build_label_classifier, gradient_penalty, label_loss
from genai_core.pipelines.cwgan import CWGANPipeline
from genai_core.pipelines.face_referee import FaceRefereePipeline
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder, StopAfter

# ---------------------------------------------------------------- renderer


# ---------------------------------------------------------------- real-data loaders


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
    cfg = OmegaConf.create({"size": 32, "latent_dim": 8, "labels": ["eyeglasses", "male"],
                            "label_planes": "every_layer", "signed_labels": True, **widths})
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    sure = lambda x: (labels * 2 - 1) * 20  # noqa: E731  (logits that agree with the labels)
    assert label_loss(sure, torch.zeros(2, 3, 32, 32), labels).item() < 1e-6
    assert label_loss(lambda x: -sure(x), torch.zeros(2, 3, 32, 32), labels).item() > 39
    undecided = lambda x: torch.zeros(2, 2)  # noqa: E731
    assert math.isclose(label_loss(undecided, None, labels).item(), 2 * math.log(2), rel_tol=1e-6)
    classifier, generator = build_label_classifier(cfg), build_cwgan(cfg)["generator"]
    assert classifier(torch.randn(2, 3, 32, 32)).shape == (2, 2)
    label_loss(classifier, generator(torch.randn(2, 8), labels), labels).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in generator.parameters())


def test_book_variant_builds_no_classifier(tiny_cfg):
    """ac_weight=0 reproduces the book's plain conditional WGAN-GP: no classifier, no extra logs."""
    from genai_core.train.cwgan import CWGANTask

    cfg = tiny_cfg("cwgan_glasses", "ac_weight=0", "eval.referee=null")
    task = CWGANTask(cfg, torch.device("cpu"))
    assert task.classifier is None and set(task.modules) == {"generator", "critic"}
    assert set(task.train_step(0)) == {"loss_critic", "gp", "wasserstein", "loss_g"}
    task = CWGANTask(tiny_cfg("cwgan_glasses", "eval.referee=null"), torch.device("cpu"))
    assert "classifier" in task.modules and "classifier" not in task.export_modules()
    assert {"loss_ac_real", "loss_ac_fake"} <= set(task.train_step(0))


@pytest.mark.parametrize("size", [32, 64])
def test_cwgan_shapes_and_init(size):
    cfg = OmegaConf.create({"size": size, "latent_dim": 16, "labels": ["eyeglasses", "male"],
                            "label_planes": "every_layer", "signed_labels": True,
                            "g_channels": [32, 16, 8, 8], "d_channels": [8, 16, 16, 32]})
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


def test_tiny_cwgan_logs_floats_evaluates_and_exports(tiny_runs):
    recorder, out = tiny_runs["gan"], tiny_runs["root"] / "gan"
    logs = recorder.logs[-1][1]
    assert {"loss_critic", "gp", "wasserstein", "loss_g", "loss_ac_real", "loss_ac_fake"} <= set(logs)
    assert all(isinstance(v, float) and math.isfinite(v) for v in logs.values())
    assert "control_eyeglasses" in recorder.evals[-1][1]  # the referee was found and used
    assert json.loads((out / "exported.json").read_text())["step"] == 3
    gan = CWGANPipeline.from_pretrained(out)
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

PROCEDURAL = "Procedural faces (the project's drawings)"


def test_tab_handlers_return_captioned_pictures(monkeypatch):
    from genai_core import images

    captions = []
    real = images.labelled_grid
    def recording(pictures, texts, **settings):
        captions.append(texts)
        return real(pictures, texts, **settings)

    monkeypatch.setattr(cwgan, "labelled_grid", recording)
    faces = cwgan.face(PROCEDURAL, 0, 1.0, 1.0)
    assert faces.ndim == 3 and faces.shape[1] >= 7 * 112 and len(captions[-1]) == 7
    assert "glasses" in captions[-1][0] and ("man" in captions[-1][0] or "woman" in captions[-1][0])
    assert cwgan.interpolate(PROCEDURAL, 0, 1, 1.0, 0.0, 0.0, 5).ndim == 3 and len(captions[-1]) == 5
    assert cwgan.grid(PROCEDURAL, 0, 1, 1.0, 0.0).ndim == 3 and len(captions[-1]) == 36
    assert cwgan.arithmetic(PROCEDURAL, next(iter(PRESETS)), 0).ndim == 3
    assert len(captions[-1]) == 4 and "result" in captions[-1][-1]
    assert set(cwgan.API_EXAMPLES) == {"cwgan_glasses_face", "cwgan_glasses_interpolate",
                                       "cwgan_glasses_grid", "cwgan_glasses_arithmetic"}


@pytest.mark.parametrize(
    "call",
    [
        lambda: cwgan.face(PROCEDURAL, -1, 1.0, 1.0),
        lambda: cwgan.face(PROCEDURAL, 0, 1.5, 1.0),
        lambda: cwgan.face(PROCEDURAL, 0, "lots", 1.0),
        lambda: cwgan.face(PROCEDURAL, 0, float("nan"), 1.0),
        lambda: cwgan.interpolate(PROCEDURAL, 0, 1, 1.0, 0.0, 0.0, 100),
        lambda: cwgan.grid(PROCEDURAL, 0, None, 1.0, 0.0),
        lambda: cwgan.arithmetic(PROCEDURAL, "man + dog", 0),
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


def test_real_photos_get_pseudo_labels_and_rare_pairs_repeat(real_photo_folder, tmp_path, tiny_runs):
    from genai_core.train.cwgan import balanced_pool

    spec = get("cwgan_real_faces")
    real = ["data.source=real", f"data.path={real_photo_folder}", "data.pseudo_confidence=0.5",
            f"data.pseudo_labels={tiny_runs['root'] / 'referee'}"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *real])
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    gan = CWGANPipeline.from_pretrained(tmp_path)
    assert gan.face(0, 1.0, 0.0).shape == (1, 3, 32, 32)
    labels = torch.tensor([[1.0, 0.0]] + [[0.0, 1.0]] * 16)
    pool = balanced_pool(labels, 0.5)
    assert (pool == 0).sum() == 4 and (pool > 0).sum() == 16  # sqrt(16) repeats of the lone pair


def test_the_books_label_input_builds(tiny_cfg):
    cfg = tiny_cfg("cwgan_glasses", "model.label_planes=input", "model.signed_labels=false")
    nets = build_cwgan(cfg.model)
    z, labels = torch.randn(2, cfg.model.latent_dim), torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    images = nets["generator"](z, labels)
    assert images.shape == (2, 3, 32, 32) and nets["critic"](images, labels).shape == (2,)
    first = next(m for m in nets["critic"].modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 5 and nets["critic"].out.in_channels == cfg.model.d_channels[2]


def test_keep_loss_prices_changes_outside_the_eyes_only():
    """The glasses label flipped may change the band of the eyes for free; hair, skin or background
    colours that change with it cost keep_weight."""
    from types import SimpleNamespace

    from genai_core.train.cwgan import CWGANTask, outside_the_eyes

    base = torch.zeros(2, 3, 64, 64)

    def generator(painted_rows):
        def draw(z, labels):
            images = base.clone()
            glasses = labels[:, :1, None, None]  # (N, 1, 1, 1): the flipped label changes these rows
            images[:, :, painted_rows, 8:56] = images[:, :, painted_rows, 8:56] + glasses
            return images
        return draw

    z, labels = torch.zeros(2, 4), torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    costs = {}
    for name, rows in (("eyes", slice(24, 32)), ("hair", slice(0, 8))):
        task = SimpleNamespace(generator=generator(rows), glasses=0, keep_mask=outside_the_eyes())
        costs[name] = float(CWGANTask._keep_loss(task, z, labels, task.generator(z, labels)))
    assert costs["eyes"] == 0.0 and costs["hair"] > 0.1


def test_keep_weight_trains_and_logs_its_loss(tiny_cfg):
    cfg = tiny_cfg("cwgan_real_faces", "keep_weight=5.0")
    recorder = Recorder()
    assert Trainer(get("cwgan_real_faces").task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    assert all(math.isfinite(logs["loss_keep"]) and logs["loss_keep"] >= 0 for _, logs in recorder.logs)


def test_a_warm_start_from_shipped_weights_trains_the_critic_first(tiny_cfg, tmp_path):
    """A weights folder holds the generator only: during critic_warmup the generator must not move
    (a fresh critic's verdicts would unteach it), and afterwards it trains again."""
    import shutil

    spec = get("cwgan_real_faces")
    first = tiny_cfg("cwgan_real_faces", "steps=2")
    assert Trainer(spec.task_class(), first).fit() == "finished"
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for name in ("model.safetensors", "config.yaml"):
        shutil.copy(Path(first.out_dir) / name, shipped)
    loaded = CWGANPipeline.from_pretrained(shipped).generator.state_dict()
    recorder = Recorder()
    warm = spec.config([*spec.tiny, f"out_dir={tmp_path / 'warm'}", f"init_from={shipped}",
                        "critic_warmup=2", "steps=2", "log_every=1"])
    trainer = Trainer(spec.task_class(), warm, callbacks=[recorder])
    assert trainer.fit() == "finished"
    assert all("loss_g" not in logs and math.isfinite(logs["loss_critic"]) for _, logs in recorder.logs)
    for name, value in trainer.task.generator.named_parameters():  # BatchNorm statistics may follow
        assert torch.equal(value, loaded[name].to(value.dtype)), f"generator.{name} moved during the warm-up"
    moving = spec.config([*spec.tiny, f"out_dir={tmp_path / 'moving'}", f"init_from={shipped}",
                          "critic_warmup=1", "steps=2"])
    trainer = Trainer(spec.task_class(), moving)
    assert trainer.fit() == "finished"
    moved = [not torch.equal(v, loaded[k].to(v.dtype)) for k, v in trainer.task.generator.named_parameters()]
    assert any(moved)
