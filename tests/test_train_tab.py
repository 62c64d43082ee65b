"""The Train tab's job lifecycle: start, watch, refuse a second job, stop, resume, promote, revert."""

import time

import gradio as gr
import pytest

import genai_core.registry as registry
from demos import train
from genai_core.train.jobs import TrainingJobs, shown_path

TINY = (
    "steps: {steps}\neval_every: 10\nsample_every: 10\ncheckpoint_every: 10\nlog_every: 5\n"
    "eval_samples: 300\n"
)


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def jobs(tmp_path, monkeypatch):
    jobs = TrainingJobs(tmp_path / "runs")
    monkeypatch.setattr(train, "JOBS", jobs)
    monkeypatch.setattr(registry, "PROMOTED_ROOT", tmp_path / "promoted")
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("GENAI_ENABLE_TRAINING", raising=False)
    yield jobs
    jobs.stop()
    jobs.wait(30)


def test_a_job_trains_reports_and_is_promoted_then_reverted(jobs):
    assert "Starting Curve y = 1.08^x" in train.start_fresh("toy_curve", TINY.format(steps=30))
    jobs.wait(60)
    status = jobs.status()
    assert status.state == "finished" and status.step == 30
    text, losses, evals, sample = train.poll()
    assert "finished" in text and sample.ndim == 3
    assert set(losses.columns) == {"step", "value", "series"} and len(losses) and len(evals)
    assert losses["step"].max() == 30 and "loss_g" in set(losses["series"])

    spec = registry.get("toy_curve")
    shipped = (spec.weights_dir / "model.safetensors").read_bytes()
    assert "the tabs now use it" in train.promote("toy_curve")
    assert spec.active_weights_dir == spec.promoted_dir
    assert registry.load_pipeline("toy_curve").cfg.steps == 30  # the tabs now use the new run
    assert "shipped weights again" in train.revert("toy_curve")
    assert spec.active_weights_dir == spec.weights_dir
    assert (spec.weights_dir / "model.safetensors").read_bytes() == shipped  # never touched
    assert registry.load_pipeline("toy_curve").cfg.steps != 30
    registry.load_pipeline.cache_clear()


def test_one_job_at_a_time_then_stop_and_resume(jobs):
    train.start_fresh("toy_curve", TINY.format(steps=20_000))
    assert wait_until(lambda: jobs.status().step >= 10, timeout=60)
    with pytest.raises(gr.Error, match="already running"):
        train.start_fresh("toy_multiples", "")
    assert "stopping" in train.stop()
    jobs.wait(60)
    stopped = jobs.status()
    assert stopped.state == "stopped" and jobs.has_checkpoint("toy_curve")

    train.resume("toy_curve", TINY.format(steps=stopped.step + 10))
    jobs.wait(60)
    assert jobs.status().state == "finished" and jobs.status().step == stopped.step + 10


@pytest.mark.parametrize(
    "text, message",
    [
        ("steps: [unclosed", "not valid YAML"),
        ("stepz: 3", "bad override"),
        ("threads: 2", "set by the Train tab"),
        ("steps: 100000000", "steps may be at most"),
        ("model: {g_hidden: [64, 64, 64, 64, 64, 64, 64, 64, 64]}", "at most 8 entries"),
        ("data: {path: /etc/passwd}", "must point inside the data folder"),
        ("batch_size: -4", "batch_size must be a positive integer"),
        ("lr: 5", "lr must be"),
        ("out_dir: /etc", "set by the Train tab"),
        ("snapshot_every: 1", "command-line runs only"),
        ("compile: true", "command-line runs only"),
        ("- just a list", "mapping"),
    ],
)
def test_bad_configs_are_refused_with_a_message(jobs, text, message):
    with pytest.raises(gr.Error, match=message):
        train.start_fresh("toy_curve", text)
    assert jobs.status().state == "idle"


def test_resume_without_checkpoint_and_disabled_training(jobs, monkeypatch):
    with pytest.raises(gr.Error, match="no toy_curve checkpoint"):
        train.resume("toy_curve", "")
    monkeypatch.setenv("SPACE_ID", "someone/genai-playground")
    with pytest.raises(gr.Error, match="training is off on a Space"):
        train.start_fresh("toy_curve", "")
    monkeypatch.setenv("GENAI_ENABLE_TRAINING", "1")
    train.start_fresh("toy_curve", TINY.format(steps=10))
    jobs.wait(60)
    assert jobs.status().state == "finished"


@pytest.mark.parametrize("model", list(registry.REGISTRY))
def test_the_editor_shows_a_config_that_is_accepted_back(jobs, model):
    text = train.editable_config(model)
    assert "out_dir" not in text and "name:" not in text.splitlines()[0]
    assert train.parse_config(model, text).name == model


def test_promote_without_a_run_is_a_message(jobs):
    with pytest.raises(gr.Error, match="has no model.safetensors") as err:
        train.promote("toy_multiples")
    assert str(jobs.runs_root) not in str(err.value)  # no server path


def test_a_fresh_start_clears_the_previous_runs_files(jobs):
    train.start_fresh("toy_curve", TINY.format(steps=10))
    jobs.wait(60)
    leftover = jobs.run_dir("toy_curve") / "left_over.txt"
    leftover.write_text("from an earlier run")
    train.start_fresh("toy_curve", TINY.format(steps=10))
    jobs.wait(60)
    assert jobs.status().state == "finished" and not leftover.exists()


def test_status_names_no_absolute_server_path(jobs):
    train.start_fresh("toy_curve", TINY.format(steps=10))
    jobs.wait(60)
    text = train.poll()[0]
    assert "Run folder: `toy_curve`" in text and str(jobs.runs_root) not in text
    assert shown_path(registry.RUNS_ROOT / "train_tab" / "toy_curve") == "runs/train_tab/toy_curve"


def test_a_missing_data_file_is_refused_before_starting(jobs):
    """A fresh clone has no ../shared: Start must say which file is missing instead of "Starting"."""
    with pytest.raises(gr.Error, match="trains on missing_digits.npz") as err:
        train.start_fresh("mnist_gan", "data: {path: ../shared/data/missing_digits.npz}")
    assert "/shared" not in str(err.value)  # the file's name, not a server path
    assert jobs.status().state == "idle"
