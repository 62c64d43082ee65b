"""Configs: shared defaults <- configs/<model>.yaml preset <- command-line overrides.

Every run saves its resolved config next to its weights, so a model can always be rebuilt from
the folder it lives in.
"""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs"

# Keys every model understands. A preset only lists what differs (nanoGPT style).
DEFAULTS = {
    "name": "???",
    "seed": 0,
    "device": "auto",
    "threads": None,  # torch intra-op threads; None keeps torch's choice
    "steps": 1000,  # optimisation steps; when epochs is set it wins
    "epochs": None,
    "batch_size": 64,
    "lr": 2.0e-4,
    "log_every": 50,
    "eval_every": 500,  # metrics + keep-best
    "sample_every": 500,  # fixed-noise sample grid
    "checkpoint_every": 500,  # resumable state
    "out_dir": "runs/${name}",
    "data": {"source": "synthetic", "path": None},
    "model": {},
}


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and why."""


def load_config(name: str, overrides: list[str] | dict | None = None) -> DictConfig:
    """Resolve the config for registry model `name`."""
    preset_path = CONFIG_DIR / f"{name}.yaml"
    preset = OmegaConf.load(preset_path) if preset_path.exists() else OmegaConf.create()
    cfg = OmegaConf.merge(OmegaConf.create(DEFAULTS), preset, {"name": name})
    return apply_overrides(cfg, overrides)


def apply_overrides(cfg: DictConfig, overrides: list[str] | dict | None) -> DictConfig:
    if not overrides:
        validate(cfg)
        return cfg
    # Struct mode turns a typo such as `epoch=3` into an error instead of a silently ignored key.
    OmegaConf.set_struct(cfg, True)
    try:
        if isinstance(overrides, dict):
            cfg = OmegaConf.merge(cfg, overrides)
        else:
            for item in overrides:
                if "=" not in item:
                    raise ConfigError(f"override {item!r} is not key=value")
                cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([item]))
    except OmegaConfBaseException as err:
        raise ConfigError(f"bad override: {str(err).splitlines()[0]}") from None
    finally:
        OmegaConf.set_struct(cfg, False)
    validate(cfg)
    return cfg


def validate(cfg: DictConfig) -> None:
    """Reject values that would crash or hang training later, with a one-line reason."""

    def positive_int(key, allow_none=False):
        value = OmegaConf.select(cfg, key)
        if value is None and allow_none:
            return
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{key} must be a positive integer, got {value!r}")

    for key in ("batch_size", "log_every", "eval_every", "sample_every", "checkpoint_every"):
        positive_int(key)
    positive_int("steps", allow_none=cfg.epochs is not None)
    positive_int("epochs", allow_none=True)
    positive_int("threads", allow_none=True)
    if not isinstance(cfg.lr, (int, float)) or not 0 < cfg.lr < 1:
        raise ConfigError(f"lr must be a number in (0, 1), got {cfg.lr!r}")
    if not isinstance(cfg.seed, int) or not 0 <= cfg.seed < 2**32:
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {cfg.seed!r}")
    if cfg.batch_size > 4096:
        raise ConfigError(f"batch_size {cfg.batch_size} is too large for this app (max 4096)")


def to_yaml(cfg: DictConfig) -> str:
    return OmegaConf.to_yaml(cfg, resolve=True)


def project_path(path) -> Path | None:
    """Relative paths in configs mean relative to the working directory, else to the project."""
    if path is None:
        return None
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path
    return PROJECT_ROOT / path
