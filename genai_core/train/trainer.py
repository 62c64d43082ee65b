"""One training loop for every model, with callbacks for progress, metrics, samples and stop."""

import contextlib
import json
import threading
import time
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image

from ..checkpoint import (
    CHECKPOINT_NAME,
    CONFIG_NAME,
    atomic_write,
    load_training_state,
    save_pretrained,
    save_training_state,
)
from ..seed import get_device, rng_state, seed_everything, set_rng_state
from . import distributed
from .task import Task


class Callback:
    """Override what you need. Each hook gets the trainer, so it can read state or request_stop()."""

    def on_start(self, trainer: "Trainer") -> None: ...

    def on_step(self, trainer: "Trainer", logs: dict[str, float]) -> None: ...

    def on_eval(self, trainer: "Trainer", metrics: dict[str, float]) -> None: ...

    def on_sample(self, trainer: "Trainer", image: np.ndarray) -> None: ...

    def on_checkpoint(self, trainer: "Trainer", path: Path) -> None: ...

    def on_end(self, trainer: "Trainer", reason: str) -> None: ...


class Trainer:
    def __init__(self, task_cls, cfg, callbacks=(), resume: bool = True):
        self.cfg = cfg
        self.out_dir = Path(cfg.out_dir)
        self.callbacks = list(callbacks)
        self.resume = resume
        self.step = 0
        self.history: list[dict] = []  # {"step", losses...} every log_every, {"step", "eval": {}}
        self.best: float | None = None
        self.started, self.cpu_started = time.monotonic(), time.process_time()
        self.elapsed_before = 0.0  # wall time of earlier sessions of a resumed run
        self.cpu_before = 0.0  # and their CPU time
        self._stop = threading.Event()
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        distributed.setup()  # a no-op unless torchrun started this process
        # the same seed in every process: each draws the same global batch and trains on its share
        seed_everything(cfg.seed)
        with distributed.main_first():  # a task may write its tokenizer or a cache into the run folder
            self.task: Task = task_cls(cfg, distributed.device(get_device(cfg.device)))
        self.total_steps = self.task.total_steps()
        self.is_main = distributed.is_main()  # only the main process writes and calls back
        if not self.is_main:
            self.callbacks = []

    # ------------------------------------------------------------------ control
    def request_stop(self) -> None:
        """Stop after the current step; a resumable checkpoint is written first."""
        self._stop.set()

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_NAME

    @property
    def wall_time(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    @property
    def cpu_time(self) -> float:
        """CPU seconds of the process spent on this run: what time_budget counts, so runs compared at
        equal CPU time stay comparable however busy the machine is."""
        return self.cpu_before + time.process_time() - self.cpu_started

    def fit(self) -> str:
        """Train until total_steps or a stop request; return 'finished' or 'stopped'."""
        self.cpu_started = time.process_time()  # loading data (parsing masks...) is not training
        if self.resume and self.checkpoint_path.exists():
            self._load_checkpoint()
        trained = list(self.task.modules.values())
        distributed.broadcast_modules(trained)
        gradient_hooks = distributed.average_gradients(trained)
        if self.cfg.compile:
            for module in trained:
                module.compile()  # in place: state_dict keys, hooks and the task's references stay
        # the resolved config, as the task completed it (vocabulary sizes...), before the first step:
        # whatever stops the run, its folder says what it was
        if self.is_main:
            text = OmegaConf.to_yaml(self.cfg, resolve=True)
            atomic_write(self.out_dir / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text))
        self.task.train(True)
        for callback in self.callbacks:
            callback.on_start(self)
        window: dict[str, list[float]] = {}
        reason = "finished"
        while self.step < self.total_steps:
            budget = self.cfg.time_budget is not None and self.cpu_time >= float(self.cfg.time_budget)
            stop, budget = distributed.any_process(self._stop.is_set(), budget)
            if stop:
                reason = "stopped"
                break
            if budget:
                reason = "time budget spent"
                if self.is_main:
                    self._evaluate()
                    self._sample()
                break
            with self._autocast():
                logs = self.task.train_step(self.step)
            self.step += 1
            for key, value in logs.items():
                window.setdefault(key, []).append(float(value))
            if self.step % self.cfg.log_every == 0 or self.step == self.total_steps:
                means = distributed.mean_over_processes({k: float(np.mean(v)) for k, v in window.items()})
                self.history.append({"step": self.step, **means})
                window = {}
                for callback in self.callbacks:
                    callback.on_step(self, means)
            if self.is_main:
                self._periodic()
        if self.is_main:
            if reason != "stopped" and self.best is None:
                self._export()  # no keep-best metric: ship the last weights
            self._save_checkpoint()
        for handle in gradient_hooks:
            handle.remove()
        distributed.barrier()  # the run is over when its files are written
        for callback in self.callbacks:
            callback.on_end(self, reason)
        return reason

    def _autocast(self):
        """bf16 autocast of a training step when cfg.precision asks (config.validate allows fp32, bf16)."""
        if self.cfg.precision != "bf16":
            return contextlib.nullcontext()
        return torch.autocast(self.task.device.type, dtype=torch.bfloat16)

    # ------------------------------------------------------------------ periodic work
    def _periodic(self) -> None:
        last = self.step == self.total_steps
        if self.step % self.cfg.eval_every == 0 or last:
            self._evaluate()
        if self.step % self.cfg.sample_every == 0 or last:
            self._sample()
        if self.step % self.cfg.checkpoint_every == 0 and not last:
            self._save_checkpoint()
        if self.cfg.snapshot_every and self.step % self.cfg.snapshot_every == 0:
            self._snapshot()

    def _evaluate(self) -> None:
        self.task.train(False)
        with torch.no_grad():
            metrics = {k: float(v) for k, v in self.task.evaluate().items()}
        self.task.train(True)
        if not metrics:
            return
        self.history.append({"step": self.step, "cpu_time": round(self.cpu_time, 1), "eval": metrics})
        for callback in self.callbacks:
            callback.on_eval(self, metrics)
        key = self.task.best_metric
        if key is None or key not in metrics:
            return
        value = metrics[key] if self.task.higher_is_better else -metrics[key]
        if self.best is None or value >= self.best:  # a tie goes to the longer-trained weights
            self.best = value
            self._export(metrics)

    def _sample(self) -> None:
        self.task.train(False)
        with torch.no_grad():
            image = self.task.sample_grid()
        self.task.train(True)
        if image is None:
            return
        path = self.out_dir / "samples" / f"step_{self.step:07d}.png"
        atomic_write(path, lambda tmp: Image.fromarray(image).save(tmp, format="PNG"))
        for callback in self.callbacks:
            callback.on_sample(self, image)

    def _snapshot(self) -> None:
        """The shipped networks as they are now, in snapshots/step_N/ (a model folder with this step's
        wall and CPU time): quality against CPU time is measured on them afterwards."""
        folder = self.out_dir / "snapshots" / f"step_{self.step:07d}"
        write_export(folder, self.task.export_modules(), self.cfg, self.step, self.wall_time, None,
                     cpu_time=self.cpu_time)

    def _export(self, metrics: dict | None = None) -> None:
        write_export(self.out_dir, self.task.export_modules(), self.cfg, self.step, self.wall_time, metrics,
                     cpu_time=self.cpu_time)

    # ------------------------------------------------------------------ checkpoints
    def _save_checkpoint(self) -> None:
        state = {
            "step": self.step,
            "best": self.best,
            "best_metric": self.task.best_metric,
            "wall_time": self.wall_time,
            "cpu_time": self.cpu_time,
            "history": self.history,
            "rng": rng_state(),
            "modules": {k: m.state_dict() for k, m in self.task.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.task.optimizers.items()},
            "config": OmegaConf.to_yaml(self.cfg, resolve=True),
        }
        save_training_state(self.checkpoint_path, state)
        text = json.dumps(self.history)
        atomic_write(self.out_dir / "history.json", lambda tmp: Path(tmp).write_text(text))
        for callback in self.callbacks:
            callback.on_checkpoint(self, self.checkpoint_path)

    def _load_checkpoint(self) -> None:
        state = load_training_state(self.checkpoint_path)
        # a network the task added since (a later stage's critic) starts from its initialisation
        fresh = [name for name in self.task.modules if name not in state["modules"]]
        for name, module in self.task.modules.items():
            if name not in fresh:
                module.load_state_dict(state["modules"][name])
        for name, optimizer in self.task.optimizers.items():
            if name in state["optimizers"]:
                optimizer.load_state_dict(state["optimizers"][name])
        if fresh and self.is_main:
            print(f"not in {self.checkpoint_path}, so starting afresh: {', '.join(fresh)}", flush=True)
        self.step = int(state["step"])
        # a best value of another metric (the task changed what it keeps) says nothing: start afresh
        same_metric = state.get("best_metric") == self.task.best_metric
        self.best = state["best"] if same_metric else None
        self.history = state["history"]
        self.elapsed_before = float(state["wall_time"])
        self.cpu_before = float(state.get("cpu_time", state["wall_time"]))
        set_rng_state(state["rng"])


