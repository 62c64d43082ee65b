"""Background training jobs for the app's Train tab: one at a time, outliving the browser request.

The job runs the ordinary Trainer in a daemon thread of the app process; the page only polls
status(). Closing the page changes nothing; Stop asks the trainer to finish its step and write a
resumable checkpoint.
"""

import contextlib
import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..checkpoint import CHECKPOINT_NAME, promote
from ..config import (
    PROJECT_ROOT,
    RUNS_ROOT,
    ConfigError,
    apply_overrides,
    confined_path,
    data_root,
    is_path_key,
    leaves,
    no_interpolations,
)
from ..registry import get
from .trainer import Callback, Trainer

JOBS_ROOT = RUNS_ROOT / "train_tab"
ENABLE_ENV = "GENAI_ENABLE_TRAINING"
HIDDEN_KEYS = ("name", "out_dir", "threads")  # set by the job and the app, never by a visitor
# snapshot_every: a folder per snapshot, unbounded disk for a public app; compile: C++ compiler processes
# beyond the job's one CPU slot, and caches outside runs/
CLI_ONLY_KEYS = ("snapshot_every", "compile")
GROWTH = 4  # a visitor may raise any whole number of a preset up to this many times its value
SMALL_LIMIT = 64  # ... or to this, where the preset has no number there
MAX_PARAMETERS = 50_000_000
MAX_CONFIG_CHARS = 20_000
log = logging.getLogger(__name__)


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


class JobRefused(RuntimeError):
    """A request the Train tab does not carry out; the message says why and is safe to show anyone."""


def job_config(model: str, text: str):
    """A visitor's YAML edit of a model's config -> the resolved config a job may run.

    The text comes from anyone who can reach the app, so: no interpolations or resolvers (they would
    read environment variables), no keys the app sets itself, whole numbers at most GROWTH times the
    preset's (no unbounded model or data sizes), and paths only inside the data folder, weights/ and
    runs/. ConfigError otherwise, with a message that quotes no server file."""
    if len(text or "") > MAX_CONFIG_CHARS:
        raise ConfigError(f"the config may be at most {MAX_CONFIG_CHARS:,} characters")
    try:
        edited = yaml.safe_load(text or "") or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"the config is not valid YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(edited, dict):
        raise ConfigError("the config must be a YAML mapping of key: value")
    no_interpolations(edited)
    for key in HIDDEN_KEYS:
        if key in edited:
            raise ConfigError(f"'{key}' is set by the Train tab; remove it from the config")
    preset = get(model).config()
    for key in CLI_ONLY_KEYS:  # the tab shows their preset values; any other is refused
        if key in edited and edited[key] != preset.get(key):
            raise ConfigError(f"'{key}' is for command-line runs only; remove it from the config")
    defaults = dict(leaves(OmegaConf.to_container(preset, resolve=True)))
    for key, value in leaves(edited):
        _bounded(key, value, defaults.get(key))
        if is_path_key(key):
            confined_path(key, value)
    try:
        return apply_overrides(preset, edited)
    except (OmegaConfBaseException, ValueError) as err:
        raise ConfigError(str(err).splitlines()[0]) from None


def _numbers(value) -> list:
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, int) and not isinstance(v, bool)]


def _bounded(key: str, value, preset) -> None:
    if isinstance(value, list):
        longest = max(8, 2 * len(preset)) if isinstance(preset, list) else 8
        if len(value) > longest:
            raise ConfigError(f"{key} may have at most {longest} entries in the Train tab")
    known = _numbers(preset)
    limit = GROWTH * max(known) if known and max(known) > 0 else SMALL_LIMIT
    for number in _numbers(value):
        if abs(number) > limit:
            raise ConfigError(f"{key} may be at most {limit} in the Train tab (the preset's x{GROWTH}); "
                              "train larger models from the command line")


