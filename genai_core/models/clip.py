"""TinyCLIP: a CLIP small enough to train on one CPU thread, for the shapes world.

Same recipe as OpenAI's CLIP (thesis: ViT-B/32), scaled down: an image encoder and a text encoder
map into one D-dimensional space, both outputs are L2-normalised and compared by a dot product
times a learned temperature. The image side is a small CNN on 64x64 pictures whose last feature
map is flattened rather than pooled, because where things are matters ("above" vs "below"). The
text side is word embeddings plus learned positions through a 2-layer Transformer encoder, read
at a leading [CLS] token: word order matters ("red circle above blue square" is not "blue square
above red circle"), so a bag of words would not do.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import face_captions, shapes

# world -> how its prompts become words (synonyms mapped, punctuation the world ignores dropped)
WORDS_OF = {"shapes": shapes.normalise_words, "faces": face_captions.tokens}

PAD, UNK, CLS = 0, 1, 2
SPECIAL = ("<pad>", "<unk>", "<cls>")


class ImageEncoder(nn.Module):
    def __init__(self, channels=(16, 32, 64, 96), size: int = 64, dim: int = 128):
        super().__init__()
        layers, c_in = [], 3
        for i, c_out in enumerate(channels):  # each block halves the side
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()]
            if i >= len(channels) - 2:  # a second conv only at the small, cheap resolutions
                layers += [nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.GELU()]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        side = size // 2 ** len(channels)
        self.head = nn.Linear(c_in * side * side, dim)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


class TextEncoder(nn.Module):
    def __init__(self, vocab_size: int, context: int = 16, dim: int = 128, width: int = 128, layers: int = 2,
                 heads: int = 4):
        super().__init__()
        self.token = nn.Embedding(vocab_size, width, padding_idx=PAD)
        self.position = nn.Parameter(torch.randn(context, width) * 0.02)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, dim)

    def forward(self, ids):
        h = self.token(ids) + self.position[: ids.shape[1]]
        h = self.transformer(h, src_key_padding_mask=ids == PAD)
        return self.head(self.norm(h[:, 0]))  # the [CLS] token's state


class TinyCLIP(nn.Module):
    def __init__(self, vocab: list[str], image_size: int = 64, context: int = 16, dim: int = 128,
                 channels=(16, 32, 64, 96), text_width: int = 128, text_layers: int = 2,
                 heads: int = 4, world: str = "shapes"):
        super().__init__()
        if world not in WORDS_OF:
            raise ValueError(f"model.world must be one of {', '.join(WORDS_OF)}, got {world!r}")
        self.words = WORDS_OF[world]
        self.vocab = list(SPECIAL) + [w for w in vocab if w not in SPECIAL]
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.image_size, self.context = image_size, context
        self.visual = ImageEncoder(tuple(channels), image_size, dim)
        self.text = TextEncoder(len(self.vocab), context, dim, text_width, text_layers, heads)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))  # CLIP's initial temperature

    # -- text ------------------------------------------------------------------------------
    def tokenize(self, texts: list[str]) -> torch.Tensor:
        """Texts -> LongTensor (N, context): [CLS] then word ids, padded; unknown words -> UNK, words
        past the context are cut. Lower-cased, punctuation dropped, synonyms mapped ("under" -> below)."""
        ids = torch.full((len(texts), self.context), PAD, dtype=torch.long)
        for row, text in enumerate(texts):
            words = [CLS] + [self.index.get(w, UNK) for w in self.words(text)]
            words = words[: self.context]
            ids[row, : len(words)] = torch.tensor(words)
        return ids

    def unknown_words(self, text: str) -> list[str]:
        """Words outside this model's vocabulary (saved with its weights, so it may predate its world's
        word list), in order, without repeats."""
        return list(dict.fromkeys(w for w in self.words(text) if w not in self.index))

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        return self.text(ids)

    # -- images ----------------------------------------------------------------------------
    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, 3, S, S) in [-1, 1], any S: resized to image_size (differentiable, for the optimiser)."""
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              antialias=x.shape[-1] > self.image_size, align_corners=False)
        return self.visual(x)

    def forward(self, images, ids):
        """Similarity logits (N images, M texts), scaled by the learned temperature."""
        image = F.normalize(self.encode_image(images), dim=-1)
        text = F.normalize(self.encode_text(ids), dim=-1)
        return self.logit_scale.exp().clamp(max=100) * image @ text.T


def build_clip(model_cfg) -> dict[str, nn.Module]:
    get = model_cfg.get
    world = get("world", "shapes")
    vocab = list(get("vocab") or (shapes.WORDS if world == "shapes" else face_captions.WORDS))
    clip = TinyCLIP(vocab, int(get("image_size", 64)), int(get("context", 16)), int(get("dim", 128)),
                    tuple(get("channels", (16, 32, 64, 96))), int(get("text_width", 128)),
                    int(get("text_layers", 2)), int(get("heads", 4)), world)
    return {"clip": clip}
