"""DCGAN on anime faces and its FD referee: tiny offline runs on procedural faces, never the real data."""

import io
import json
import math
import tarfile

import gradio as gr
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from genai_core.data.anime_faces import load_faces, synthetic_faces
from genai_core.metrics.image import shape_contrast
from genai_core.models.dcgan import build_dcgan
from genai_core.pipelines.dcgan import DCGANPipeline
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A tiny referee, then a tiny DCGAN that keeps its best checkpoint by FD against it."""
    root = tmp_path_factory.mktemp("dcgan")
    encoder_spec, dcgan_spec = get("anime_encoder"), get("dcgan")
    encoder_cfg = encoder_spec.config([*encoder_spec.tiny, f"out_dir={root / 'encoder'}"])
    Trainer(encoder_spec.task_class(), encoder_cfg).fit()
    cfg = dcgan_spec.config(
        [*dcgan_spec.tiny, f"out_dir={root / 'dcgan'}", f"eval.referee={root / 'encoder'}"]
    )
    recorder = Recorder()
    trainer = Trainer(dcgan_spec.task_class(), cfg, callbacks=[recorder])
    assert trainer.fit() == "finished"
    return {"root": root, "cfg": cfg, "recorder": recorder, "trainer": trainer}


@pytest.fixture(scope="module")
def face_pipeline(runs):
    return DCGANPipeline.from_pretrained(runs["root"] / "dcgan")


def test_tiny_training_logs_floats_evaluates_and_exports(runs):
    recorder, out = runs["recorder"], runs["root"] / "dcgan"
    assert recorder.logs and all(isinstance(v, float) for _, logs in recorder.logs for v in logs.values())
    assert {"loss_d", "loss_g", "d_real", "d_fake"} <= set(recorder.logs[-1][1])
    assert [step for step, _ in recorder.evals] == [2, 4]
    assert all(math.isfinite(m["fd_anime"]) for _, m in recorder.evals)
    exported = json.loads((out / "exported.json").read_text())
    assert "fd_anime" in exported["metrics"]  # keep-best used the referee
    step, image = recorder.samples[-1]
    assert image.dtype == np.uint8 and image.shape == (8 * 66 + 2, 8 * 66 + 2, 3)  # 8x8 grid of 64px faces
    assert (out / "samples" / "step_0000004.png").is_file()


def test_dcgan_init_is_applied_to_every_layer():
    nets = build_dcgan(OmegaConf.create({"latent_dim": 100, "ngf": 32, "ndf": 32, "d_norm": "batch"}))
    for net in nets.values():
        convs = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
        norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        assert all(abs(m.weight.std().item() - 0.02) < 0.005 for m in convs)
        assert all(abs(m.weight.mean().item() - 1.0) < 0.01 for m in norms)


def test_shapes_and_ranges():
    nets = build_dcgan(OmegaConf.create({"latent_dim": 100, "ngf": 8, "ndf": 8, "d_norm": "spectral"}))
    images = nets["generator"](torch.randn(3, 100))
    assert images.shape == (3, 3, 64, 64) and images.abs().max() <= 1
    assert nets["discriminator"](images).shape == (3,)


def test_a_seed_names_one_face_everywhere(face_pipeline):
    grid = face_pipeline.grid(5, seed=7)
    assert grid.shape == (2 * 66 + 2, 3 * 66 + 2, 3)  # 3 per row, 2 rows
    np.testing.assert_array_equal(grid, face_pipeline.grid(5, seed=7))
    # face 4 of the grid (row 1, column 1) is the face of seed 7 + 4, alone
    np.testing.assert_array_equal(grid[68:132, 68:132], face_pipeline.face(11))
    assert not np.array_equal(face_pipeline.face(11), face_pipeline.face(12))


def test_walk_ends_on_the_two_faces_and_truncation_scales(face_pipeline):
    frames = face_pipeline.walk(3, 9, frames=6, truncation=0.7)
    assert len(frames) == 6 and frames[0].shape == (64, 64, 3)
    np.testing.assert_array_equal(frames[0], face_pipeline.face(3, truncation=0.7))
    np.testing.assert_array_equal(frames[-1], face_pipeline.face(9, truncation=0.7))
    z1, z07 = face_pipeline.latents(3, 2), face_pipeline.latents(3, 2, truncation=0.7)
    torch.testing.assert_close(z07, 0.7 * z1)
    with pytest.raises(ValueError, match="truncation"):
        face_pipeline.walk(0, 1, 4, truncation=0)
    with pytest.raises(ValueError, match="frames"):
        face_pipeline.walk(0, 1, 1)


@pytest.fixture
def demo(face_pipeline, monkeypatch):
    import demos.dcgan

    monkeypatch.setattr(demos.dcgan, "pipeline", lambda name: face_pipeline)
    return demos.dcgan


def test_walk_exports_readable_gif_and_mp4_and_settings(demo):
    gif, strip, files = demo.walk(0, 5, 7, 10, 0.8)
    frames = iio.imread(gif)
    assert frames.shape == (7, 256, 256, 3)  # 7 frames, faces shown 4x
    mp4 = iio.imread(demo.walk_video(0, 5, 7, 10, 0.8))
    assert mp4.shape[1:] == (256, 256, 3)
    assert np.abs(mp4[0].astype(int) - frames[0]).mean() < 8  # the same walk
    assert strip.shape[0] == 128 and strip.shape[1] == 128 * 7  # all 7 frames (<= 10)
    settings = json.loads(open(files[1]).read())
    assert settings["seed_a"] == 0 and settings["seed_b"] == 5 and settings["truncation"] == 0.8


def test_grid_pick_and_click(demo):
    image, settings = demo.grid(10, 4, 1.0)
    assert image.shape == (2 * (3 * 66 + 2), 2 * (4 * 66 + 2), 3)
    assert json.loads(open(settings).read())["count"] == 10
    face, info, face_seed = demo.pick(10, 4, 9, 1.0)
    assert face_seed == 13 and "seed 13" in info and face.shape == (256, 256, 3)
    click = gr.SelectData(None, {"index": [2 * (2 + 66 + 30), 2 * (2 + 2 * 66 + 30)], "value": None})
    assert demo.cell_from_click(10, click) == 2 * 4 + 1  # row 2, column 1 of a 4-wide grid


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.grid(0, 0, 1.0),
        lambda d: d.grid(65, 0, 1.0),
        lambda d: d.grid(4, -1, 1.0),
        lambda d: d.grid(4, 0, 0.0),
        lambda d: d.grid(4, 0, float("nan")),
        lambda d: d.grid(4, 0, "abc"),
        lambda d: d.pick(4, 0, 4, 1.0),
        lambda d: d.pick(4, 2**31 - 2, 3, 1.0),
        lambda d: d.walk(0, 1, 1, 10, 1.0),
        lambda d: d.walk(0, 1, 8, 0, 1.0),
        lambda d: d.walk(0, 1.5, 8, 10, 1.0),
    ],
)
def test_bad_input_is_a_gradio_error(demo, call):
    with pytest.raises(gr.Error):
        call(demo)


def test_tab_builds_with_api_names():
    import demos.dcgan

    with gr.Blocks() as blocks:
        demos.dcgan.build()
    names = {d.api_name for d in blocks.fns.values()}
    assert {"dcgan_grid", "dcgan_walk", "dcgan_walk_video", "dcgan_pick", "dcgan_pick_start",
            "dcgan_pick_end"} <= names


def _jpeg(seed: int) -> bytes:
    array = np.random.default_rng(seed).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_loaders_read_a_tar_and_a_folder_in_name_order(tmp_path):
    tar_path, folder = tmp_path / "faces.tar", tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    with tarfile.open(tar_path, "w") as archive:
        for name in ("b.jpg", "a.jpg", "c.jpg", "notes.txt"):
            data = _jpeg(ord(name[0])) if name.endswith(".jpg") else b"not an image"
            info = tarfile.TarInfo(f"anime_faces_64/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            (folder / "sub" / name).write_bytes(data)
    Image.new("RGB", (100, 80), "red").save(folder / "big.png")  # other sizes are cropped and resized
    from_tar = load_faces("tar", tar_path, "all")
    assert from_tar.shape == (3, 3, 64, 64) and from_tar.dtype == torch.uint8
    assert load_faces("tar", tar_path, "eval", holdout=1).shape[0] == 1
    from_folder = load_faces("folder", folder, "all")
    assert from_folder.shape == (4, 3, 64, 64)
    torch.testing.assert_close(from_folder[1:], from_tar)  # big.png sorts first, then sub/a, b, c
    with pytest.raises(FileNotFoundError):
        load_faces("tar", tmp_path / "missing.tar")
    with pytest.raises(ValueError, match="holdout"):
        load_faces("tar", tar_path, "train", holdout=3)


def test_synthetic_faces_are_reproducible_and_varied():
    a, b = synthetic_faces(6, seed=1), synthetic_faces(6, seed=1)
    assert a.shape == (6, 3, 64, 64) and a.dtype == torch.uint8
    torch.testing.assert_close(a, b)
    assert not torch.equal(a[0], a[1])


def test_bf16_autocast_is_a_setting_and_changes_faces_invisibly(monkeypatch):
    from genai_core.registry import load_pipeline

    pipeline = load_pipeline("dcgan")
    z = pipeline.latents(0, 8)
    monkeypatch.setenv("GENAI_BF16", "0")
    exact = pipeline.images(z)
    assert torch.equal(exact, pipeline.generator(z).clamp(-1, 1))
    monkeypatch.setenv("GENAI_BF16", "1")
    fast = pipeline.images(z)
    assert fast.dtype == torch.float32 and 0 < (fast - exact).abs().max() * 127.5 < 6
    assert torch.equal(pipeline.images(z[3:4])[0], fast[3])  # a face still depends on its own latent only


def test_the_lowest_truncation_offered_still_gives_faces():
    """The slider's minimum must not fade the shipped generator's faces into flat tiles: the contrast of
    their shapes stays above half of what the trained distribution gives."""
    from demos import dcgan as tab

    pipeline = get("dcgan").load_pipeline()
    lowest, trained, tiles = (shape_contrast(pipeline.images(pipeline.latents(0, 32, t)))
                              for t in (tab.MIN_TRUNCATION, 1.0, 0.1))
    assert lowest > 0.5 * trained
    assert tiles < 0.5 * trained  # what truncation 0.1 gives: the measure can tell


def test_the_moving_average_keeps_batch_statistics_of_its_own_weights():
    """The shipped generator (the EMA) in eval mode should draw what it draws with a batch's own
    statistics; the live generator's statistics belong to other weights and land further away."""
    import copy

    from genai_core.train.dcgan import DCGANTask

    spec = get("dcgan")
    cfg = spec.config([*spec.tiny, "ema_decay=0.999", "lr=2e-3", "batch_size=32"])
    torch.manual_seed(0)
    task = DCGANTask(cfg, torch.device("cpu"))
    task.train(True)
    for step in range(40):
        task.train_step(step)
    z = torch.randn(256, task.ema.latent_dim, generator=torch.Generator().manual_seed(7))

    def gap(generator):
        with torch.no_grad():
            batch = copy.deepcopy(generator).train(True)(z)
            return (generator.eval()(z) - batch).abs().mean().item()

    borrowed = copy.deepcopy(task.ema)
    for mine, live in zip(borrowed.buffers(), task.generator.buffers(), strict=True):
        mine.copy_(live)
    assert gap(task.ema) < 0.8 * gap(borrowed)
