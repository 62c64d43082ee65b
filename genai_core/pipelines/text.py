"""Inference for the text models: streamed LSTM sampling and Transformer translation.

Both pipelines load their vocabulary/tokenizer from the weights folder, next to the weights.
"""

import numpy as np
import torch

from ..checkpoint import WeightsError
from ..data import text as data
from ..models.lstm import build_lstm
from ..models.transformer import beam_search, build_translator, greedy_decode
from .base import Pipeline

# ---------------------------------------------------------------- LSTM sampling

MAX_PROMPT_CHARS = 2000  # the model's context is a few sentences; a longer prompt is only cost


def check_sampling(temperature: float, top_k: int, top_p: float) -> None:
    if not 0 <= temperature <= 5:
        raise ValueError(f"temperature must be between 0 (greedy) and 5, got {temperature}")
    if top_k < 0:
        raise ValueError(f"top-K must be 0 (off) or positive, got {top_k}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top-p must be in (0, 1], got {top_p}")


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Set to -inf every logit outside the top-K and outside the smallest top-p nucleus."""
    logits = logits.clone()
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits[logits < kth] = -torch.inf
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        drop = cumulative - sorted_logits.softmax(-1) >= top_p  # keep the token that crosses top_p
        logits.scatter_(-1, order, sorted_logits.masked_fill(drop, -torch.inf))
    return logits


def sample_next(logits, temperature: float, top_k: int, top_p: float, generators) -> torch.Tensor:
    """logits (n, V) -> token ids (n,). Row i draws from generators[i] only, so sample i of a
    request depends on its own seed and not on how many samples were asked for."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = filter_logits(logits / temperature, top_k, top_p).softmax(-1)
    return torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, generators, strict=True)])


class WordLSTMPipeline(Pipeline):
    build = staticmethod(build_lstm)
    shipped = ("lstm",)

    @classmethod
    def from_pretrained(cls, folder) -> "WordLSTMPipeline":
        pipeline = super().from_pretrained(folder)
        try:
            pipeline.vocab = data.Vocabulary.load(folder)
        except (FileNotFoundError, ValueError) as err:
            raise WeightsError(str(err)) from None
        if len(pipeline.vocab) != pipeline.cfg.model.vocab_size:
            raise WeightsError(f"{data.VOCAB_NAME} has {len(pipeline.vocab)} words but the weights "
                               f"expect {pipeline.cfg.model.vocab_size}")  # fmt: skip
        return pipeline

    def prompt_tokens(self, prompt: str) -> list[str]:
        if len(prompt or "") > MAX_PROMPT_CHARS:
            raise ValueError(f"the prompt may be at most {MAX_PROMPT_CHARS:,} characters long")
        tokens = data.tokenize_words(prompt or "")
        if not tokens:
            raise ValueError("the prompt is empty: type at least one word")
        return tokens

    @torch.no_grad()
    def stream(self, prompt: str, length: int = 50, temperature: float = 1.0, top_k: int = 0,
               top_p: float = 1.0, n: int = 1, seed: int = 0):  # fmt: skip
        """Yield the n texts (prompt + continuation) after every generated token.

        The prompt is fed once; after that only the newest token goes in, with the LSTM state
        carried over. (The book re-fed the whole growing prefix *and* carried the state, which
        makes every step slower and shows the model its context twice.) Unknown prompt words
        map to <unk>; <unk> itself is never sampled.
        """
        check_sampling(temperature, top_k, top_p)
        if not 1 <= n <= 16 or not 1 <= length <= 2000:
            raise ValueError("ask for 1-16 samples of 1-2000 tokens")
        words = self.prompt_tokens(prompt)
        generators = [torch.Generator().manual_seed(int(seed) + i) for i in range(n)]
        ids = torch.tensor([self.vocab.encode(words)] * n)
        logits, state = self.lstm(ids, last_only=True)
        outputs = [list(words) for _ in range(n)]
        for _ in range(length):
            last = logits[:, -1].float()
            last[:, 0] = -torch.inf  # never emit <unk>
            next_ids = sample_next(last, temperature, top_k, top_p, generators)
            for row, token in enumerate(self.vocab.decode(next_ids.tolist())):
                outputs[row].append(token)
            yield [data.detokenize_words(o) for o in outputs]
            logits, state = self.lstm(next_ids[:, None], state)

    def generate(self, prompt: str, length: int = 50, **settings) -> list[str]:
        texts = None
        for texts in self.stream(prompt, length, **settings):  # noqa: B007 (the last one is kept)
            pass
        return texts

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        texts = self.generate("anna", 40, n=min(n, 4), seed=seed, temperature=0.8, top_k=40)
        return text_image("\n\n".join(texts))


