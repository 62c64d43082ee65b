"""Every model, named once. The CLI, the app, the Train tab and the tests all iterate REGISTRY."""

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

from .config import PROJECT_ROOT, load_config

WEIGHTS_ROOT = PROJECT_ROOT / "weights"
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


def _resolve(dotted: str):
    """'package.module:Name' -> the object, imported only when first needed."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    task: str  # trainer Task class, "module:Class"
    pipeline: str  # inference Pipeline class, "module:Class"
    demo: str | None  # demos module building the tab; None for models without a tab
    data_source: str  # data.source when trained on the real data
    data_file: str | None  # file in ../shared/data used for the shipped weights
    tiny: tuple[str, ...] = ()  # overrides that make a seconds-long offline run (tests, CI)

    @property
    def weights_dir(self) -> Path:
        return WEIGHTS_ROOT / self.name

    def config(self, overrides=None):
        return load_config(self.name, overrides)

    def task_class(self):
        return _resolve(self.task)

    def pipeline_class(self):
        return _resolve(self.pipeline)

    def load_pipeline(self, folder=None):
        return self.pipeline_class().from_pretrained(folder or self.weights_dir)


_TINY_TOY = ("steps=20", "eval_every=10", "sample_every=10", "checkpoint_every=10", "eval_samples=500")
_TINY_DIGITS = ("steps=6", "batch_size=16", "eval_every=3", "sample_every=3", "checkpoint_every=3",
                "data.source=synthetic", "data.synthetic_size=64", "eval.samples=64")  # fmt: skip

REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "toy_curve", "Curve y = 1.08^x", "genai_core.train.toy:CurveTask",
            "genai_core.pipelines.toy:CurvePipeline", "demos.toy_curve", "procedural", None, _TINY_TOY,
        ),
        ModelSpec(
            "toy_multiples", "Multiples of 5", "genai_core.train.toy:MultiplesTask",
            "genai_core.pipelines.toy:MultiplesPipeline", "demos.toy_multiples", "procedural", None,
            (*_TINY_TOY, "batch_size=20"),
        ),
        ModelSpec(
            "mnist_classifier", "MNIST referee classifier", "genai_core.train.mnist:DigitClassifierTask",
            "genai_core.pipelines.digits:DigitReferee", None, "npz", "mnist.npz", _TINY_DIGITS,
        ),
        ModelSpec(
            "mnist_gan", "MNIST GAN", "genai_core.train.mnist:DigitGANTask",
            "genai_core.pipelines.digits:DigitGANPipeline", "demos.mnist_gan", "npz", "mnist.npz",
            _TINY_DIGITS,
        ),
    ]
}  # fmt: skip


def get(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


@functools.cache
def load_pipeline(name: str):
    """The pipeline of a shipped model, loaded on first use and then kept (one copy per process)."""
    return get(name).load_pipeline()