def export_checkpoint(run_dir, out_dir=None) -> Path:
    """Export the networks a model ships from a run's training checkpoint (e.g. a run that was stopped
    before keep-best exported anything): rebuilt from the config the checkpoint holds, written as
    model.safetensors + config.yaml + exported.json into out_dir (default: the run folder)."""
    from ..registry import get

    run_dir = Path(run_dir)
    out_dir = Path(out_dir or run_dir)
    state = load_training_state(run_dir / CHECKPOINT_NAME)
    if "config" not in state:
        raise ValueError(f"{run_dir / CHECKPOINT_NAME} holds no config (written before configs were kept)")
    cfg = OmegaConf.create(state["config"])
    spec = get(cfg.name)
    pipeline_class, sources = spec.pipeline_class(), spec.task_class().exported_from
    modules = {k: v for k, v in pipeline_class.build(cfg.model).items() if k in pipeline_class.shipped}
    for name, module in modules.items():
        source = sources.get(name, name)
        module.load_state_dict(state["modules"][source if source in state["modules"] else name])
    write_export(out_dir, modules, cfg, int(state["step"]), float(state["wall_time"]), None,
                 state.get("cpu_time"))
    return out_dir


def write_export(out_dir, modules: dict, cfg, step: int, wall_time: float, metrics: dict | None,
                 cpu_time: float | None = None) -> None:
    """A model folder: model.safetensors (in cfg.export_dtype), config.yaml, and exported.json (the step,
    wall (and CPU) time and metrics of the export)."""
    dtype = torch.float16 if cfg.export_dtype == "float16" else None
    save_pretrained(out_dir, modules, cfg, dtype=dtype)
    summary = {"step": step, "wall_time_s": round(wall_time, 1), "metrics": metrics}
    if cpu_time is not None:
        summary["cpu_time_s"] = round(cpu_time, 1)
    text = json.dumps(summary, indent=2)
    atomic_write(Path(out_dir) / "exported.json", lambda tmp: Path(tmp).write_text(text))
