"""Face VAE: the KL term, the network, the photo loader's splits, augmentation, the shipped models'
reconstruction and arithmetic, and the tab's handlers. Offline, never ../shared."""

import io
import tarfile

import gradio as gr
import imageio.v3 as iio
import numpy as np
import pytest
import torch
from PIL import Image

from demos import vae as tab
from genai_core.data.faces import PRESETS, load_face_photos, render_batch
from genai_core.data.real_faces import PRESETS as REAL_PRESETS
from genai_core.metrics.image import psnr
from genai_core.models.vae import FaceVAE, kl_divergence
from genai_core.registry import load_pipeline
from genai_core.train.augment import augment


def test_kl_matches_torch_distributions():
    mu, logvar = torch.randn(5, 7), torch.randn(5, 7)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(5, 7), torch.ones(5, 7))
    expected = torch.distributions.kl_divergence(q, p).sum(1)
    assert torch.allclose(kl_divergence(mu, logvar), expected, atol=1e-5)
    assert torch.allclose(kl_divergence(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_vae_shapes_and_size_check():
    vae = FaceVAE(32, (4, 8, 8), 6)
    recon, mu, logvar = vae(torch.rand(3, 3, 32, 32) * 2 - 1)
    assert recon.shape == (3, 3, 32, 32) and mu.shape == logvar.shape == (3, 6)
    with pytest.raises(ValueError, match="multiple"):
        FaceVAE(36, (4, 8, 8), 6)


def _tar(path, names):
    with tarfile.open(path, "w") as archive:
        for i, name in enumerate(names):
            buffer = io.BytesIO()
            Image.new("RGB", (40, 30), (i * 20, 0, 0)).save(buffer, format="JPEG")
            info = tarfile.TarInfo(f"faces/{name}")
            info.size = buffer.tell()
            buffer.seek(0)
            archive.addfile(info, buffer)
    return path


def test_face_photos_use_the_marked_test_split_or_hold_out_the_last(tmp_path):
    names = ["train_1.jpg", "test_1.jpg", "train_2.jpg", "test_2.jpg", "notes.txt"]
    marked = _tar(tmp_path / "marked.tar", names)
    assert load_face_photos(marked, 16, "train", 1).shape == (2, 3, 16, 16)
    assert load_face_photos(marked, 16, "eval", 1).shape == (2, 3, 16, 16)
    plain = _tar(tmp_path / "plain.tar", [f"{i}.jpg" for i in range(5)])
    assert len(load_face_photos(plain, 16, "train", 2)) == 3
    assert len(load_face_photos(plain, 16, "eval", 2)) == 2
    with pytest.raises(FileNotFoundError):
        load_face_photos(tmp_path / "missing.tar", 16, "train", 1)


def test_augment_is_seeded_and_stays_in_range():
    x = torch.rand(4, 3, 128, 128) * 2 - 1
    a = augment(x, 64, torch.Generator().manual_seed(1))
    b = augment(x, 64, torch.Generator().manual_seed(1))
    assert a.shape == (4, 3, 64, 64) and torch.equal(a, b)
    assert a.min() >= -1 and a.max() <= 1


def test_shipped_vae_reconstructs_fresh_faces_and_the_prior_is_seeded():
    vae = load_pipeline("vae_faces")
    images, _ = render_batch(32, 424_242, 64)  # a seed no training or evaluation used
    assert psnr(vae.reconstruct(images), images).mean() > 20
    assert torch.equal(vae.prior(4, 7), vae.prior(4, 7)) and not torch.equal(vae.prior(4, 7), vae.prior(4, 8))
    walk = vae.interpolate(vae.prior_codes(1, 0)[0], vae.prior_codes(1, 1)[0], 5)
    assert walk.shape == (5, 3, 64, 64) and torch.allclose(walk[0], vae.prior(1, 0)[0], atol=1e-5)


def test_arithmetic_presets_follow_the_model():
    images, intended = load_pipeline("vae_faces").arithmetic(next(iter(PRESETS)), 0, n=128)
    assert images.shape == (4, 3, 64, 64) and intended in PRESETS[next(iter(PRESETS))]
    real = load_pipeline("vae_real_faces")
    assert real.real and set(real.presets) == set(REAL_PRESETS)
    real_only = next(p for p in REAL_PRESETS if p not in PRESETS)  # e.g. smiling: no drawn-faces label
    with pytest.raises(ValueError, match="unknown preset"):
        load_pipeline("vae_faces").arithmetic(real_only, 0)


def test_tab_handlers_return_images_and_a_video(tmp_path):
    grid = tab.generate(tab.FIRST, 4, 0, 1.0)
    assert grid.ndim == 3 and np.array_equal(grid, tab.generate(tab.FIRST, 4, 0, 1.0))
    shown, recon, score = tab.reconstruct(tab.FIRST, str(tab.EXAMPLES_DIR / "black_face_1.png"))
    assert shown.shape == recon.shape == (128, 128, 3) and "PSNR" in score and "centred square" in score
    _, _, score = tab.reconstruct(tab.FIRST, str(tab.EXAMPLES[0]))  # a real photo: its face is found
    assert "face found and framed" in score
    # a face in a larger photo is found and framed
    scene = Image.new("RGB", (900, 700), (60, 60, 90))
    face = Image.open(tab.EXAMPLES_DIR / "blond_face_1.png").convert("RGB")
    scene.paste(face.resize((300, 300)), (400, 200))
    scene.save(tmp_path / "scene.png")
    _, _, score = tab.reconstruct(tab.FIRST, str(tmp_path / "scene.png"))
    assert "face found and framed" in score
    strip, video = tab.interpolate(tab.FIRST, None, 0, str(tab.EXAMPLES[1]), 1, 6, 8)
    assert strip.ndim == 3 and iio.imread(video).shape[0] == 6
    picture = tab.arithmetic(tab.FIRST, next(iter(REAL_PRESETS)), 0)
    assert picture.ndim == 3 and picture.shape[1] > 4 * 160
    drawn = tab.arithmetic(tab.PROCEDURAL, next(iter(PRESETS)), 0)
    assert np.array_equal(drawn, tab.arithmetic(tab.PROCEDURAL, next(iter(PRESETS)), 0))


@pytest.mark.parametrize(
    "call",
    [
        lambda: tab.generate("a GAN", 4, 0, 1.0),
        lambda: tab.generate(tab.FIRST, 0, 0, 1.0),
        lambda: tab.generate(tab.FIRST, 4, 0, float("nan")),
        lambda: tab.reconstruct(tab.FIRST, None),
        lambda: tab.reconstruct(tab.FIRST, __file__),
        lambda: tab.interpolate(tab.FIRST, None, 0, None, 1, 1, 8),
        lambda: tab.interpolate(tab.FIRST, __file__, 0, None, 1, 4, 8),
        # a real-photo preset (smiling) on the drawn faces, which have no such label
        lambda: tab.arithmetic(tab.PROCEDURAL, next(p for p in REAL_PRESETS if p not in PRESETS), 0),
        lambda: tab.arithmetic(tab.FIRST, "king - man + woman", 0),
    ],
)
def test_tab_bad_input_is_a_message(call):
    with pytest.raises(gr.Error):
        call()


def test_a_vae_of_labelled_photos_ships_its_group_means(real_photo_folder, tmp_path):
    from genai_core.data.real_faces import PRESETS as REAL_PRESETS
    from genai_core.pipelines.vae import FaceVAEPipeline
    from genai_core.registry import get
    from genai_core.train import Trainer

    spec = get("vae_real_faces")
    groups = "[man with glasses,man without glasses,woman with glasses,woman without glasses]"
    real = ["data.source=real", f"data.path={real_photo_folder}", "data.load_size=40",
            f"model.groups={groups}"]
    cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", *real])
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    vae = FaceVAEPipeline.from_pretrained(tmp_path)
    assert vae.real and vae.group_means.means.abs().sum() > 0
    preset = next(iter(REAL_PRESETS))
    images, intended = vae.arithmetic(preset, seed=0)
    assert images.shape == (4, 3, 32, 32) and intended == "woman with glasses"


def test_eye_weight_prices_the_band_of_the_eyes(tmp_path):
    from genai_core.data.faces import eye_band
    from genai_core.registry import get

    spec = get("vae_faces")
    band = eye_band(64)
    assert band[16:40, 8:56].all() and band.sum() == 24 * 48  # rows 1/4-5/8, columns 1/8-7/8
    recon = {}
    for weight in (1.0, 5.0):
        cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", f"eye_weight={weight}"])
        task = spec.task_class()(cfg, "cpu")
        assert set(task.pixel_weight.unique().tolist()) == ({1.0} if weight == 1 else {1.0, weight})
        recon[weight] = task.train_step(0)["recon"]  # same seed: the same network and batch
    assert recon[1.0] < recon[5.0] < 5 * recon[1.0]


def test_a_critic_added_to_a_run_starts_afresh_and_never_ships(tmp_path, capsys):
    from safetensors import safe_open

    from genai_core.registry import get
    from genai_core.train import Trainer

    spec = get("vae_faces")
    plain = spec.config([*spec.tiny, f"out_dir={tmp_path}", "steps=2"])
    assert Trainer(spec.task_class(), plain).fit() == "finished"
    with_critic = spec.config([*spec.tiny, f"out_dir={tmp_path}", "steps=4", "adv_weight=1"])
    trainer = Trainer(spec.task_class(), with_critic)
    assert trainer.fit() == "finished" and trainer.step == 4  # resumed at step 2, with a new network
    assert "starting afresh: critic" in capsys.readouterr().out
    assert any("adv" in logged for logged in trainer.history)  # the critic's term was trained
    with safe_open(tmp_path / "model.safetensors", "pt") as weights:
        names = list(weights.keys())
    assert names and not [name for name in names if "critic" in name]


def test_a_calibrated_decoder_prices_the_error_at_the_sigma_it_implies(tmp_path):
    """recon_loss=calibrated: the Gaussian negative log-likelihood at sigma^2 = the batch's mean squared
    error (sigma-VAE), i.e. D/2 log(mse) per image; the held-out ELBO uses the same likelihood."""
    import math

    from genai_core.metrics.vae import vae_metrics
    from genai_core.pipelines.vae import FaceVAEPipeline
    from genai_core.registry import get

    spec = get("vae_faces")
    logs = {}
    for loss in ("sse", "calibrated"):
        cfg = spec.config([*spec.tiny, f"out_dir={tmp_path}", f"recon_loss={loss}"])
        torch.manual_seed(0)  # the same network, batch and z
        logs[loss] = spec.task_class()(cfg, "cpu").train_step(0)["recon"]
    pixels = 3 * int(cfg.model.size) ** 2
    assert logs["calibrated"] == pytest.approx(0.5 * pixels * math.log(logs["sse"] / pixels), rel=1e-4)
    with pytest.raises(ValueError, match="recon_loss"):
        spec.task_class()(spec.config([*spec.tiny, f"out_dir={tmp_path}", "recon_loss=l1"]), "cpu")
    task = spec.task_class()(cfg, "cpu")
    pipeline = FaceVAEPipeline.wrapping(cfg, {"vae": task.vae.eval()})
    images = task.eval_images[:8]
    plain = vae_metrics(pipeline, images, 1.0)
    calibrated = vae_metrics(pipeline, images, 1.0, calibrated=True)
    mse = plain["recon"] / pixels
    assert calibrated["recon"] == pytest.approx(0.5 * pixels * (math.log(2 * math.pi * mse) + 1), rel=1e-6)
    assert calibrated["elbo_loss"] == pytest.approx(calibrated["recon"] + calibrated["kl"], rel=1e-6)
