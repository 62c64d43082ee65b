"""Every model, named once. The CLI, the app, the Train tab and the tests all iterate REGISTRY."""

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path

from .config import RUNS_ROOT, SHARED_DATA, WEIGHTS_ROOT, load_config  # noqa: F401 (re-exported)

# Weights promoted from the Train tab; they take precedence over the shipped ones until reverted.
PROMOTED_ROOT = RUNS_ROOT / "promoted"


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

    @property
    def promoted_dir(self) -> Path:
        return PROMOTED_ROOT / self.name

    @property
    def active_weights_dir(self) -> Path:
        """What the tabs use: promoted weights when there are any, else the shipped ones."""
        if (self.promoted_dir / "model.safetensors").is_file():
            return self.promoted_dir
        return self.weights_dir

    def config(self, overrides=None):
        return load_config(self.name, overrides)

    def task_class(self):
        return _resolve(self.task)

    def pipeline_class(self):
        return _resolve(self.pipeline)

    def load_pipeline(self, folder=None):
        return self.pipeline_class().from_pretrained(folder or self.active_weights_dir)


_TINY_TOY = ("steps=20", "eval_every=10", "sample_every=10", "checkpoint_every=10", "eval_samples=500")
_TINY_TEXT = ("epochs=null", "steps=6", "eval_every=3", "checkpoint_every=3", "log_every=2",
              "data.source=synthetic")  # fmt: skip
_TINY_LSTM = (*_TINY_TEXT, "batch_size=8", "seq_len=16", "data.val_chapters=2", "model.hidden=32",
              "model.embed_dim=16", "model.proj_size=16", "model.layers=2")  # fmt: skip
_TINY_TRANSLATOR = (*_TINY_TEXT, "max_tokens=300", "warmup=3", "tokenizer.vocab_size=120",
                    "data.test_size=10", "data.val_size=10", "eval.sentences=8", "model.d_model=32",
                    "model.heads=2", "model.d_ff=64", "model.encoder_layers=1", "model.decoder_layers=1",
                    "model.max_len=32")  # fmt: skip
_TINY_DIGITS = ("epochs=null", "steps=6", "batch_size=16", "eval_every=3", "sample_every=3",
                "checkpoint_every=3", "data.source=synthetic", "data.synthetic_size=64")  # fmt: skip
_TINY_FACES = ("steps=4", "batch_size=8", "eval_every=2", "sample_every=2", "checkpoint_every=2",
               "data.source=synthetic", "data.synthetic_size=48", "data.holdout=16",
               "eval.samples=16")  # fmt: skip
_TINY_VAE = ("steps=4", "batch_size=4", "eval_every=2", "sample_every=2", "checkpoint_every=2",
             "data.train_size=16", "data.holdout=8", "eval.samples=8", "eval.referee=null",
             "model.size=32", "model.channels=[4,8,8]", "model.latent_dim=8")  # fmt: skip
_TINY_CLIP = ("steps=4", "batch_size=16", "eval_every=2", "sample_every=2", "checkpoint_every=2",
              "log_every=2", "warmup=2", "data.eval_scenes=40", "data.eval_group=20",
              "model.channels=[4,8,8,8]", "model.dim=16", "model.text_width=16", "model.heads=2",
              "model.text_layers=1")  # fmt: skip
_TINY_VQGAN = ("steps=4", "batch_size=4", "eval_every=2", "sample_every=2", "checkpoint_every=2",
               "eval.samples=8", "restart_every=2", "model.channels=[8,8,8]", "model.z_channels=16",
               "model.res_blocks=1", "model.n_embed=32", "model.embed_dim=8")  # fmt: skip
