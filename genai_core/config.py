"""Configs: shared defaults <- configs/<model>.yaml preset <- command-line overrides.

Every run saves its resolved config next to its weights, so a model can always be rebuilt from
the folder it lives in.
"""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = PROJECT_ROOT / "configs"
WEIGHTS_ROOT = PROJECT_ROOT / "weights"
RUNS_ROOT = PROJECT_ROOT / "runs"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

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
    "time_budget": None,  # CPU seconds after which the run ends as if finished (equal-CPU runs)
    "snapshot_every": None,  # steps between exports into snapshots/ (quality against CPU time)
    "export_dtype": None,  # "float16" halves model.safetensors (the 10 MB limit of a Space)
    "precision": "fp32",  # or "bf16": autocast of the training steps (CUDA, and CPUs with bf16)
    "compile": False,  # torch.compile the trained networks (needs a C++ compiler on the CPU)
    "data": {"source": "synthetic", "path": None},
    "model": {},
}


class ConfigError(ValueError):
    """A config value that cannot work; the message says which and why."""


def resolve_config(name: str, overrides: list[str] | dict | None = None) -> DictConfig:
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
    positive_int("snapshot_every", allow_none=True)
    if not isinstance(cfg.lr, (int, float)) or not 0 < cfg.lr < 1:
        raise ConfigError(f"lr must be a number in (0, 1), got {cfg.lr!r}")
    if not isinstance(cfg.seed, int) or not 0 <= cfg.seed < 2**32:
        raise ConfigError(f"seed must be an integer in [0, 2**32), got {cfg.seed!r}")
    if cfg.get("precision", "fp32") not in ("fp32", "bf16"):
        # fp16 would need a loss scaler inside every family's own backward calls; bf16 has fp32's range
        raise ConfigError(f"precision must be one of fp32, bf16, got {cfg.precision!r}")
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


# ---------------------------------------------------------------- configs from untrusted callers

# Keys whose values name files or folders: leaf names, and leaf-name endings.
PATH_LEAVES = ("path", "attributes", "referee", "init_from", "freeze_codes", "masks", "segmenter",
               "hair_segmenter", "hair_reader", "pseudo_labels")
PATH_SUFFIXES = ("_path", "_dir", "_file", "_from", "_folder")


def is_path_key(key: str) -> bool:
    leaf = key.rsplit(".", 1)[-1]
    return leaf in PATH_LEAVES or leaf.endswith(PATH_SUFFIXES)


def leaves(tree, prefix: str = ""):
    """(dotted key, value) for every leaf of a nest of dicts; lists are leaves."""
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from leaves(value, dotted + ".")
        else:
            yield dotted, value


def data_root() -> Path:
    """Where training data lives: GENAI_DATA_DIR, else ../shared/data beside the project."""
    import os

    return Path(os.environ.get("GENAI_DATA_DIR") or SHARED_DATA)


def allowed_roots() -> tuple[Path, ...]:
    return (data_root(), WEIGHTS_ROOT, RUNS_ROOT)


def confined_path(key: str, value) -> None:
    """Refuse a path outside the data folder, weights/ and runs/ (symbolic links resolved first).
    The message names the key and the allowed folders, never the file or its content."""
    if value is None:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a path (text) inside the data folder, weights/ or runs/")
    resolved = project_path(value).resolve()
    for root in allowed_roots():
        if resolved.is_relative_to(root.resolve()):
            return
    raise ConfigError(f"{key} must point inside the data folder, weights/ or runs/ of the app")


def no_interpolations(tree, where: str = "the config", max_nodes: int = 10_000) -> None:
    """OmegaConf would resolve ${...} (other keys, environment variables, resolvers): a visitor could
    read the server's secrets through an error message. Refuse them anywhere in keys or values, and
    refuse trees of more than max_nodes nodes (YAML aliases can make a short text expand enormously)."""
    count = 0

    def visit(node, key):
        nonlocal count
        count += 1
        if count > max_nodes:
            raise ConfigError(f"{where} is too large ({max_nodes:,} entries at most)")
        if isinstance(node, dict):
            for k, v in node.items():
                visit(k, key)
                visit(v, f"{key}.{k}" if key else str(k))
        elif isinstance(node, list):
            for item in node:
                visit(item, key)
        elif isinstance(node, str) and "${" in node:
            raise ConfigError(f"{key or 'a key'}: interpolations (${{...}}) are not allowed in {where}")

    visit(tree, "")
