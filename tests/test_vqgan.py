"""VQGAN: taming-transformers key layout (the real f16_16384 config, built on the meta device), strict
loading of taming-style checkpoints, the straight-through quantiser, the shapes-world task and pipeline,
and the shipped weights when present."""

import pickle
import sys
import types
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from genai_core.checkpoint import WeightsError
from genai_core.data.shapes import render_scenes, sample_scenes
from genai_core.metrics.vqgan import checker_passes, codebook_perplexity, vqgan_metrics
from genai_core.models.vqgan import VQModel
from genai_core.pipelines.vqgan import VQGANPipeline, load_taming_vqgan
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.vqgan import VQGANTask

FIXTURE = Path(__file__).parent / "fixtures" / "taming_vqgan_f16_16384_keys.txt"
F16_16384 = dict(ch=128, ch_mult=[1, 1, 2, 2, 4], num_res_blocks=2, attn_resolutions=[16], z_channels=256,
                 resolution=256, in_channels=3, out_ch=3, dropout=0.0, double_z=False)
# the same structure in miniature: a changing channel count (nin_shortcut), attention at one level
SMALL = dict(ch=8, ch_mult=[1, 2, 2], num_res_blocks=1, attn_resolutions=[4], z_channels=8, resolution=16,
             in_channels=3, out_ch=3, dropout=0.0, double_z=False, norm_groups=4)
TINY = get("vqgan_shapes").tiny


def test_keys_and_shapes_match_taming_vqgan_imagenet_f16_16384():
    lines = [line for line in FIXTURE.read_text().splitlines() if line and not line.startswith("#")]
    expected = dict(line.split() for line in lines)
    with torch.device("meta"):  # ~76M parameters: no memory, no init time
        model = VQModel(F16_16384, n_embed=16384, embed_dim=256)
    ours = {k: "x".join(map(str, v.shape)) for k, v in model.state_dict().items()}
    assert sorted(set(expected) - set(ours)) == [] and sorted(set(ours) - set(expected)) == []
    assert ours == expected
    assert "encoder.down.4.attn.1.proj_out.weight" in ours and "decoder.up.4.attn.2.q.bias" in ours


def _write_taming_run(folder: Path, state: dict, extra=None) -> tuple[Path, Path]:
    """A taming-style logs/<run>/checkpoints/last.ckpt and configs/model.yaml."""
    ckpt, yaml = folder / "last.ckpt", folder / "model.yaml"
    torch.save({"state_dict": state, "global_step": 7, **(extra or {})}, ckpt)
    params = {"embed_dim": 6, "n_embed": 24, "ddconfig": SMALL, "lossconfig": {"target": "x.y.Loss"}}
    OmegaConf.save({"model": {"target": "taming.models.vqgan.VQModel", "params": params}}, yaml)
    return ckpt, yaml


def _taming_state(seed=0) -> dict:
    torch.manual_seed(seed)
    model = VQModel(SMALL, n_embed=24, embed_dim=6)
    state = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
    # the checkpoint's discriminator / LPIPS weights, which the loader must drop
    state["loss.discriminator.main.0.weight"] = torch.randn(4, 3, 4, 4)
    state["loss.perceptual_loss.net.slice1.0.weight"] = torch.randn(2, 3, 3, 3)
    return state


def test_load_taming_checkpoint_strictly_and_drop_loss_keys(tmp_path):
    state = _taming_state()
    ckpt, yaml = _write_taming_run(tmp_path, state)
    model = load_taming_vqgan(ckpt, yaml)
    loaded = model.state_dict()
    assert not any(k.startswith("loss.") for k in loaded)
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    quant, indices = model.encode(x)
    assert quant.shape == (2, 6, 4, 4) and indices.shape == (2, 4, 4)
    assert model.decode(quant).shape == (2, 3, 16, 16)


