"""Weights as safetensors + config.yaml, and resumable training state. No pickle anywhere.

A training checkpoint is one safetensors file: tensors (weights, optimizer moments, RNG states)
as tensors, everything else (step, metric history, optimizer hyper-parameters) as JSON in the
file's metadata. Every write goes to a temporary file that is then renamed over the old one, so
a crash or a stop mid-write never loses the previous checkpoint.
"""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.yaml"
CHECKPOINT_NAME = "checkpoint.safetensors"
_UMASK = os.umask(0)
os.umask(_UMASK)


class WeightsError(RuntimeError):
    """Weights that are missing, corrupt or do not fit the model; the message says which."""


def atomic_write(path: Path, write) -> None:
    """Call write(tmp_path), then rename tmp_path to path (same folder, so the rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _plain_tensors(tensors: dict, dtype: torch.dtype | None = None) -> dict:
    out = {}
    for key, value in tensors.items():
        value = value.detach().to("cpu")
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        out[key] = value.contiguous().clone()  # clone: safetensors refuses shared storage
    return out


# ---------------------------------------------------------------- shipped weights


def save_pretrained(folder, modules: dict, cfg: DictConfig, dtype=None) -> Path:
    """Write model.safetensors (keys prefixed by module name) and config.yaml into folder."""
    folder = Path(folder)
    tensors = {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value
    tensors = _plain_tensors(tensors, dtype)
    atomic_write(folder / WEIGHTS_NAME, lambda tmp: save_file(tensors, tmp))
    config_text = OmegaConf.to_yaml(cfg, resolve=True)
    atomic_write(folder / CONFIG_NAME, lambda tmp: Path(tmp).write_text(config_text))
    return folder


def load_config(folder) -> DictConfig:
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise WeightsError(f"no {CONFIG_NAME} in {folder}")
    try:
        return OmegaConf.load(path)
    except Exception as err:  # a corrupt YAML file raises many different types
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__  # no quoted content
        raise WeightsError(f"cannot read {path}: {reason}") from None


def load_weights(folder, modules: dict) -> None:
    """Load model.safetensors into modules (strict), converting to each module's dtype."""
    path = Path(folder) / WEIGHTS_NAME
    if not path.is_file():
        raise WeightsError(f"no {WEIGHTS_NAME} in {folder}")
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise WeightsError(f"cannot read {path}: {err}") from None
    for name, module in modules.items():
        prefix = f"{name}."
        state = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        reference = module.state_dict()
        state = {k: v.to(reference[k].dtype) if k in reference else v for k, v in state.items()}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise WeightsError(f"{path} does not fit {name}: {str(err).splitlines()[0]}") from None


TRAINING_ONLY = {CHECKPOINT_NAME, "history.json"}  # run files that are not part of a shipped model


def promote(run_dir, target_dir, overwrite: bool = False) -> Path:
    """Copy a run's exported model into a weights folder: model.safetensors, config.yaml and every
    other top-level file the pipeline may need (vocabulary, tokenizer, exported.json), but not the
    training state or the sample grids."""
    run_dir, target_dir = Path(run_dir), Path(target_dir)
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        if not (run_dir / name).is_file():
            raise WeightsError(f"{run_dir} has no {name} yet: train until the first export")
    if (target_dir / WEIGHTS_NAME).exists() and not overwrite:
        raise WeightsError(f"{target_dir} already holds weights; pass overwrite to replace them")
    for source in sorted(run_dir.iterdir()):
        if source.is_file() and source.name not in TRAINING_ONLY and not source.name.startswith("."):
            data = source.read_bytes()
            atomic_write(target_dir / source.name, lambda tmp, data=data: Path(tmp).write_bytes(data))
    return target_dir


# ---------------------------------------------------------------- resumable training state


def _split(obj, prefix: str, tensors: dict):
    """Replace every tensor in a nested structure by a reference, collecting the tensors."""
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj
        return {"__tensor__": prefix}
    if isinstance(obj, np.ndarray):
        # int64 holds every integer dtype numpy RNG states use; the dtype is restored on load
        tensors[prefix] = torch.from_numpy(obj.astype(np.int64) if obj.dtype.kind in "iu" else obj)
        return {"__ndarray__": prefix, "dtype": str(obj.dtype)}
    if isinstance(obj, dict):
        return {"__dict__": [[k, _split(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_split(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    return obj


def _join(obj, tensors: dict):
    if isinstance(obj, list):
        return [_join(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__ndarray__" in obj:
            return tensors[obj["__ndarray__"]].numpy().astype(obj["dtype"])
        if "__tuple__" in obj:
            return tuple(_join(v, tensors) for v in obj["__tuple__"])
        return {k: _join(v, tensors) for k, v in obj["__dict__"]}
    return obj


def save_training_state(path, state: dict) -> None:
    """state: any nest of dicts/lists/tuples/tensors/arrays/JSON scalars (dict keys str or int)."""
    tensors = {}
    tree = _split(state, "s", tensors)
    tensors = _plain_tensors(tensors)
    metadata = {"tree": json.dumps(tree)}
    atomic_write(Path(path), lambda tmp: save_file(tensors, tmp, metadata=metadata))


def load_training_state(path) -> dict:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            tree = json.loads(handle.metadata()["tree"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError, KeyError, ValueError) as err:
        raise WeightsError(f"cannot read checkpoint {path}: {err}") from None
    return _join(tree, tensors)
