"""CLIP pipelines for the prompt optimiser: the small CLIPs trained here (shapes world, faces), and
(when the transformers package and a downloaded checkpoint are available) OpenAI's CLIP as the thesis
used it.

Both have the same surface: `input_size` (the side the optimiser should resize its crops to),
`embed_images(x)` (differentiable with respect to x, so the optimiser can follow the gradient),
`embed_texts(texts)` and `unknown_words(text)`; embeddings are L2-normalised.
"""

import torch
import torch.nn.functional as F

from ..models.clip import build_clip
from .base import Pipeline


class TinyCLIPPipeline(Pipeline):
    build = staticmethod(build_clip)
    shipped = ("clip",)

    @property
    def input_size(self) -> int:
        return self.clip.image_size

    @property
    def device(self) -> torch.device:
        return self.clip.logit_scale.device

    def embed_images(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, S, S) in [-1, 1] -> (N, D), unit length. No torch.no_grad here: the optimiser
        needs the gradient with respect to x (the weights are frozen)."""
        return F.normalize(self.clip.encode_image(x.to(self.device)), dim=-1)

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        return F.normalize(self.clip.encode_text(self.clip.tokenize(list(texts)).to(self.device)), dim=-1)

    def unknown_words(self, text: str) -> list[str]:
        """Words the text encoder has never seen (they become <unk>, which carries no meaning)."""
        return self.clip.unknown_words(text)

    @torch.no_grad()
    def similarity(self, images: torch.Tensor, texts: list[str]) -> torch.Tensor:
        """Cosine similarities (N images, M texts)."""
        return self.embed_images(images) @ self.embed_texts(texts).T


class HFCLIPPipeline:
    """OpenAI CLIP through Hugging Face transformers (e.g. "openai/clip-vit-base-patch32", the
    thesis' ViT-B/32, or a local folder holding it). Imported lazily: the app runs without it."""

    MEAN = (0.48145466, 0.4578275, 0.40821073)  # CLIP's preprocessing statistics
    STD = (0.26862954, 0.26130258, 0.27577711)

    def __init__(self, model, tokenizer):
        self.model = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.input_size = int(model.config.vision_config.image_size)
        self.mean = torch.tensor(self.MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(self.STD).view(1, 3, 1, 1)

    @classmethod
    def from_pretrained(cls, name_or_path, **kwargs) -> "HFCLIPPipeline":
        """kwargs go to transformers' from_pretrained (e.g. local_files_only=True to never download)."""
        try:
            import transformers
        except ImportError:
            raise ImportError(
                "HFCLIPPipeline needs the transformers package (pip install transformers); "
                "the shapes-world CLIP (clip_shapes) works without it."
            ) from None
        model = transformers.CLIPModel.from_pretrained(str(name_or_path), **kwargs)
        tokenizer = transformers.CLIPTokenizer.from_pretrained(str(name_or_path), **kwargs)
        return cls(model, tokenizer)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def embed_images(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, S, S) in [-1, 1] -> (N, D) unit length; resized to 224 and normalised like CLIP's
        preprocessing, differentiably. The projection is applied by hand (vision tower's pooled
        output -> visual_projection) because get_image_features' return type changed across
        transformers versions."""
        x = (x.to(self.device) + 1) / 2
        if x.shape[-2:] != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size,) * 2, mode="bicubic", align_corners=False)
        x = (x - self.mean.to(x.device)) / self.std.to(x.device)
        pooled = self.model.vision_model(pixel_values=x).pooler_output
        return F.normalize(self.model.visual_projection(pooled), dim=-1)

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        tokens = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        tokens = {k: v.to(self.device) for k, v in tokens.items()}
        pooled = self.model.text_model(**tokens).pooler_output
        return F.normalize(self.model.text_projection(pooled), dim=-1)

    def unknown_words(self, text: str) -> list[str]:
        """CLIP's byte-pair tokenizer spells any word, so nothing is unknown to it."""
        return []
