"""An autoregressive prior over a VQGAN's code grid (taming-transformers' second stage, small): a
GPT that reads the codes in raster order and predicts the next one, optionally conditioned on a CLIP
embedding (CLIP-GEN, Wang et al. 2022: the condition is added to the begin-of-grid token).

The text-to-image tab uses it to draw the picture that CLIP then steers: it knows which code grids
decode to scenes of the world, which the CLIP cosine alone does not (see weights/clip_shapes).
Trained with the condition dropped now and then, it is also an unconditional prior, and sampling
can use classifier-free guidance. nanoGPT layout: pre-norm blocks, learned positions, a key/value
cache for sampling one code at a time (allocated once for the whole grid).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class KVCache:
    """Every layer's keys and values for the whole grid, allocated once at the first call: sampling
    writes one position at a time. Concatenating a growing cache instead copied all of it at every
    step (its cost: weights/code_prior_shapes/card.md)."""

    def __init__(self, layers: int, length: int):
        self.length = length
        self.buffers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * layers

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor, start: int):
        """Store k, v (N, heads, T, head_dim) at positions start..start+T-1 -> the keys and values of
        positions 0..start+T-1."""
        if self.buffers[layer] is None:
            n, heads, _, head_dim = k.shape
            self.buffers[layer] = (k.new_empty(n, heads, self.length, head_dim),
                                   v.new_empty(n, heads, self.length, head_dim))
        keys, values = self.buffers[layer]
        end = start + k.shape[2]
        keys[:, :, start:end], values[:, :, start:end] = k, v
        return keys[:, :, :end], values[:, :, :end]


class CausalSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0, start: int = 0):
        """x (N, T, dim) at positions start..start+T-1 -> (N, T, dim). With a cache, its keys and values
        are stored there; after the first call x holds the next position only (T = 1), which may look
        at every earlier one."""
        n, t, dim = x.shape
        q, k, v = (y.view(n, t, self.heads, dim // self.heads).transpose(1, 2)
                   for y in self.qkv(x).split(dim, dim=2))
        if start and t != 1:
            raise ValueError("after the first call the cache takes one position at a time")
        if cache is not None:
            k, v = cache.update(layer, k, v, start)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=start == 0)
        return self.proj(y.transpose(1, 2).reshape(n, t, dim))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, cache=None, layer=0, start=0):
        x = x + self.attn(self.norm1(x), cache, layer, start)
        return x + self.mlp(self.norm2(x))


class CodePrior(nn.Module):
    def __init__(self, n_codes: int, length: int, dim: int = 128, layers: int = 4, heads: int = 4,
                 cond_dim: int = 0):
        super().__init__()
        self.n_codes, self.length, self.cond_dim = n_codes, length, cond_dim
        self.embed = nn.Embedding(n_codes + 1, dim)  # the last id starts every grid
        self.condition = nn.Linear(cond_dim, dim) if cond_dim else None
        self.position = nn.Parameter(torch.zeros(length, dim))
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_codes)
        self.apply(self._init)
        nn.init.normal_(self.position, std=0.02)

    @staticmethod
    def _init(module):
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def new_cache(self) -> KVCache:
        return KVCache(len(self.blocks), self.length)

    def _run(self, ids: torch.Tensor, start: int, cache: KVCache | None, cond: torch.Tensor | None = None):
        """ids (N, T) at positions start.. -> logits (N, T, n_codes); a cache (new_cache()) keeps the
        keys and values for the calls that continue from here."""
        x = self.embed(ids) + self.position[start : start + ids.shape[1]]
        if cond is not None:  # (N, cond_dim) on the begin-of-grid token; rows of NaN mean "none"
            if start != 0 or self.condition is None:
                raise ValueError("a condition goes with the first position of a conditional prior")
            given = ~cond.isnan().any(1, keepdim=True)
            x[:, 0] = x[:, 0] + self.condition(torch.nan_to_num(cond)) * given
        for layer, block in enumerate(self.blocks):
            x = block(x, cache, layer, start)
        return self.head(self.norm(x))

    def forward(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """codes (N, L) -> logits (N, L, n_codes): position i is predicted from the codes before it
        (and from cond, (N, cond_dim), where a row is not NaN)."""
        start = torch.full_like(codes[:, :1], self.n_codes)
        return self._run(torch.cat([start, codes[:, :-1]], 1), 0, None, cond)

    def nll(self, codes: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Mean negative log-likelihood per code (nats) of each grid: (N,)."""
        logits = self(codes, cond)
        return F.cross_entropy(logits.transpose(1, 2), codes, reduction="none").mean(1)

    @torch.no_grad()
    def generate(self, prefix: torch.Tensor, generator: torch.Generator, temperature: float = 1.0,
                 stop: int | None = None, cond: torch.Tensor | None = None, guidance: float = 1.0,
                 negative: torch.Tensor | None = None) -> torch.Tensor:
        """Continues each grid: prefix (N, P) codes (P may be 0) -> (N, stop) codes, sampled one at a
        time (stop: the whole grid by default). With cond (N, cond_dim) and guidance != 1, the
        logits are classifier-free guided: other + guidance * (conditional - other), where other
        is conditioned on `negative` (N, cond_dim; a negative prompt) or on nothing."""
        n, p = prefix.shape
        stop = self.length if stop is None else min(stop, self.length)
        if p >= stop:
            return prefix[:, :stop].clone()
        guided = cond is not None and guidance != 1.0
        ids = torch.cat([torch.full((n, 1), self.n_codes, dtype=torch.long, device=prefix.device), prefix], 1)
        if guided:  # one batch: conditional rows, then the same rows without a condition
            other = torch.full_like(cond, float("nan")) if negative is None else negative
            ids, cond = ids.repeat(2, 1), torch.cat([cond, other])
        cache = self.new_cache()
        logits = self._run(ids, 0, cache, cond)
        codes = [prefix]
        for position in range(p, stop):
            last = logits[:, -1]
            if guided:
                conditional, other = last.chunk(2)
                last = other + guidance * (conditional - other)
            probs = torch.softmax(last.float() / temperature, -1)
            code = draw(probs.cpu(), generator).to(prefix.device)
            codes.append(code)
            if position + 1 < stop:
                logits = self._run(code.repeat(2, 1) if guided else code, position + 1, cache)
        return torch.cat(codes, 1)


def draw(probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One index per row of probs (N, K), by the inverse of its cumulative sum at one uniform number
    per row. torch.multinomial draws K exponential numbers per row instead, which is much slower."""
    cumulative = probs.cumsum(-1)
    uniform = torch.rand(len(probs), 1, generator=generator, dtype=probs.dtype) * cumulative[:, -1:]
    return (cumulative <= uniform).sum(-1, keepdim=True).clamp(max=probs.shape[-1] - 1)


def build_code_prior(model_cfg) -> dict[str, nn.Module]:
    get = model_cfg.get
    prior = CodePrior(int(model_cfg.n_codes), int(model_cfg.length), int(get("dim", 128)),
                      int(get("layers", 4)), int(get("heads", 4)), int(get("cond_dim", 0)))
    return {"prior": prior}
