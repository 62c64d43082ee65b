"""Background training jobs for the app's Train tab: one at a time, outliving the browser request.

The job runs the ordinary Trainer in a daemon thread of the app process; the page only polls
status(). Closing the page changes nothing; Stop asks the trainer to finish its step and write a
resumable checkpoint.
"""

import os
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..checkpoint import CHECKPOINT_NAME, promote
from ..config import PROJECT_ROOT
from ..registry import get
from .trainer import Callback, Trainer

RUNS_ROOT = PROJECT_ROOT / "runs" / "train_tab"
ENABLE_ENV = "GENAI_ENABLE_TRAINING"


def training_enabled() -> tuple[bool, str]:
    """On a Hugging Face Space training is off unless GENAI_ENABLE_TRAINING=1: the free CPU is shared
    by every visitor. Elsewhere it is on unless GENAI_ENABLE_TRAINING=0."""
    flag = os.environ.get(ENABLE_ENV)
    if flag is not None:
        on = flag.strip().lower() in ("1", "true", "yes")
        return on, "" if on else f"training is disabled ({ENABLE_ENV}={flag})"
    if os.environ.get("SPACE_ID"):
        return False, f"training is off on a Space; set {ENABLE_ENV}=1 to enable it"
    return True, ""


@dataclass
class JobStatus:
    model: str = ""
    state: str = "idle"  # idle | running | stopping | finished | stopped | failed
    step: int = 0
    total: int = 0
    wall_time: float = 0.0
    history: list = field(default_factory=list)
    sample: np.ndarray | None = None
    message: str = ""
    run_dir: str = ""


class _Reporter(Callback):
    def __init__(self, job: "TrainingJobs"):
        self.job = job

    def on_start(self, trainer):
        self.job._update(step=trainer.step, total=trainer.total_steps, history=list(trainer.history))

    def on_step(self, trainer, logs):
        self.job._update(step=trainer.step, wall_time=trainer.wall_time, history=list(trainer.history))

    def on_eval(self, trainer, metrics):
        self.job._update(history=list(trainer.history))

    def on_sample(self, trainer, image):
        self.job._update(sample=image)


class TrainingJobs:
    """Holds at most one running job; a second start is refused with the reason."""

    def __init__(self, runs_root: Path = RUNS_ROOT):
        self.runs_root = Path(runs_root)
        self._lock = threading.Lock()
        self._status = JobStatus()
        self._trainer: Trainer | None = None
        self._thread: threading.Thread | None = None

    def run_dir(self, model: str) -> Path:
        return self.runs_root / model

    def has_checkpoint(self, model: str) -> bool:
        return (self.run_dir(model) / CHECKPOINT_NAME).is_file()

    def status(self) -> JobStatus:
        with self._lock:
            return JobStatus(**vars(self._status))

    def _update(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self._status, key, value)

    def start(self, model: str, cfg, resume: bool) -> None:
        """cfg: a resolved, validated config (its out_dir is replaced by the job's run folder)."""
        enabled, why = training_enabled()
        if not enabled:
            raise RuntimeError(why)
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError(f"a {self._status.model} job is already running; stop it first")
            cfg.out_dir = str(self.run_dir(model))
            self._status = JobStatus(model=model, state="running", run_dir=cfg.out_dir,
                                     message="building the model and loading data")  # fmt: skip
            self._thread = threading.Thread(target=self._run, args=(model, cfg, resume), daemon=True)
            self._thread.start()

    def _run(self, model: str, cfg, resume: bool) -> None:
        try:
            trainer = Trainer(get(model).task_class(), cfg, callbacks=[_Reporter(self)], resume=resume)
            with self._lock:
                self._trainer = trainer
                stop_early = self._status.state == "stopping"
            if stop_early:
                trainer.request_stop()
            self._update(message="training")
            reason = trainer.fit()
            self._update(
                state=reason,
                step=trainer.step,
                wall_time=trainer.wall_time,
                history=list(trainer.history),
                message=f"{reason} at step {trainer.step}",
            )
        except Exception as err:  # a job must report, never die silently in its thread
            traceback.print_exc()
            self._update(state="failed", message=f"{type(err).__name__}: {err}")
        finally:
            with self._lock:
                self._trainer = None

    def stop(self) -> str:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                return "no job is running"
            self._status.state = "stopping"
            if self._trainer is not None:
                self._trainer.request_stop()
        return "stopping after the current step; a resumable checkpoint is written"

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def promote(self, model: str, target: Path, overwrite: bool) -> Path:
        return promote(self.run_dir(model), target, overwrite=overwrite)
