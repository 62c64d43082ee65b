"""The Train tab's job lifecycle: start, watch, refuse a second job, stop, resume, promote, revert."""

import time

import gradio as gr
import pytest

import genai_core.registry as registry
from demos import train
from genai_core.train.jobs import TrainingJobs

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
    assert "Started toy_curve" in train.start_fresh("toy_curve", TINY.format(steps=30))
    jobs.wait(60)
    status = jobs.status()
    assert status.state == "finished" and status.step == 30
    text, curves, sample = train.poll()
    assert "finished" in text and curves.ndim == 3 and sample.ndim == 3

    spec = registry.get("toy_curve")
    assert "shipped weights kept" in train.promote("toy_curve", False)
    assert spec.active_weights_dir == spec.promoted_dir
    assert registry.load_pipeline("toy_curve").cfg.steps == 30  # the tabs now use the new run
    assert "shipped weights again" in train.revert("toy_curve")
    assert spec.active_weights_dir == spec.weights_dir
    registry.load_pipeline.cache_clear()


def test_one_job_at_a_time_then_stop_and_resume(jobs):
    train.start_fresh("toy_curve", TINY.format(steps=1_000_000))
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
        ("batch_size: -4", "batch_size must be a positive integer"),
        ("lr: 5", "lr must be"),
        ("out_dir: /etc", "set by the Train tab"),
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
    with pytest.raises(gr.Error, match="has no model.safetensors"):
        train.promote("toy_multiples", False)
