import pytest
import torch
from safetensors.torch import load_file

from genai_core.checkpoint import (
    WeightsError,
    atomic_write,
    load_training_state,
    load_weights,
    promote,
    save_training_state,
)
from genai_core.config import ConfigError
from genai_core.registry import REGISTRY, get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder, StopAfter


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_registered_model_has_a_valid_config_and_classes(name):
    spec = get(name)
    cfg = spec.config()
    assert cfg.name == name
    assert spec.task_class() is not None and spec.pipeline_class() is not None


def test_overrides_are_applied_and_typos_rejected():
    spec = get("toy_curve")
    assert spec.config(["steps=7", "batch_size=8"]).steps == 7
    with pytest.raises(ConfigError, match="bad override"):
        spec.config(["stepz=7"])
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        spec.config(["batch_size=-1"])
    with pytest.raises(ConfigError, match="lr"):
        spec.config(["lr=abc"])
    with pytest.raises(ConfigError, match="not key=value"):
        spec.config(["steps"])


def test_unknown_model_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown model 'nope'"):
        get("nope")


def test_training_state_round_trip_keeps_types(tmp_path):
    state = {
        "step": 3,
        "nested": {"a": torch.arange(4), 5: (1, 2.5, None), "list": [torch.ones(2), "x"]},
        "best": None,
    }
    save_training_state(tmp_path / "s.safetensors", state)
    back = load_training_state(tmp_path / "s.safetensors")
    assert back["step"] == 3 and back["best"] is None
    assert torch.equal(back["nested"]["a"], torch.arange(4))
    assert back["nested"][5] == (1, 2.5, None)
    assert back["nested"]["list"][1] == "x"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as handle:
            handle.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.parametrize("name", ["toy_curve", "mnist_gan"])
def test_resume_gives_the_identical_next_steps(tiny_cfg, name):
    """Stopping mid-run and resuming must land on exactly the weights of an uninterrupted run."""
    straight = Trainer(
        get(name).task_class(), tiny_cfg(name, "out_dir=" + str(tiny_cfg(name).out_dir) + "_a")
    )
    straight.fit()

    cfg = tiny_cfg(name, "out_dir=" + str(tiny_cfg(name).out_dir) + "_b")
    stop_at = cfg.checkpoint_every
    first = Trainer(get(name).task_class(), cfg, callbacks=[StopAfter(stop_at)])
    cfg.log_every = 1  # the stop request is checked after every logged step
    assert first.fit() == "stopped"
    assert first.step == stop_at
    resumed = Trainer(get(name).task_class(), cfg)
    assert resumed.fit() == "finished"
    assert resumed.step == straight.step

    for key, module in straight.task.modules.items():
        for (pname, a), b in zip(
            module.state_dict().items(), resumed.task.modules[key].state_dict().values(), strict=True
        ):
            assert torch.equal(a, b), f"{key}.{pname} differs after resume"


def test_trainer_reports_through_callbacks_and_exports(tiny_cfg):
    recorder = Recorder()
    cfg = tiny_cfg("toy_multiples")
    trainer = Trainer(get("toy_multiples").task_class(), cfg, callbacks=[recorder])
    assert trainer.fit() == "finished"
    assert recorder.ended == "finished"
    assert recorder.logs and all(isinstance(v, float) for _, logs in recorder.logs for v in logs.values())
    assert recorder.evals and "share_valid" in recorder.evals[-1][1]
    assert recorder.samples and recorder.samples[-1][1].ndim == 3
    # the exported folder rebuilds the pipeline and generates
    pipeline = get("toy_multiples").load_pipeline(cfg.out_dir)
    values = pipeline(50, seed=1)
    assert values.shape == (50,) and values.min() >= 0 and values.max() < 100


def test_corrupt_or_missing_weights_give_a_weights_error(tmp_path, tiny_cfg):
    cfg = tiny_cfg("toy_curve")
    Trainer(get("toy_curve").task_class(), cfg).fit()
    with pytest.raises(WeightsError, match="no config.yaml"):
        get("toy_curve").load_pipeline(tmp_path / "empty")
    (tmp_path / "toy_curve" / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError, match="cannot read"):
        get("toy_curve").load_pipeline(cfg.out_dir)


def test_weights_for_another_model_are_rejected(tiny_cfg):
    cfg = tiny_cfg("toy_curve")
    Trainer(get("toy_curve").task_class(), cfg).fit()
    modules = {
        k: v
        for k, v in get("toy_multiples").pipeline_class().build(get("toy_multiples").config().model).items()
        if k == "generator"
    }
    with pytest.raises(WeightsError, match="does not fit generator"):
        load_weights(cfg.out_dir, modules)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_model_trains_tiny_then_loads_from_the_promoted_folder(tiny_cfg, tmp_path, name):
    """Registry round trip: config -> Task -> Trainer -> export -> promote -> Pipeline."""
    spec = get(name)
    cfg = tiny_cfg(name)
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    target = promote(cfg.out_dir, tmp_path / "promoted")
    assert not (target / "checkpoint.safetensors").exists()
    pipeline = spec.load_pipeline(target)
    assert pipeline.cfg.name == name


def test_promote_refuses_to_overwrite_unless_asked(tmp_path, tiny_cfg):
    cfg = tiny_cfg("toy_curve")
    Trainer(get("toy_curve").task_class(), cfg).fit()
    target = promote(cfg.out_dir, tmp_path / "shipped")
    assert load_file(target / "model.safetensors")
    with pytest.raises(WeightsError, match="already holds weights"):
        promote(cfg.out_dir, target)
    promote(cfg.out_dir, target, overwrite=True)


@pytest.mark.parametrize("name", [n for n, s in REGISTRY.items() if s.weights_dir.exists()])
def test_shipped_weights_load_and_are_small(name):
    spec = get(name)
    assert (spec.weights_dir / "model.safetensors").stat().st_size < 10 * 2**20
    assert (spec.weights_dir / "card.md").is_file(), "every shipped model needs a model card"
    assert spec.load_pipeline() is not None


def test_resume_forgets_a_best_value_of_another_metric(tiny_cfg):
    """A task that now keeps the best of another metric must not compare it with the old best."""
    cfg = tiny_cfg("toy_curve")
    first = Trainer(get("toy_curve").task_class(), cfg, callbacks=[StopAfter(cfg.checkpoint_every)])
    cfg.log_every = 1
    first.fit()
    assert first.best is not None

    class KeepsAnother(get("toy_curve").task_class()):
        best_metric = "another_metric"

    resumed = Trainer(KeepsAnother, cfg)
    resumed._load_checkpoint()
    assert resumed.best is None
    same = Trainer(get("toy_curve").task_class(), cfg)
    same._load_checkpoint()
    assert same.best == first.best
