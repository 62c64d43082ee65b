"""Every model, named once. The CLI, the app, the Train tab and the tests all iterate REGISTRY.

A model's family is the one stem its pieces share: models/<family>.py (or a shared network file),
train/<family>.py, pipelines/<family>.py, demos/<family>.py (if it has a tab), tests/test_<family>.py
and benchmarks/<family>.py. Its configs are configs/<name>.yaml (what differs from the defaults) and
configs/tiny/<name>.yaml (a seconds-long run on data the project draws). A composite (the CLIP +
VQGAN pair) is assembled from registered models and has a tab of its own.
"""

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

from omegaconf import OmegaConf

from .config import CONFIG_DIR, RUNS_ROOT, SHARED_DATA, WEIGHTS_ROOT, leaves, resolve_config  # noqa: F401

# Weights promoted from the Train tab; they take precedence over the shipped ones until reverted.
PROMOTED_ROOT = RUNS_ROOT / "promoted"
TINY_DIR = CONFIG_DIR / "tiny"


def resolve(dotted: str):
    """'package.module:Name' -> the object, imported only when first needed."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    name: str
    title: str
    family: str
    task: str  # trainer Task class, "module:Class"
    pipeline: str  # inference Pipeline class, "module:Class"
    demo: str | None = None  # "module:function" building the tab; None for models without a tab
    group: str | None = None  # the app's top-level tab that holds this model's tab
    data_source: str = "procedural"  # data.source when trained on the real data
    data_file: str | None = None  # file in ../shared/data used for the shipped weights

    @property
    def weights_dir(self) -> Path:
        return WEIGHTS_ROOT / self.name

    @property
    def promoted_dir(self) -> Path:
        return PROMOTED_ROOT / self.name

    @property
    def active_weights_dir(self) -> Path:
        """What the tabs use: promoted weights when there are any, else the shipped ones."""
        if (self.promoted_dir / "model.safetensors").is_file():
            return self.promoted_dir
        return self.weights_dir

    @property
    def tiny(self) -> list[str]:
        """key=value overrides for a seconds-long offline run (tests, CI, `train --tiny`)."""
        path = TINY_DIR / f"{self.name}.yaml"
        if not path.is_file():
            return []
        tree = OmegaConf.to_container(OmegaConf.load(path))
        return [f"{key}={_yaml_value(value)}" for key, value in leaves(tree)]

    def config(self, overrides=None):
        return resolve_config(self.name, overrides)

    def task_class(self):
        return resolve(self.task)

    def pipeline_class(self):
        return resolve(self.pipeline)

    def load_pipeline(self, folder=None):
        return self.pipeline_class().from_pretrained(folder or self.active_weights_dir)


def _yaml_value(value) -> str:
    import json

    return json.dumps(value)  # JSON is YAML: lists, null and quoted strings read back as they were


@dataclass(frozen=True, kw_only=True)
class CompositeSpec:
    """A pipeline assembled from registered models (promoting one of them reaches it)."""

    name: str
    title: str
    family: str
    parts: tuple[str, ...]  # registry names, passed in this order to `assemble`
    assemble: str  # "module:function" taking the parts' pipelines
    demo: str | None = None
    group: str | None = None


def _spec(name, title, family, task, pipeline, **rest) -> ModelSpec:
    return ModelSpec(name=name, title=title, family=family, task=f"genai_core.train.{task}",
                     pipeline=f"genai_core.pipelines.{pipeline}", **rest)


# the app's top-level tabs, in order; each holds its models' tabs (book chapters 3-9 and the thesis)
TOY, IMAGE_GANS, AUTOENCODERS, TEXT, TEXT_TO_IMAGE = (
    "Toy GANs", "Image GANs", "Autoencoders", "Text", "Text to image")
REGISTRY: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        _spec("toy_curve", "Curve y = 1.08^x", "toy_gans", "toy_gans:CurveTask", "toy_gans:CurvePipeline",
              demo="demos.toy_gans:build_curve", group=TOY),
        _spec("toy_multiples", "Multiples of 5", "toy_gans", "toy_gans:MultiplesTask",
              "toy_gans:MultiplesPipeline", demo="demos.toy_gans:build_multiples", group=TOY),
        _spec("mnist_classifier", "MNIST referee classifier", "mnist_classifier",
              "mnist_classifier:MnistClassifierTask", "mnist_classifier:MnistClassifierPipeline",
              data_source="npz", data_file="mnist.npz"),
        _spec("mnist_gan", "Digits and clothes (GAN)", "mnist_gan", "mnist_gan:MnistGANTask",
              "mnist_gan:MnistGANPipeline",
              demo="demos.mnist_gan:build", group=IMAGE_GANS, data_source="npz", data_file="mnist.npz"),
        _spec("fashion_mnist_classifier", "Fashion-MNIST referee classifier", "mnist_classifier",
              "mnist_classifier:MnistClassifierTask", "mnist_classifier:MnistClassifierPipeline",
              data_source="npz", data_file="fashion_mnist.npz"),
        # shown in the mnist_gan tab as its second dataset
        _spec("fashion_mnist_gan", "Fashion-MNIST GAN", "mnist_gan", "mnist_gan:MnistGANTask",
              "mnist_gan:MnistGANPipeline", data_source="npz", data_file="fashion_mnist.npz"),
        _spec("mnist_autoencoder", "Digit autoencoder", "mnist_autoencoder",
              "mnist_autoencoder:MnistAutoencoderTask", "mnist_autoencoder:MnistAutoencoderPipeline",
              demo="demos.mnist_autoencoder:build", group=AUTOENCODERS, data_source="npz",
              data_file="mnist.npz"),
        _spec("anime_encoder", "Anime face encoder (FD referee)", "anime_encoder",
              "anime_encoder:AnimeEncoderTask", "anime_encoder:AnimeEncoderPipeline", data_source="tar",
              data_file="anime_faces_64.tar"),
        _spec("dcgan", "Anime faces (DCGAN)", "dcgan", "dcgan:DCGANTask", "dcgan:DCGANPipeline",
              demo="demos.dcgan:build", group=IMAGE_GANS, data_source="tar", data_file="anime_faces_64.tar"),
        _spec("lstm_anna", "Anna Karenina LSTM", "lstm", "lstm:WordLSTMTask", "lstm:WordLSTMPipeline",
              demo="demos.lstm:build", group=TEXT, data_source="text", data_file="anna_karenina.txt"),
        _spec("translator", "English -> French Transformer", "translator", "translator:TranslatorTask",
              "translator:TranslatorPipeline", demo="demos.translator:build", group=TEXT, data_source="tsv",
              data_file="en_fr_pairs.tsv"),
        _spec("face_referee", "Face attribute referee (procedural faces)", "face_referee",
              "face_referee:FaceRefereeTask", "face_referee:FaceRefereePipeline"),
        _spec("real_face_referee", "Face attribute referee (real photos)", "face_referee",
              "face_referee:FaceRefereeTask", "face_referee:FaceRefereePipeline", data_source="real",
              data_file="lfw_faces_128.tar"),
        _spec("cwgan_real_faces", "Faces with glasses (cWGAN-GP)", "cwgan", "cwgan:CWGANTask",
              "cwgan:CWGANPipeline", demo="demos.cwgan:build", group=IMAGE_GANS, data_source="real",
              data_file="lfw_faces_128.tar"),
        # the same model on the procedural faces: the tab's second choice
        _spec("cwgan_glasses", "Faces with glasses (cWGAN-GP, procedural faces)", "cwgan", "cwgan:CWGANTask",
              "cwgan:CWGANPipeline"),
        _spec("cyclegan_real_hair", "Hair colour (CycleGAN)", "cyclegan", "cyclegan:CycleGANTask",
              "cyclegan:CycleGANPipeline", demo="demos.cyclegan:build", group=IMAGE_GANS, data_source="real",
              data_file="lfw_faces_128.tar"),
        # the hair-colour tab's gate: the change is kept to the hair it marks
        _spec("hair_segmenter", "Hair segmenter (real photos)", "hair_segmenter",
              "hair_segmenter:HairSegmenterTask", "hair_segmenter:HairSegmenterPipeline", data_source="real",
              data_file="lfw_faces_128.tar"),
        # the same model on the procedural faces: the tab's second choice
        _spec("cyclegan_hair", "Hair colour (CycleGAN, procedural faces)", "cyclegan",
              "cyclegan:CycleGANTask", "cyclegan:CycleGANPipeline"),
        _spec("vae_real_faces", "Face VAE", "vae", "vae:FaceVAETask", "vae:FaceVAEPipeline",
              demo="demos.vae:build", group=AUTOENCODERS, data_source="real", data_file="lfw_faces_128.tar"),
        # the same model on the procedural faces: the tab's second choice
        _spec("vae_faces", "Face VAE (procedural faces)", "vae", "vae:FaceVAETask", "vae:FaceVAEPipeline"),
        _spec("clip_shapes", "CLIP on the shapes world", "clip", "clip:CLIPTask", "clip:TinyCLIPPipeline"),
        _spec("clip_faces", "CLIP on real faces", "clip", "clip:FaceCLIPTask", "clip:TinyCLIPPipeline",
              data_source="real", data_file="lfw_faces_128.tar"),
        _spec("vqgan_shapes", "VQGAN on the shapes world", "vqgan", "vqgan:VQGANTask", "vqgan:VQGANPipeline"),
        _spec("vqgan_faces", "VQGAN on real faces", "vqgan", "vqgan:VQGANTask", "vqgan:VQGANPipeline",
              data_source="real", data_file="lfw_faces_128.tar"),
        # the picture prior over vqgan_shapes' codes, conditioned on clip_shapes' embeddings
        _spec("code_prior_shapes", "Code prior (text to image)", "code_prior", "code_prior:CodePriorTask",
              "code_prior:CodePriorPipeline"),
        _spec("code_prior_faces", "Code prior (text to face)", "code_prior", "code_prior:FaceCodePriorTask",
              "code_prior:CodePriorPipeline", data_source="real", data_file="lfw_faces_128.tar"),
    ]
}

COMPOSITES: dict[str, CompositeSpec] = {
    spec.name: spec
    for spec in [
        CompositeSpec(name="clip_vqgan_shapes", title="Text to image (CLIP + VQGAN)", family="clip_vqgan",
                      parts=("vqgan_shapes", "clip_shapes", "code_prior_shapes"),
                      assemble="genai_core.pipelines.clip_vqgan:assemble_pair",
                      demo="demos.clip_vqgan:build", group=TEXT_TO_IMAGE),
        # the faces pair: a model choice of the same tab
        CompositeSpec(name="clip_vqgan_faces", title="Text to face (CLIP + VQGAN)", family="clip_vqgan",
                      parts=("vqgan_faces", "clip_faces", "code_prior_faces"),
                      assemble="genai_core.pipelines.clip_vqgan:assemble_pair"),
    ]
}


def tabs() -> list:
    """Every registered model and composite that has a tab, in registry order."""
    return [spec for spec in [*REGISTRY.values(), *COMPOSITES.values()] if spec.demo]


def tab_groups() -> dict[str, list]:
    """Top-level tab -> the model tabs it holds, in registry order."""
    groups: dict[str, list] = {}
    for spec in tabs():
        groups.setdefault(spec.group or spec.title, []).append(spec)
    return groups


def tab_module(spec):
    """The demos module that builds spec's tab (its API_EXAMPLES, MAIN_BUTTON, ...)."""
    return importlib.import_module(spec.demo.partition(":")[0])


def get(name: str) -> ModelSpec:
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(REGISTRY)}")
    return REGISTRY[name]


@functools.cache
def load_pipeline(name: str):
    """The pipeline of a model (promoted or shipped weights), loaded on first use and then kept
    (one copy per process)."""
    return get(name).load_pipeline()


@functools.cache
def load_composite(name: str):
    """A composite assembled from its parts' pipelines (each from load_pipeline), kept like them."""
    spec = COMPOSITES[name]
    return resolve(spec.assemble)(*(load_pipeline(part) for part in spec.parts))


def clear_pipelines() -> None:
    """Forget every loaded pipeline and composite (after a promotion or revert): the next call loads
    the weights the registry now points at."""
    load_pipeline.cache_clear()
    load_composite.cache_clear()
