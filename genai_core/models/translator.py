"""Encoder-decoder Transformer (book ch. 9, after 'The Annotated Transformer'), in plain PyTorch.

Attention is written out by hand rather than with nn.MultiheadAttention / SDPA so the weights
can be returned for the heatmap. Departures from the book, each for a reason:
- the feed-forward block has the ReLU the book's version lacks (without it, two linears collapse
  into one linear map);
- one BPE vocabulary for both languages, so the source embedding, target embedding and output
  projection share one matrix (saves 2/3 of the embedding weights; the 10 MB limit needs it).
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model {d_model} is not divisible by heads {heads}")
        self.heads, self.d_head = heads, d_model // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d_model, d_model) for _ in range(4))
        self.dropout = nn.Dropout(dropout)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, heads, T, d_head)."""
        return x.view(x.shape[0], -1, self.heads, self.d_head).transpose(1, 2)

    def forward(self, query, key, value, mask):
        """mask: bool, broadcastable to (B, heads, Tq, Tk), True where attention is allowed.
        Returns (output (B, Tq, d_model), weights (B, heads, Tq, Tk))."""
        batch = query.shape[0]
        q, k, v = self.split(self.q(query)), self.split(self.k(key)), self.split(self.v(value))
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_head)
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        weights = scores.softmax(dim=-1)
        out = (self.dropout(weights) @ v).transpose(1, 2).reshape(batch, -1, self.heads * self.d_head)
        return self.o(out), weights


class FeedForward(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(d_ff, d_model))

    def forward(self, x):
        return self.net(x)


class EncoderLayer(nn.Module):
    """Pre-norm residual blocks, as in the book's SublayerConnection."""

    def __init__(self, d_model, heads, d_ff, dropout):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        h = self.norm1(x)
        x = x + self.drop(self.attn(h, h, h, mask)[0])
        return x + self.drop(self.ff(self.norm2(x)))


class DecoderLayer(nn.Module):
    def __init__(self, d_model, heads, d_ff, dropout):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads, dropout)
        self.cross_attn = MultiHeadAttention(d_model, heads, dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(d_model) for _ in range(3))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, memory, src_mask, tgt_mask):
        h = self.norm1(x)
        x = x + self.drop(self.self_attn(h, h, h, tgt_mask)[0])
        attended, cross = self.cross_attn(self.norm2(x), memory, memory, src_mask)
        x = x + self.drop(attended)
        return x + self.drop(self.ff(self.norm3(x))), cross


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    position = torch.arange(length).unsqueeze(1)
    div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
    table = torch.zeros(length, d_model)
    table[:, 0::2] = torch.sin(position * div)
    table[:, 1::2] = torch.cos(position * div)
    return table