def shown_path(path) -> str:
    """A server path as a visitor may see it: relative to the project, or to the data folder."""
    path = Path(path).resolve()
    for root, name in ((PROJECT_ROOT, ""), (data_root().resolve(), "data/")):
        if path.is_relative_to(root):
            return name + str(path.relative_to(root))
    return path.name


def public_message(err: Exception) -> str:
    """One line about a failed job that names no absolute server path."""
    text = str(err).splitlines()[0] if str(err) else ""
    for root, name in ((str(data_root().resolve()), "data"), (str(PROJECT_ROOT), ".")):
        text = text.replace(root, name)
    return f"{type(err).__name__}: {text[:300]}"


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

    def __init__(self, runs_root: Path = JOBS_ROOT, work_slot=None):
        """work_slot: a context manager (e.g. the app's semaphore of CPU slots) held while a job
        trains, so that the job and the app's requests together never use more cores than there are."""
        self.runs_root = Path(runs_root)
        self.work_slot = work_slot if work_slot is not None else contextlib.nullcontext()
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

    def _running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, model: str, cfg, resume: bool) -> None:
        """cfg: a resolved, validated config (its out_dir is replaced by the job's run folder). A fresh
        start (resume=False) removes what an earlier run left in that folder first."""
        enabled, why = training_enabled()
        if not enabled:
            raise JobRefused(why)
        with self._lock:
            if self._running():
                raise JobRefused(f"a {self._status.model} job is already running; stop it first")
            run_dir = self.run_dir(model)
            if resume and not (run_dir / CHECKPOINT_NAME).is_file():
                raise JobRefused(f"there is no {model} checkpoint to resume; press Start instead")
            if not resume and run_dir.exists():
                shutil.rmtree(run_dir)
            cfg.out_dir, cfg.threads = str(run_dir), None
            self._status = JobStatus(model=model, state="running", run_dir=shown_path(run_dir),
                                     message="waiting for a free CPU core")
            self._thread = threading.Thread(target=self._run, args=(model, cfg, resume), daemon=True)
            self._thread.start()

    def _run(self, model: str, cfg, resume: bool) -> None:
        try:
            with self.work_slot:
                self._update(message="building the model and loading data")
                trainer = Trainer(get(model).task_class(), cfg, callbacks=[_Reporter(self)], resume=resume)
                size = sum(p.numel() for m in trainer.task.modules.values() for p in m.parameters())
                if size > MAX_PARAMETERS:
                    raise ConfigError(f"the model has {size:,} parameters; the Train tab allows "
                                      f"{MAX_PARAMETERS:,}")
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
            log.warning("training job %s failed: %s", model, public_message(err), exc_info=True)
            self._update(state="failed", message=public_message(err))
        finally:
            with self._lock:
                self._trainer = None

    def stop(self) -> str:
        with self._lock:
            if not self._running():
                return "no job is running"
            self._status.state = "stopping"
            if self._trainer is not None:
                self._trainer.request_stop()
        return "stopping after the current step; a resumable checkpoint is written"

    def wait(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def promote(self, model: str) -> str:
        """Make the job's exported weights the ones the tabs use: copied to runs/promoted/MODEL, which
        the registry prefers to the shipped weights. The shipped weights are never touched here;
        replacing them is an operator's command (python -m genai_core promote MODEL RUN --overwrite)."""
        self._refuse_unless_enabled()
        with self._lock:
            if self._running() and self._status.model == model:
                raise JobRefused("wait for the job to stop before promoting its weights")
        spec = get(model)
        promote(self.run_dir(model), spec.promoted_dir, overwrite=True)
        return f"runs/promoted/{model}"

    def revert(self, model: str) -> bool:
        """Forget the promoted weights of model; False if there were none."""
        self._refuse_unless_enabled()
        folder = get(model).promoted_dir
        if not folder.exists():
            return False
        shutil.rmtree(folder)
        return True

    @staticmethod
    def _refuse_unless_enabled() -> None:
        enabled, why = training_enabled()
        if not enabled:
            raise JobRefused(why)
