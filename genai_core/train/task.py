"""The small contract between a model family and the one trainer loop (CycleGAN-repo style).

A Task owns its networks, optimisers and data. The trainer only calls train_step, evaluate,
sample_grid and export; it never knows whether it is training a GAN or a classifier.
"""

import math
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from ..checkpoint import WEIGHTS_NAME
from ..config import project_path
from . import distributed


def cosine_after(step: int, lr: float, start: int, total: int, floor: float) -> float:
    """lr until `start`, then cosine decay from lr to floor * lr at `total`."""
    if step < start:
        return lr
    progress = min(1.0, (step - start) / max(1, total - start))
    return lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


def warmup_cosine(step: int, lr: float, warmup: int, total: int, floor: float) -> float:
    """Linear warm-up over `warmup` steps, then cosine decay from lr to floor * lr at `total`."""
    if step < warmup:
        return lr * (step + 1) / warmup
    return cosine_after(step, lr, warmup, total, floor)


def decay_groups(module: torch.nn.Module, weight_decay: float, exempt: tuple[str, ...] = ()) -> list[dict]:
    """AdamW parameter groups: weight decay on matrices, not on biases and norms, nor on parameters
    whose name contains one of `exempt`."""
    decay, rest = [], []
    for name, param in module.named_parameters():
        (decay if param.dim() >= 2 and not any(e in name for e in exempt) else rest).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


class Task:
    #: metric used to keep the best checkpoint, and whether larger is better; None keeps the last
    best_metric: str | None = None
    higher_is_better = True

    def __init__(self, cfg: DictConfig, device: torch.device):
        self.cfg = cfg
        self.device = device
        self.modules: dict[str, torch.nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    # -- what a family implements ---------------------------------------------------------
    def train_step(self, step: int) -> dict[str, float]:
        """One optimisation step; return losses as python floats (never tensors: no leaks)."""
        raise NotImplementedError

    def evaluate(self) -> dict[str, float]:
        return {}

    def sample_grid(self) -> np.ndarray | None:
        """A fixed-noise picture of progress, HxWx3 uint8, or None."""
        return None

    def export_modules(self) -> dict[str, torch.nn.Module]:
        """The networks shipped in model.safetensors (e.g. the generator only)."""
        return self.modules

    # shipped name -> the checkpoint module it is exported from, where they differ (an EMA copy), so
    # that exporting a stopped run's checkpoint ships what the live export would
    exported_from: dict[str, str] = {}

    def steps_per_epoch(self) -> int:
        return 1

    # -- shared helpers ---------------------------------------------------------------------
    def total_steps(self) -> int:
        if self.cfg.epochs is not None:
            return int(self.cfg.epochs) * self.steps_per_epoch()
        return int(self.cfg.steps)

    def train(self, mode: bool = True) -> None:
        for module in self.modules.values():
            module.train(mode)

    def referee(self, pipeline_class):
        """The pipeline in the folder cfg.eval.referee names (e.g. the face referee judging a GAN),
        loaded once its weights exist: it may be trained alongside this run. None until then, or
        when eval.referee is unset."""
        return self.pipeline_named("eval.referee", pipeline_class)

    def pipeline_named(self, key: str, pipeline_class):
        """The pipeline in the folder the config key names, loaded once its weights exist, else None."""
        loaded = self.__dict__.setdefault("_pipelines_named", {})
        if key not in loaded:
            folder = project_path(OmegaConf.select(self.cfg, key))
            if folder is None or not (Path(folder) / WEIGHTS_NAME).is_file():
                return None
            loaded[key] = pipeline_class.from_pretrained(folder)
        return loaded[key]


class EpochSampler:
    """Batch indices that depend only on (seed, step): resuming at step k replays the same data.

    Each epoch is a fresh permutation drawn from a generator seeded by (seed, epoch), so no
    iterator state has to be saved in a checkpoint. Under torchrun batch_size is the global batch and
    each process gets its share of it (shard=False: the caller shares what the indices select).
    """

    def __init__(self, size: int, batch_size: int, seed: int, shard: bool = True):
        if size <= 0:
            raise ValueError("the dataset is empty")
        self.size = size
        self.batch_size = min(batch_size, size)
        self.seed = seed
        self.shard = shard
        if shard:
            distributed.local_batch_size(self.batch_size)  # refuse a batch the processes cannot split
        self.per_epoch = max(1, size // self.batch_size)  # drop the ragged last batch
        self._cache = (None, None)

    def __len__(self) -> int:
        return self.per_epoch

    def indices(self, step: int) -> torch.Tensor:
        epoch, position = divmod(step, self.per_epoch)
        if self._cache[0] != epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._cache = (epoch, torch.randperm(self.size, generator=generator))
        start = position * self.batch_size
        batch = self._cache[1][start : start + self.batch_size]
        return distributed.share(batch) if self.shard else batch