def test_checkpoint_with_a_missing_or_extra_key_is_a_clear_error(tmp_path):
    state = _taming_state()
    del state["decoder.up.0.block.0.nin_shortcut.weight"]
    ckpt, yaml = _write_taming_run(tmp_path, state)
    with pytest.raises(WeightsError, match=r"missing 1 \(decoder.up.0.block.0.nin_shortcut.weight\)"):
        load_taming_vqgan(ckpt, yaml)
    state = _taming_state()
    state["encoder.down.9.block.0.conv1.weight"] = torch.zeros(1)
    ckpt, yaml = _write_taming_run(tmp_path, state)
    with pytest.raises(WeightsError, match="unexpected 1 .*down.9"):
        load_taming_vqgan(ckpt, yaml)
    state = _taming_state()
    state["quantize.embedding.weight"] = torch.zeros(24, 5)
    ckpt, yaml = _write_taming_run(tmp_path, state)
    with pytest.raises(WeightsError, match="wrong shape"):
        load_taming_vqgan(ckpt, yaml)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read"):
        load_taming_vqgan(tmp_path / "junk.ckpt", yaml)
    with pytest.raises(WeightsError, match="no checkpoint file"):
        load_taming_vqgan(tmp_path / "absent.ckpt", yaml)


class _Callback:  # stands for a Lightning callback pickled into real checkpoints
    def __init__(self):
        self.best = 1.5


def test_lightning_style_checkpoint_loads_without_its_classes_and_runs_no_code(tmp_path, monkeypatch):
    module = types.ModuleType("fake_lightning")
    module._Callback = _Callback
    _Callback.__module__ = "fake_lightning"
    monkeypatch.setitem(sys.modules, "fake_lightning", module)
    state = _taming_state()
    ckpt, yaml = _write_taming_run(tmp_path, state, {"callbacks": {_Callback: _Callback()}})
    monkeypatch.delitem(sys.modules, "fake_lightning")  # as if pytorch_lightning were not installed
    with pytest.raises(pickle.UnpicklingError):
        torch.load(ckpt, weights_only=True)
    model = load_taming_vqgan(ckpt, yaml)
    assert torch.equal(model.quantize.embedding.weight, state["quantize.embedding.weight"])


def test_quantizer_is_straight_through_and_codes_round_trip():
    torch.manual_seed(0)
    model = VQModel(SMALL, n_embed=24, embed_dim=6).eval()
    z = torch.randn(2, 6, 4, 4, requires_grad=True)
    quant = model.quantize_latent(z)
    codebook = model.quantize.embedding.weight
    rows = quant.detach().permute(0, 2, 3, 1).reshape(-1, 6)
    assert all(((codebook - row).abs().sum(1) < 1e-5).any() for row in rows)  # values are codes
    (quant * 3).sum().backward()
    assert torch.allclose(z.grad, torch.full_like(z, 3.0))  # the identity's gradient
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        quant, indices = model.encode(x)
        assert torch.allclose(model.decode_code(indices), model.decode(quant), atol=1e-5)
        assert model.decode(quant).abs().max() <= 1


def test_double_z_is_refused():
    with pytest.raises(ValueError, match="double_z"):
        VQModel({**SMALL, "double_z": True}, 24, 6)


def test_perplexity_counts_effective_codes():
    assert codebook_perplexity(torch.tensor([5, 5, 5, 5, 0])) == pytest.approx(4.0)
    assert codebook_perplexity(torch.tensor([0, 9, 0])) == pytest.approx(1.0)


def test_dead_codes_move_onto_encoder_outputs(tiny_cfg):
    task = VQGANTask(tiny_cfg("vqgan_shapes", *TINY), torch.device("cpu"))
    task.usage[:] = 0
    task.usage[3] = 10
    before = task.vqgan.quantize.embedding.weight.detach().clone()
    x = task.batch(0)
    assert task.restart_dead_codes(x, 0) == 31
    after = task.vqgan.quantize.embedding.weight.detach()
    assert torch.equal(after[3], before[3]) and not torch.equal(after[4], before[4])
    assert task.usage.sum() == 0


def test_tiny_training_exports_a_pipeline(tiny_cfg):
    cfg = tiny_cfg("vqgan_shapes", *TINY)
    assert Trainer(get("vqgan_shapes").task_class(), cfg).fit() == "finished"
    pipeline = VQGANPipeline.from_pretrained(cfg.out_dir)
    assert pipeline.latent_shape == (8, 8, 8)
    z = pipeline.random_latent(2, seed=3)
    assert torch.equal(z, pipeline.random_latent(2, seed=3)) and z.shape == (2, 8, 8, 8)
    z.requires_grad_(True)
    image = pipeline.decode(pipeline.quantize_latent(z))
    image.mean().backward()  # the optimiser's path: latent -> codes -> image, with a gradient
    assert image.shape == (2, 3, 64, 64) and z.grad is not None
    quant, indices = pipeline.encode(torch.zeros(1, 3, 128, 128))  # resized to the model's 64
    assert quant.shape == (1, 8, 8, 8) and indices.shape == (1, 8, 8)
    assert pipeline.sample_image(2, 0).shape[2] == 3


