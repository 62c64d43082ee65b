"""Broken weights and interrupted trainings: a clear message, never a traceback or a lost checkpoint."""

import shutil
import signal
import subprocess
import sys
import time

import gradio as gr
import pytest

import genai_core.registry as registry
from demos import toy_gans
from genai_core.checkpoint import CHECKPOINT_NAME, load_training_state


@pytest.fixture
def weights_copy(tmp_path, monkeypatch):
    """A private copy of weights/ that a test may damage."""
    root = tmp_path / "weights"
    shutil.copytree(registry.WEIGHTS_ROOT, root)
    monkeypatch.setattr(registry, "WEIGHTS_ROOT", root)
    registry.load_pipeline.cache_clear()
    yield root
    registry.load_pipeline.cache_clear()


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda folder: (folder / "model.safetensors").unlink(), "no model.safetensors"),
        (lambda folder: (folder / "model.safetensors").write_bytes(b"\x00" * 100), "cannot read"),
        (lambda folder: (folder / "config.yaml").write_text("model: [unclosed"), "cannot read"),
        (lambda folder: shutil.rmtree(folder), "no config.yaml"),
    ],
)
def test_damaged_weights_become_a_message_in_the_tab(weights_copy, damage, message):
    damage(weights_copy / "toy_curve")
    with pytest.raises(gr.Error, match=f"toy_curve model cannot be loaded: .*{message}"):
        toy_gans.generate_curve(100, 0)


def test_weights_of_the_wrong_shape_become_a_message(weights_copy):
    shutil.copy(weights_copy / "toy_multiples" / "model.safetensors", weights_copy / "toy_curve")
    with pytest.raises(gr.Error, match="does not fit generator"):
        toy_gans.generate_curve(100, 0)


def start_training(out, steps):
    command = [sys.executable, "-m", "genai_core", "train", "toy_curve", "--tiny", "--out", str(out),
               f"steps={steps}", "checkpoint_every=50", "eval_every=1000", "sample_every=1000",
               "log_every=1"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.1)


def test_a_terminated_training_saves_then_resumes(tmp_path):
    out = tmp_path / "run"
    process = start_training(out, 10**7)
    wait_for(out / CHECKPOINT_NAME)
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=120)
    assert process.returncode == 0 and "stopped at step" in stdout
    step = load_training_state(out / CHECKPOINT_NAME)["step"]
    assert step >= 50

    command = [sys.executable, "-m", "genai_core", "train", "toy_curve", "--tiny", "--out", str(out)]
    result = subprocess.run([*command, f"steps={step + 5}"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and f"finished at step {step + 5}/{step + 5}" in result.stdout


def test_a_killed_training_leaves_the_last_checkpoint_readable(tmp_path):
    out = tmp_path / "run"
    process = start_training(out, 10**7)
    wait_for(out / CHECKPOINT_NAME)
    time.sleep(1.0)  # let it write a few more checkpoints, then kill it mid-flight
    process.kill()
    process.communicate(timeout=120)
    assert load_training_state(out / CHECKPOINT_NAME)["step"] >= 50
