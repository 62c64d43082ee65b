"""Weights as safetensors + config.yaml, and resumable training state. No pickle anywhere.

A training checkpoint is one safetensors file: tensors (weights, optimizer moments, RNG states)
as tensors, everything else (step, metric history, optimizer hyper-parameters) as JSON in the
file's metadata. Every write goes to a temporary file that is then renamed over the old one, so
a crash or a stop mid-write never loses the previous checkpoint.
"""

import json
import os
import pickle
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


# ---------------------------------------------------------------- taming-transformers checkpoints
# Real VQGAN checkpoints are torch pickles (PyTorch Lightning), read here without running their code.

class _Opaque:
    """Stands in for any class a checkpoint names besides tensors (Lightning callbacks, argparse
    Namespaces, numpy scalars...): it accepts whatever the pickle passes and keeps nothing, so no code
    from the file runs and pytorch_lightning need not be installed."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


# The only callables the lenient loader lets a pickle call: how torch itself rebuilds tensors.
_TORCH_REBUILD = {("torch._utils", name) for name in
                  ("_rebuild_tensor_v2", "_rebuild_parameter", "_rebuild_parameter_with_state")}


_SAFE_GLOBALS = {("collections", "OrderedDict"), ("torch", "Size"), *_TORCH_REBUILD}


class _LenientUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        return type(name, (_Opaque,), {"__module__": "opaque." + module})


class _LenientPickle:  # what torch.load expects of a pickle_module
    Unpickler = _LenientUnpickler

    @staticmethod
    def load(file, **kwargs):
        return _LenientUnpickler(file, **kwargs).load()


def read_taming_state_dict(ckpt_path) -> dict[str, torch.Tensor]:
    """The generator's tensors from a taming .ckpt (a torch pickle holding "state_dict"), without the
    loss.* keys (discriminator and LPIPS: training only)."""
    path = Path(ckpt_path)
    if not path.is_file():
        raise WeightsError(f"no checkpoint file {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Real taming checkpoints are Lightning checkpoints that also pickle callback objects, which
        # weights_only refuses. Only for this local file the user chose: unpickle again with an
        # unpickler that rebuilds tensors and turns every other class into an inert placeholder
        # (_LenientUnpickler), so the file still cannot run code.
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=False,
                                    pickle_module=_LenientPickle)
        except Exception as err:  # a corrupt or foreign file raises many different types
            raise WeightsError(f"cannot read {path}: {err}") from None
    except Exception as err:
        raise WeightsError(f"cannot read {path}: {err}") from None
    state = checkpoint.get("state_dict") if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise WeightsError(f"{path} has no 'state_dict': not a taming-transformers checkpoint")
    return {k: v for k, v in state.items() if not k.startswith("loss.")}