@pytest.mark.skipif(not (get("vqgan_shapes").weights_dir / "model.safetensors").is_file(),
                    reason="vqgan_shapes not shipped yet")
def test_shipped_vqgan_reconstructs_held_out_scenes():
    pipeline = get("vqgan_shapes").load_pipeline()
    images = render_scenes(sample_scenes(32, seed=123_456_789), pipeline.size)
    metrics = vqgan_metrics(pipeline, images)
    assert metrics["psnr"] > 24 and metrics["codes_used"] > 0.05


def test_reconstruction_checker_passes_faithful_decodes_and_fails_blurred_shapes():
    scenes = sample_scenes(24, 5)
    images = render_scenes(scenes, 64)
    assert sum(checker_passes(images, scenes)) / len(scenes) == 1.0
    # an 8x blur rounds corners and smears colours: the ceiling of the optimiser drops
    blurred = torch.nn.functional.interpolate(
        torch.nn.functional.avg_pool2d(images, 8), scale_factor=8, mode="bilinear"
    )
    assert sum(checker_passes(blurred, scenes)) / len(scenes) < 0.5


def test_tiny_training_reports_the_checker_ceiling(tiny_cfg):
    cfg = tiny_cfg("vqgan_shapes", *TINY)
    trainer = Trainer(get("vqgan_shapes").task_class(), cfg)
    trainer.fit()
    evals = [h["eval"] for h in trainer.history if "eval" in h]
    assert evals and all(0.0 <= e["checker_ok"] <= 1.0 for e in evals)


def test_decoder_stage_keeps_every_code_and_trains_a_wider_decoder(tiny_cfg, tmp_path):
    """freeze_codes: the encoder, quant conv and codebook of a shipped VQGAN are copied and never
    change (a code prior trained on it stays valid); only the new, wider decoder learns."""
    first = tiny_cfg("vqgan_shapes", f"out_dir={tmp_path / 'first'}")
    Trainer(get("vqgan_shapes").task_class(), first).fit()
    wide = ("model.decoder_channels=[16,16,8,8]", "model.decoder_res_blocks=2")
    second = tiny_cfg("vqgan_shapes", f"freeze_codes={first.out_dir}", f"out_dir={tmp_path / 'second'}",
                      "restart_every=1", *wide)
    assert Trainer(get("vqgan_shapes").task_class(), second).fit() == "finished"
    old, new = (VQGANPipeline.from_pretrained(d).vqgan for d in (first.out_dir, second.out_dir))
    new_state = new.state_dict()
    for name, value in old.state_dict().items():
        if name.startswith(("encoder.", "quant_conv.", "quantize.")):  # restarts too are off
            assert torch.equal(value, new_state[name]), f"{name} changed"
    images = render_scenes(sample_scenes(4, 9), 64)
    assert torch.equal(old.encode(images)[1], new.encode(images)[1])
    assert new.decoder[0].out_channels == 16
    assert not torch.equal(old.decode(old.encode(images)[0]), new.decode(new.encode(images)[0]))


def test_decoder_stage_needs_a_vqgan_to_freeze(tiny_cfg, tmp_path):
    cfg = tiny_cfg("vqgan_shapes", f"freeze_codes={tmp_path}")
    with pytest.raises(WeightsError, match="no model.safetensors"):
        VQGANTask(cfg, torch.device("cpu"))
    shipped = get("vqgan_shapes").weights_dir
    if (shipped / "model.safetensors").is_file():  # the tiny encoder is not the shipped one's shape
        with pytest.raises(WeightsError, match="size mismatch for encoder"):
            VQGANTask(tiny_cfg("vqgan_shapes", f"freeze_codes={shipped}"), torch.device("cpu"))
    with pytest.raises(ValueError, match="decoder_channels needs 4 entries"):
        VQGANTask(tiny_cfg("vqgan_shapes", "model.decoder_channels=[8,8]"), torch.device("cpu"))