_TINY_PRIOR = ("steps=4", "batch_size=8", "eval_every=2", "sample_every=2", "checkpoint_every=2",
               "log_every=2", "warmup=2", "data.scenes=64", "data.val_scenes=16", "eval.samples=4",
               "model.dim=16", "model.layers=1", "model.heads=2")  # fmt: skip

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
            (*_TINY_DIGITS, "eval.samples=64"),
        ),
        ModelSpec(
            "mnist_autoencoder", "Digit autoencoder", "genai_core.train.mnist:DigitAutoencoderTask",
            "genai_core.pipelines.digits:DigitAutoencoderPipeline", "demos.autoencoder", "npz", "mnist.npz",
            _TINY_DIGITS,
        ),
        ModelSpec(
            "anime_encoder", "Anime face encoder (FD referee)", "genai_core.train.dcgan:FaceAutoencoderTask",
            "genai_core.pipelines.dcgan:FaceReferee", None, "tar", "anime_faces_64.tar",
            (*_TINY_FACES, "model.channels=[8,8,8,8]", "model.feature_dim=16"),
        ),
        ModelSpec(
            "dcgan", "Anime faces (DCGAN)", "genai_core.train.dcgan:DCGANTask",
            "genai_core.pipelines.dcgan:AnimeFacePipeline", "demos.dcgan", "tar", "anime_faces_64.tar",
            (*_TINY_FACES, "model.ngf=8", "model.ndf=8"),
        ),
        ModelSpec(
            "lstm_anna", "Anna Karenina LSTM", "genai_core.train.text:WordLSTMTask",
            "genai_core.pipelines.text:WordLSTMPipeline", "demos.lstm", "text", "anna_karenina.txt",
            _TINY_LSTM,
        ),
        ModelSpec(
            "translator", "English -> French Transformer", "genai_core.train.text:TranslatorTask",
            "genai_core.pipelines.text:TranslatorPipeline", "demos.translator", "tsv", "en_fr_pairs.tsv",
            _TINY_TRANSLATOR,
        ),
        ModelSpec(
            "face_referee", "Face attribute referee", "genai_core.train.faces:FaceRefereeTask",
            "genai_core.pipelines.faces:FaceRefereePipeline", None, "procedural", None,
            ("steps=4", "batch_size=8", "eval_every=2", "checkpoint_every=2", "data.train_size=32",
             "data.holdout=16", "model.channels=[4,8,8]", "model.feature_dim=8"),
        ),
        ModelSpec(
            "cwgan_glasses", "Faces with glasses (cWGAN-GP)", "genai_core.train.faces:ConditionalWGANTask",
            "genai_core.pipelines.faces:ConditionalFacePipeline", "demos.cwgan", "procedural", None,
            ("steps=3", "batch_size=8", "n_critic=2", "eval_every=2", "sample_every=2", "checkpoint_every=2",
             "data.train_size=48", "data.holdout=8", "eval.samples=16", "eval.referee=null",
             "model.latent_dim=8", "model.g_channels=[8,8,8]", "model.d_channels=[8,8,8]",
             "model.ac_channels=[8,8,8]"),
        ),
        ModelSpec(
            "cyclegan_hair", "Hair colour (CycleGAN)", "genai_core.train.cyclegan:CycleGANTask",
            "genai_core.pipelines.cyclegan:HairTranslatorPipeline", "demos.cyclegan", "procedural", None,
            ("steps=4", "batch_size=2", "eval_every=2", "sample_every=2", "checkpoint_every=2",
             "data.train_size=8", "data.holdout=4", "eval.samples=4", "eval.referee=null",
             "model.size=32", "model.ngf=4", "model.n_blocks=1", "model.ndf=4"),
        ),
        ModelSpec(
            "vae_faces", "Face VAE", "genai_core.train.vae:FaceVAETask",
            "genai_core.pipelines.vae:FaceVAEPipeline", "demos.vae", "procedural", None, _TINY_VAE,
        ),
        ModelSpec(  # shown in the vae_faces tab as a second model choice
            "vae_real_faces", "Face VAE (real photos)", "genai_core.train.vae:FaceVAETask",
            "genai_core.pipelines.vae:FaceVAEPipeline", None, "tar", "real_faces_128.tar",
            (*_TINY_VAE, "data.source=procedural", "augment=true"),
        ),
        ModelSpec(
            "clip_shapes", "CLIP on the shapes world", "genai_core.train.clip:CLIPTask",
            "genai_core.pipelines.clip:ShapesCLIPPipeline", None, "procedural", None, _TINY_CLIP,
        ),
        ModelSpec(  # the text-to-image tab steers this VQGAN with clip_shapes
            "vqgan_shapes", "Text to image (CLIP + VQGAN)", "genai_core.train.vqgan:VQGANTask",
            "genai_core.pipelines.vqgan:VQGANPipeline", "demos.clip_vqgan", "procedural", None, _TINY_VQGAN,
        ),
        ModelSpec(  # the text-to-image tab's picture prior over vqgan_shapes' codes
            "code_prior_shapes", "Code prior (text to image)", "genai_core.train.code_prior:CodePriorTask",
            "genai_core.pipelines.code_prior:CodePriorPipeline", None, "procedural", None, _TINY_PRIOR,
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


_DEPENDENT_CACHES = []  # functools caches of objects built from loaded pipelines (e.g. the CLIP + VQGAN pair)


def built_from_pipelines(cached_fn):
    """Register a functools-cached function whose result holds loaded pipelines, so that
    clear_pipelines() forgets it too."""
    _DEPENDENT_CACHES.append(cached_fn)
    return cached_fn


def clear_pipelines() -> None:
    """Forget every loaded pipeline (after a promotion or revert): the next call loads the weights
    the registry now points at."""
    load_pipeline.cache_clear()
    for cached in _DEPENDENT_CACHES:
        cached.cache_clear()
