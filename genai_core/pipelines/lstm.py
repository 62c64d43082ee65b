"""Text from the word LSTM: streamed sampling with temperature, top-K and top-p. The vocabulary is
loaded from the weights folder, next to the weights."""

import numpy as np
import torch

from ..checkpoint import WeightsError
from ..data import text as data
from ..models.lstm import build_lstm
from ..plots import text_image
from .base import Pipeline

# ---------------------------------------------------------------- LSTM sampling

MAX_PROMPT_CHARS = 2000  # the model's context is a few sentences; a longer prompt is only cost


REPETITION_WINDOW = 32  # tokens looked back at by the repetition penalty


def check_sampling(temperature: float, top_k: int, top_p: float, repetition_penalty: float = 1.0) -> None:
    if not 1 <= repetition_penalty <= 3:
        raise ValueError(f"the repetition penalty must be from 1 (off) to 3, got {repetition_penalty}")
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
                               f"expect {pipeline.cfg.model.vocab_size}")
        pipeline.names = data.load_names(folder)
        return pipeline

    def text(self, tokens: list[str]) -> str:
        return data.detokenize_words(tokens, self.names)

    def _penalise(self, logits: torch.Tensor, outputs: list[list[str]], penalty: float) -> None:
        """Divide (or for negative logits, multiply) by `penalty` the logits of the words each row wrote
        in its last REPETITION_WINDOW tokens (punctuation is free to repeat): small language models
        otherwise loop on "handsome, handsome, handsome" (Keskar et al. 2019, CTRL)."""
        if penalty == 1:
            return
        for row, tokens in enumerate(outputs):
            seen = {self.vocab.index.get(t, 0) for t in tokens[-REPETITION_WINDOW:] if data.is_word(t)}
            ids = torch.tensor(sorted(seen - {0}), dtype=torch.long)
            if len(ids):
                chosen = logits[row, ids]
                logits[row, ids] = torch.where(chosen > 0, chosen / penalty, chosen * penalty)

    def _ban(self, logits: torch.Tensor, outputs: list[list[str]]) -> None:
        """Never <unk>; never a token that would make a glitch (data.banned_next: i're, an empty quote)."""
        logits[:, 0] = -torch.inf
        for row, tokens in enumerate(outputs):
            banned = [self.vocab.index[t] for t in data.banned_next(tokens) if t in self.vocab.index]
            logits[row, banned] = -torch.inf

    def prompt_tokens(self, prompt: str) -> list[str]:
        if len(prompt or "") > MAX_PROMPT_CHARS:
            raise ValueError(f"the prompt may be at most {MAX_PROMPT_CHARS:,} characters long")
        tokens = data.tokenize_words(prompt or "")
        if not tokens:
            raise ValueError("the prompt is empty: type at least one word")
        return tokens

    @torch.no_grad()
    def stream(self, prompt: str, length: int = 50, temperature: float = 1.0, top_k: int = 0,
               top_p: float = 1.0, n: int = 1, seed: int = 0, repetition_penalty: float = 1.0):
        """Yield the n texts (prompt + continuation) after every generated token.

        The prompt is fed once; after that only the newest token goes in, with the LSTM state
        carried over. (The book re-fed the whole growing prefix *and* carried the state, which
        makes every step slower and shows the model its context twice.) Unknown prompt words
        map to <unk>; <unk> itself is never sampled, nor a token that makes a glitch (i're).
        """
        check_sampling(temperature, top_k, top_p, repetition_penalty)
        if not 1 <= n <= 16 or not 1 <= length <= 2000:
            raise ValueError("ask for 1-16 samples of 1-2000 tokens")
        words = self.prompt_tokens(prompt)
        generators = [torch.Generator().manual_seed(int(seed) + i) for i in range(n)]
        ids = torch.tensor([self.vocab.encode(words)] * n)
        logits, state = self.lstm(ids, last_only=True)
        outputs = [list(words) for _ in range(n)]
        for _ in range(length):
            last = logits[:, -1].float()
            self._penalise(last, outputs, repetition_penalty)
            self._ban(last, outputs)
            next_ids = sample_next(last, temperature, top_k, top_p, generators)
            for row, token in enumerate(self.vocab.decode(next_ids.tolist())):
                outputs[row].append(token)
            yield [self.text(o) for o in outputs]
            logits, state = self.lstm(next_ids[:, None], state)

    def generate(self, prompt: str, length: int = 50, **settings) -> list[str]:
        texts = None
        for texts in self.stream(prompt, length, **settings):  # noqa: B007 (the last one is kept)
            pass
        return texts

    def sample_image(self, n: int, seed: int) -> np.ndarray:
        texts = self.generate("anna", 40, n=min(n, 4), seed=seed, temperature=0.8, top_k=40)
        return text_image("\n\n".join(texts))


# ---------------------------------------------------------------- translation