class Transformer(nn.Module):
    def __init__(self, vocab_size, d_model=256, heads=4, d_ff=512, encoder_layers=3, decoder_layers=3,
                 dropout=0.1, max_len=128, pad_id=0):
        super().__init__()
        self.d_model, self.pad_id = d_model, pad_id
        self.embed = nn.Embedding(vocab_size, d_model, padding_idx=pad_id)
        nn.init.normal_(self.embed.weight, std=d_model**-0.5)  # times sqrt(d) below: unit scale
        # not saved with the weights: the table is a function of max_len and d_model
        self.register_buffer("positions", sinusoidal_positions(max_len, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)
        sizes = (d_model, heads, d_ff, dropout)
        self.encoder = nn.ModuleList(EncoderLayer(*sizes) for _ in range(encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(*sizes) for _ in range(decoder_layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.out_bias = nn.Parameter(torch.zeros(vocab_size))

    def _embed(self, tokens):
        if tokens.shape[1] > self.positions.shape[0]:
            raise ValueError(f"sequence of {tokens.shape[1]} tokens is longer than max_len "
                             f"{self.positions.shape[0]}")
        x = self.embed(tokens) * math.sqrt(self.d_model) + self.positions[: tokens.shape[1]]
        return self.drop(x)

    def src_mask(self, src):
        return (src != self.pad_id)[:, None, None, :]  # (B, 1, 1, Ts)

    def encode(self, src):
        x, mask = self._embed(src), self.src_mask(src)
        for layer in self.encoder:
            x = layer(x, mask)
        return self.encoder_norm(x)

    def decode(self, tgt, memory, src_mask):
        """Returns (logits (B, Tt, V), [cross-attention (B, heads, Tt, Ts) per decoder layer])."""
        length = tgt.shape[1]
        causal = torch.ones(length, length, dtype=torch.bool, device=tgt.device).tril()
        tgt_mask = causal[None, None] & (tgt != self.pad_id)[:, None, None, :]
        x, crosses = self._embed(tgt), []
        for layer in self.decoder:
            x, cross = layer(x, memory, src_mask, tgt_mask)
            crosses.append(cross)
        logits = self.decoder_norm(x) @ self.embed.weight.t() + self.out_bias
        return logits, crosses

    def forward(self, src, tgt):
        return self.decode(tgt, self.encode(src), self.src_mask(src))[0]

    # -------------------------------------------------------- incremental decoding (key/value cache)
    def start_cache(self, memory: torch.Tensor) -> dict:
        """A decoding cache for memory (B, Ts, d): each decoder layer's cross-attention keys and values
        (computed once), and room for its self-attention keys and values, one position per step."""
        cross = []
        for layer in self.decoder:
            attention = layer.cross_attn
            cross.append((attention.split(attention.k(memory)), attention.split(attention.v(memory))))
        return {"cross": cross, "self": [None] * len(self.decoder), "keep": None, "length": 0}

    @staticmethod
    def reorder_cache(cache: dict, rows: torch.Tensor) -> dict:
        """The cache of the hypotheses `rows` (beam search keeps some and repeats others)."""
        pick = lambda t: t.index_select(0, rows)  # noqa: E731
        return {"cross": [(pick(k), pick(v)) for k, v in cache["cross"]],
                "self": [None if kv is None else (pick(kv[0]), pick(kv[1])) for kv in cache["self"]],
                "keep": pick(cache["keep"]), "length": cache["length"]}

    def decode_next(self, tokens: torch.Tensor, cache: dict, src_mask) -> torch.Tensor:
        """The logits (B, V) after one more target token per row (tokens (B,)), attending to every
        earlier position through the cache (which it extends): the same numbers decode() gives for the
        last position, without recomputing the prefix."""
        position = cache["length"]
        if position >= self.positions.shape[0]:
            raise ValueError(f"the translation reached max_len {self.positions.shape[0]} tokens")
        x = self.embed(tokens[:, None]) * math.sqrt(self.d_model) + self.positions[position]
        keep = (tokens != self.pad_id)[:, None]
        cache["keep"] = keep if cache["keep"] is None else torch.cat([cache["keep"], keep], 1)
        key_mask = cache["keep"][:, None, None, :]  # padded positions are never attended, as in decode
        for i, layer in enumerate(self.decoder):
            attention = layer.self_attn
            h = layer.norm1(x)
            k, v = attention.split(attention.k(h)), attention.split(attention.v(h))
            if cache["self"][i] is not None:
                k, v = torch.cat([cache["self"][i][0], k], 2), torch.cat([cache["self"][i][1], v], 2)
            cache["self"][i] = (k, v)
            x = x + layer.drop(attention.o(_attend(attention.split(attention.q(h)), k, v, key_mask)))
            cross = layer.cross_attn
            q = cross.split(cross.q(layer.norm2(x)))
            x = x + layer.drop(cross.o(_attend(q, *cache["cross"][i], src_mask)))
            x = x + layer.drop(layer.ff(layer.norm3(x)))
        cache["length"] = position + 1
        return (self.decoder_norm(x) @ self.embed.weight.t() + self.out_bias)[:, -1]


def _attend(q, k, v, mask) -> torch.Tensor:
    """Scaled dot-product attention of q (B, heads, 1, dh) over k, v (B, heads, T, dh); mask True where
    allowed. Returns (B, 1, heads * dh), as MultiHeadAttention does before its output projection."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    out = scores.softmax(dim=-1) @ v
    return out.transpose(1, 2).reshape(q.shape[0], -1, q.shape[1] * q.shape[-1])


def build_translator(model_cfg) -> dict:
    if model_cfg.get("vocab_size") is None:
        raise ValueError("model.vocab_size is unset: it comes from the tokenizer built at training")
    net = Transformer(
        vocab_size=int(model_cfg.vocab_size),
        d_model=model_cfg.d_model,
        heads=model_cfg.heads,
        d_ff=model_cfg.d_ff,
        encoder_layers=model_cfg.encoder_layers,
        decoder_layers=model_cfg.decoder_layers,
        dropout=model_cfg.dropout,
        max_len=model_cfg.max_len,
    )
    return {"transformer": net}


# ---------------------------------------------------------------- decoding


@torch.no_grad()
def greedy_decode(model: Transformer, src, bos: int, eos: int, max_new: int) -> list[list[int]]:
    """Batched greedy decoding with a key/value cache; each row stops at its own </s>. Returns ids
    without <s>/</s>."""
    memory, src_mask = model.encode(src), model.src_mask(src)
    cache = model.start_cache(memory)
    tokens = torch.full((src.shape[0],), bos, dtype=torch.long, device=src.device)
    done = torch.zeros(src.shape[0], dtype=torch.bool, device=src.device)
    out = []
    for _ in range(max_new):
        next_id = model.decode_next(tokens, cache, src_mask).argmax(-1)
        next_id = torch.where(done, torch.full_like(next_id, model.pad_id), next_id)
        out.append(next_id)
        done |= next_id == eos
        tokens = next_id
        if done.all():
            break
    rows = torch.stack(out, 1).tolist() if out else [[] for _ in range(src.shape[0])]
    return [_strip(row, eos, model.pad_id) for row in rows]


def _strip(ids: list[int], eos: int, pad: int) -> list[int]:
    if eos in ids:
        ids = ids[: ids.index(eos)]
    return [i for i in ids if i != pad]


@torch.no_grad()
def beam_search(model: Transformer, src, bos: int, eos: int, max_new: int, beam: int = 4,
                length_penalty: float = 0.6) -> list[int]:
    """Beam search for one sentence (src (1, Ts)) with a key/value cache. Finished hypotheses are ranked
    by log-probability / ((5 + length) / 6) ** length_penalty (GNMT), so short outputs do not win just
    for being short."""
    memory, src_mask = model.encode(src), model.src_mask(src)
    cache = model.start_cache(memory)
    prefixes = torch.full((1, 1), bos, dtype=torch.long, device=src.device)
    scores = torch.zeros(1, device=src.device)
    finished: list[tuple[float, list[int]]] = []
    norm = lambda length: ((5 + length) / 6) ** length_penalty
    for step in range(1, max_new + 1):
        count = prefixes.shape[0]
        logits = model.decode_next(prefixes[:, -1], cache, src_mask.expand(count, -1, -1, -1))
        candidates = (scores[:, None] + logits.log_softmax(-1)).flatten()
        top_scores, top_index = candidates.topk(min(2 * beam, candidates.numel()))
        vocab = logits.shape[-1]
        keep_row, keep_prefix, keep_score = [], [], []
        for score, index in zip(top_scores.tolist(), top_index.tolist(), strict=True):
            row, token = divmod(index, vocab)
            if token == eos:
                finished.append((score / norm(step), prefixes[row, 1:].tolist()))
            else:
                keep_row.append(row)
                keep_prefix.append(torch.cat([prefixes[row], prefixes.new_tensor([token])]))
                keep_score.append(score)
            if len(keep_prefix) == beam:
                break
        best_open = keep_score[0] / norm(step) if keep_score else -math.inf
        # stop once enough hypotheses ended and none still open can beat them
        if len(finished) >= beam and max(f[0] for f in finished) >= best_open:
            break
        if not keep_prefix:
            break
        prefixes, scores = torch.stack(keep_prefix), torch.tensor(keep_score, device=src.device)
        cache = Transformer.reorder_cache(cache, torch.tensor(keep_row, device=src.device))
    if not finished:  # ran out of length: take the best open hypothesis
        finished = [(float(s) / norm(max_new), p[1:].tolist()) for s, p in zip(scores, prefixes, strict=True)]
    return max(finished, key=lambda f: f[0])[1]
