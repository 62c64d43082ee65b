"""The shapes world's code prior: samples of the VQGAN's code grid that decode to scenes."""

import hashlib

from ..models.code_prior import build_code_prior
from .base import Pipeline


def vqgan_fingerprint(vqgan_pipeline) -> str:
    """A short hash of the VQGAN's codebook: a prior's codes mean nothing to another VQGAN."""
    weight = vqgan_pipeline.vqgan.quantize.embedding.weight.detach().float().cpu().numpy()
    return hashlib.sha256(weight.round(3).tobytes()).hexdigest()[:16]


def clip_fingerprint(clip_pipeline) -> str:
    """A short hash of a CLIP's embedding of a fixed text: a prior's conditions mean nothing to
    another CLIP."""
    embedding = clip_pipeline.embed_texts(["a red circle above a blue square on a yellow background"])
    return hashlib.sha256(embedding.float().cpu().numpy().round(3).tobytes()).hexdigest()[:16]


class CodePriorPipeline(Pipeline):
    build = staticmethod(build_code_prior)
    shipped = ("prior",)

    def check_pairs_with(self, vqgan_pipeline, clip_pipeline) -> None:
        """Raises ValueError unless this prior was trained on these models' codes and embeddings."""
        for name, fingerprint, pipeline in (("VQGAN", vqgan_fingerprint, vqgan_pipeline),
                                            ("CLIP", clip_fingerprint, clip_pipeline)):
            want, have = self.cfg.data.get(f"{name.lower()}_fingerprint"), fingerprint(pipeline)
            if want != have:
                raise ValueError(f"the code prior was trained with another {name} ({want}, this one "
                                 f"{have}): retrain it with `python -m genai_core train {self.cfg.name}`")
