"""A pipeline = shipped networks + the code that turns a seed and settings into a result."""

from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_config, load_weights


class Pipeline:
    build = None  # model_cfg -> {name: nn.Module}; the same builder the trainer uses
    shipped: tuple[str, ...] = ()  # which of those networks model.safetensors holds

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
