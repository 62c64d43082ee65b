"""English -> French with the Transformer: greedy and beam-search translation and cross-attention
heatmaps. The tokenizer is loaded from the weights folder, next to the weights."""

import re
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..checkpoint import WeightsError
from ..data import text as data
from ..models.translator import beam_search, build_translator, greedy_decode
from ..plots import attention_figure
from .base import Pipeline

MAX_SENTENCES = 12  # a paragraph; each sentence is a separate decode
TRAINED_WORDS = 9  # no training sentence was longer (Tatoeba pairs of at most 9 English words)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


@dataclass
class Translation:
    text: str
    sentences: list[str]  # the English sentences, as split
    notes: list[str]  # limits reached, for the reader
    tokens: int  # French tokens decoded
    seconds: float
    ids: list[list[int]] = field(default_factory=list)  # each sentence's French token ids

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / max(self.seconds, 1e-9)


def _which(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"sentence {numbers[0]} is"
    return f"sentences {', '.join(map(str, numbers[:-1]))} and {numbers[-1]} are"


def split_sentences(text: str) -> list[str]:
    """English text -> its sentences (a sentence ends at . ! or ? before a capital or a digit)."""
    return [s.strip() for s in SENTENCE_END.split(" ".join((text or "").split())) if s.strip()]


def token_label(token: str) -> str:
    """BPE pieces for plot labels: '▁' (a word start) shown as a middle dot."""
    return token.replace("▁", "·") or "·"


class TranslatorPipeline(Pipeline):
    build = staticmethod(build_translator)
    shipped = ("transformer",)

    @classmethod
    def from_pretrained(cls, folder) -> "TranslatorPipeline":
        pipeline = super().from_pretrained(folder)
        try:
            pipeline.tokenizer = data.load_tokenizer(folder)
            data.special_ids(pipeline.tokenizer)
        except Exception as err:  # tokenizers raises plain Exception on a corrupt file
            raise WeightsError(f"tokenizer in {folder}: {err}") from None
        if pipeline.tokenizer.get_vocab_size() != pipeline.cfg.model.vocab_size:
            raise WeightsError("tokenizer.json does not match the weights' vocabulary size")
        return pipeline

    @property
    def max_len(self) -> int:
        return int(self.cfg.model.max_len)

    def encode(self, texts: list[str]) -> torch.Tensor:
        texts = [t.strip() for t in texts]
        if not all(texts):
            raise ValueError("type an English sentence to translate")
        ids = data.encode_sources(self.tokenizer, texts, self.max_len)
        return data.pad(ids)

    def translate_batch(self, texts: list[str]) -> list[str]:
        """Greedy translation of many sentences at once (benchmarks, evaluation)."""
        ids = greedy_decode(self.transformer, self.encode(texts), 2, 3, self.max_len - 2)
        return self.tokenizer.decode_batch(ids)

    def translate_ids(self, text: str, beam: int = 1) -> list[int]:
        src = self.encode([text])
        if beam <= 1:
            return greedy_decode(self.transformer, src, 2, 3, self.max_len - 2)[0]
        return beam_search(self.transformer, src, 2, 3, self.max_len - 2, beam=beam)

    def translate(self, text: str, beam: int = 1) -> str:
        """One sentence. beam=1 is greedy decoding; beam>1 is beam search with that many hypotheses."""
        if not 1 <= beam <= 16:
            raise ValueError(f"beam size must be 1-16, got {beam}")
        return self.tokenizer.decode(self.translate_ids(text, beam))

    def translate_text(self, text: str, beam: int = 1) -> Translation:
        """Any English text: split into sentences, each translated on its own (the model learnt from
        single short sentences), joined again; notes say where a limit was reached."""
        sentences = split_sentences(text)
        if not sentences:
            raise ValueError("type an English sentence to translate")
        notes = []
        if len(sentences) > MAX_SENTENCES:
            notes.append(f"only the first {MAX_SENTENCES} of {len(sentences)} sentences are translated")
            sentences = sentences[:MAX_SENTENCES]
        lengths = [len(e.ids) for e in self.tokenizer.encode_batch(sentences)]
        cut = [i + 1 for i, n in enumerate(lengths) if n > self.max_len - 1]
        if cut:
            notes.append(f"{_which(cut)} longer than the {self.max_len - 1} tokens the model reads: the end "
                         "is left out")
        words = [len(s.split()) for s in sentences]
        long = [i + 1 for i, n in enumerate(words) if n > TRAINED_WORDS and i + 1 not in cut]
        if long:
            notes.append(f"{_which(long)} longer than the {TRAINED_WORDS} words of any training sentence: "
                         "expect a rougher translation")
        start = time.perf_counter()
        if beam <= 1:
            ids = greedy_decode(self.transformer, self.encode(sentences), 2, 3, self.max_len - 2)
        else:
            ids = [beam_search(self.transformer, self.encode([s]), 2, 3, self.max_len - 2, beam=beam)
                   for s in sentences]
        seconds = time.perf_counter() - start
        tokens = sum(len(row) + 1 for row in ids)  # the tokens decoded, each sentence's </s> included
        return Translation(" ".join(self.tokenizer.decode_batch(ids)), sentences, notes, tokens, seconds,
                           [list(row) for row in ids])

    @torch.no_grad()
    def attention(self, text: str, layer: int, head: int | None, beam: int = 1,
                  out_ids: list[int] | None = None):
        """Cross-attention of decoder `layer` (0-based), `head` (0-based, None = mean of heads)
        while producing the translation (out_ids: its token ids when already decoded). Returns
        (weights (target x source), source tokens, target tokens, translation); row t is what the
        decoder looked at to emit target token t."""
        layers, heads = len(self.transformer.decoder), self.cfg.model.heads
        if not 0 <= layer < layers or (head is not None and not 0 <= head < heads):
            raise ValueError(f"layer must be 1-{layers} and head 1-{heads}")
        out_ids = self.translate_ids(text, beam) if out_ids is None else out_ids
        src = self.encode([text])
        tgt = torch.tensor([[2, *out_ids]])
        memory = self.transformer.encode(src)
        _, crosses = self.transformer.decode(tgt, memory, self.transformer.src_mask(src))
        weights = crosses[layer][0]
        weights = weights.mean(0) if head is None else weights[head]
        source = [token_label(self.tokenizer.id_to_token(i)) for i in src[0].tolist()]
        target = [token_label(self.tokenizer.id_to_token(i)) for i in [*out_ids, 3]]
        return weights.float().numpy(), source, target, self.tokenizer.decode(out_ids)

    def heatmap(self, text: str, layer: int, head: int | None, beam: int = 1,
                out_ids: list[int] | None = None) -> np.ndarray:
        weights, source, target, translation = self.attention(text, layer, head, beam, out_ids)
        title = f"decoder layer {layer + 1}, " + ("mean of heads" if head is None else f"head {head + 1}")
        return attention_figure(weights, source, target, title)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return self.heatmap("Today is a beautiful day!", len(self.transformer.decoder) - 1, None)


