"""A pipeline = shipped networks + the code that turns a seed and settings into a result."""

import contextlib
import functools
import os
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_config, load_weights

BF16_ENV = "GENAI_BF16"  # "auto" (default): bf16 where the CPU has bf16 units and the model allows it


@functools.cache
def cpu_has_bf16() -> bool:
    """AMX or AVX-512 BF16 units (oneDNN runs bf16 matmuls and convolutions natively on them)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bf16_autocast(allowed: bool):
    """bf16 autocast on the CPU if allowed and GENAI_BF16 agrees (auto: where the CPU has bf16 units)."""
    setting = os.environ.get(BF16_ENV, "auto").strip().lower()
    on = allowed and (setting in ("1", "on", "true") or (setting == "auto" and cpu_has_bf16()))
    return torch.autocast("cpu", dtype=torch.bfloat16) if on else contextlib.nullcontext()


class Pipeline:
    build = None  # model_cfg -> {name: nn.Module}; the same builder the trainer uses
    shipped: tuple[str, ...] = ()  # which of those networks model.safetensors holds
    # bf16 autocast is allowed where its change to the results was measured as invisible (the card
    # says by how much); GENAI_BF16=0 turns it off everywhere, =1 on for these models on any CPU
    allows_bf16 = False

    def autocast(self):
        """The context a pipeline runs its networks in: bf16 autocast on the CPU where allowed."""
        return bf16_autocast(self.allows_bf16)

    def memo(self, key, compute):
        """compute() once per key for this pipeline (the last 64 keys kept): results that cost a second
        to redraw, such as the group means the arithmetic presets average over."""
        cache = self.__dict__.setdefault("_memo", {})
        if key not in cache:
            if len(cache) >= 64:
                cache.clear()
            cache[key] = compute()
        return cache[key]

    def __init__(self, cfg, modules: dict[str, torch.nn.Module]):
        self.cfg = cfg
        for name, module in modules.items():
            setattr(self, name, module.eval().requires_grad_(False))

    @classmethod
    def wrapping(cls, cfg, modules: dict[str, torch.nn.Module]) -> "Pipeline":
        """A pipeline around networks still in training (no eval(), no freezing, no copy): for
        evaluation inside a training task."""
        pipeline = cls.__new__(cls)
        pipeline.cfg = cfg
        for name, module in modules.items():
            setattr(pipeline, name, module)
        return pipeline

    @classmethod
    def from_pretrained(cls, folder) -> "Pipeline":
        folder = Path(folder)
        cfg = load_config(folder)
        modules = {k: v for k, v in cls.build(cfg.model).items() if k in cls.shipped}
        load_weights(folder, modules)
        return cls(cfg, modules)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        """n results from seed as one HxWx3 uint8 picture (`python -m genai_core sample`). A model that
        draws nothing of its own (a classifier, an encoder, a prior over another model's codes) raises
        ValueError saying so."""
        raise ValueError(f"{self.cfg.name} draws nothing of its own: there is nothing to sample")