def text_image(text: str, width: int = 100) -> np.ndarray:
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .toy import figure_to_array

    lines = [w for para in text.split("\n") for w in (textwrap.wrap(para, width) or [""])]
    figure = plt.figure(figsize=(9, 0.25 * len(lines) + 0.5))
    figure.text(0.01, 0.98, "\n".join(lines), va="top", family="monospace", fontsize=9)
    return figure_to_array(figure)


# ---------------------------------------------------------------- translation


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
        """beam=1 is greedy decoding; beam>1 is beam search with that many hypotheses."""
        if not 1 <= beam <= 16:
            raise ValueError(f"beam size must be 1-16, got {beam}")
        return self.tokenizer.decode(self.translate_ids(text, beam))

    @torch.no_grad()
    def attention(self, text: str, layer: int, head: int | None, beam: int = 1):
        """Cross-attention of decoder `layer` (0-based), `head` (0-based, None = mean of heads)
        while producing the translation. Returns (weights (target x source), source tokens,
        target tokens, translation); row t is what the decoder looked at to emit target token t."""
        layers, heads = len(self.transformer.decoder), self.cfg.model.heads
        if not 0 <= layer < layers or (head is not None and not 0 <= head < heads):
            raise ValueError(f"layer must be 1-{layers} and head 1-{heads}")
        out_ids = self.translate_ids(text, beam)
        src = self.encode([text])
        tgt = torch.tensor([[2, *out_ids]])
        memory = self.transformer.encode(src)
        _, crosses = self.transformer.decode(tgt, memory, self.transformer.src_mask(src))
        weights = crosses[layer][0]
        weights = weights.mean(0) if head is None else weights[head]
        source = [token_label(self.tokenizer.id_to_token(i)) for i in src[0].tolist()]
        target = [token_label(self.tokenizer.id_to_token(i)) for i in [*out_ids, 3]]
        return weights.float().numpy(), source, target, self.tokenizer.decode(out_ids)

    def heatmap(self, text: str, layer: int, head: int | None, beam: int = 1) -> np.ndarray:
        weights, source, target, translation = self.attention(text, layer, head, beam)
        title = f"decoder layer {layer + 1}, " + ("mean of heads" if head is None else f"head {head + 1}")
        return attention_figure(weights, source, target, title)

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        return self.heatmap("Today is a beautiful day!", len(self.transformer.decoder) - 1, None)


def attention_figure(weights: np.ndarray, source: list[str], target: list[str], title: str) -> np.ndarray:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .toy import figure_to_array

    figure, axis = plt.subplots(figsize=(1.0 + 0.45 * len(source), 1.2 + 0.35 * len(target)))
    image = axis.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-6), aspect="auto")
    axis.set_xticks(range(len(source)), source, rotation=60, ha="right")
    axis.set_yticks(range(len(target)), target)
    axis.set(xlabel="English (source) tokens", ylabel="French (output) tokens", title=title)
    figure.colorbar(image, ax=axis, fraction=0.05)
    figure.tight_layout()
    return figure_to_array(figure)
