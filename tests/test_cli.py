import subprocess
import sys

from PIL import Image

from genai_core.__main__ import main
from genai_core.registry import REGISTRY


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "genai_core", *args], capture_output=True, text=True, timeout=120
    )


def test_list_names_every_registered_model():
    result = run("list")
    assert result.returncode == 0
    for name in REGISTRY:
        assert name in result.stdout


def test_train_then_sample_from_the_run(tmp_path):
    out = tmp_path / "run"
    result = run("train", "toy_curve", "--tiny", "--out", str(out), "steps=12", "batch_size=32")
    assert result.returncode == 0, result.stderr
    assert "finished at step 12/12" in result.stdout
    assert (out / "model.safetensors").is_file() and (out / "checkpoint.safetensors").is_file()
    image_path = tmp_path / "sample.png"
    result = run("sample", "toy_curve", "--weights", str(out), "--seed", "3", "--out", str(image_path))
    assert result.returncode == 0, result.stderr
    assert Image.open(image_path).size[0] > 100


def test_train_a_digit_model_on_generated_digits(tmp_path):
    assert main(["train", "mnist_classifier", "--tiny", "--out", str(tmp_path / "clf")]) == 0
    assert (tmp_path / "clf" / "model.safetensors").is_file()


def test_promote_refuses_to_replace_shipped_weights_without_overwrite(tmp_path, capsys):
    assert main(["train", "toy_curve", "--tiny", "--out", str(tmp_path / "run")]) == 0
    assert main(["promote", "toy_curve", str(tmp_path / "run")]) == 1
    assert "already holds weights" in capsys.readouterr().err


def test_bad_input_exits_non_zero_with_one_line(tmp_path, capsys):
    assert main(["train", "toy_curve", "--tiny", "stepz=3", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: bad override") and "\n" not in err
    assert main(["train", "no_such_model"]) == 1
    assert "unknown model" in capsys.readouterr().err
    assert (
        main(
            ["sample", "toy_curve", "--weights", str(tmp_path / "missing"), "--out", str(tmp_path / "x.png")]
        )
        == 1
    )
    assert "no config.yaml" in capsys.readouterr().err
    assert main(["sample", "mnist_classifier", "--out", str(tmp_path / "x.png")]) == 1
    assert "nothing to sample" in capsys.readouterr().err


def test_a_stopped_run_keeps_its_config_and_can_be_exported(tmp_path, capsys):
    """A run stopped before keep-best exported anything: its folder holds the resolved config from
    the start, the checkpoint holds it too, and `export` writes the model from the checkpoint."""
    from genai_core.checkpoint import load_training_state
    from genai_core.registry import get
    from genai_core.train import Trainer
    from genai_core.train.callbacks import StopAfter

    spec, run_dir = get("cwgan_glasses"), tmp_path / "run"
    cfg = spec.config([*spec.tiny, f"out_dir={run_dir}", "steps=4", "log_every=1"])
    assert Trainer(spec.task_class(), cfg, callbacks=[StopAfter(2)]).fit() == "stopped"
    assert not (run_dir / "model.safetensors").exists() and (run_dir / "config.yaml").is_file()
    assert "cwgan_glasses" in load_training_state(run_dir / "checkpoint.safetensors")["config"]
    assert main(["export", str(run_dir), "--out", str(tmp_path / "exported")]) == 0
    face = spec.load_pipeline(tmp_path / "exported").face(0, 1.0, 0.0)
    assert face.shape == (1, 3, 32, 32)


def test_exporting_a_checkpoint_ships_the_moving_average_generator(tmp_path):
    """A GAN with an EMA generator ships the average; the export of a stopped run must too."""
    import torch
    from safetensors.torch import load_file

    from genai_core.checkpoint import load_training_state
    from genai_core.registry import get
    from genai_core.train import Trainer
    from genai_core.train.callbacks import StopAfter

    spec, run_dir = get("fashion_mnist_gan"), tmp_path / "run"
    cfg = spec.config([*spec.tiny, f"out_dir={run_dir}", "epochs=null", "steps=6", "log_every=1"])
    assert cfg.ema_decay is not None
    assert Trainer(spec.task_class(), cfg, callbacks=[StopAfter(3)]).fit() == "stopped"
    assert main(["export", str(run_dir), "--out", str(tmp_path / "exported")]) == 0
    state = load_training_state(run_dir / "checkpoint.safetensors")["modules"]
    shipped = load_file(tmp_path / "exported" / "model.safetensors")
    name = next(k for k in shipped if k.startswith("generator."))
    key = name.removeprefix("generator.")
    assert torch.allclose(shipped[name].float(), state["ema"][key].float(), atol=1e-3)
    assert not torch.allclose(state["ema"][key].float(), state["generator"][key].float())
