"""Word-level LSTM language model (book ch. 8): embedding -> stacked LSTM -> vocabulary.

The book's layout is `tie_weights: false, proj_size: 0`: embedding 128 -> 3-layer LSTM 256 -> a linear
layer to the vocabulary. The shipped model departs from it the way the best small word-level models
do (Merity et al. 2017, "AWD-LSTM"; Press & Wolf 2017):
- weight tying: the output layer is the embedding matrix (transposed), which halves the weights
  and regularises; the LSTM's output is projected down to the embedding width for that (LSTMP,
  nn.LSTM's proj_size);
- dropout of whole words from the embedding, the same (locked) dropout mask at every time step on
  the LSTM's input and output, and DropConnect on the hidden-to-hidden weights (weight drop).
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call


def locked_dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """x (B, T, C): one dropout mask per sequence, shared by all its time steps."""
    if not training or p == 0:
        return x
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)
    return x * mask


def embedding_dropout(embed: nn.Embedding, tokens: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Drop whole words: a dropped word's vector is zero wherever it occurs in the batch."""
    weight = embed.weight
    if training and p > 0:
        keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)
        weight = weight * keep
    return F.embedding(tokens, weight, embed.padding_idx)


class WordLSTM(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden: int = 256, layers: int = 3,
                 dropout: float = 0.2, tie_weights: bool = False, proj_size: int = 0,
                 embed_dropout: float = 0.0, input_dropout: float = 0.0,
                 weight_dropout: float = 0.0):
        super().__init__()
        if tie_weights and (proj_size or hidden) != embed_dim:
            raise ValueError(f"tied weights need the LSTM output ({proj_size or hidden}) to equal "
                             f"embed_dim ({embed_dim}): set proj_size to {embed_dim}")
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, layers, batch_first=True, dropout=dropout, proj_size=proj_size)
        self.dropout, self.embed_dropout = dropout, embed_dropout
        self.input_dropout, self.weight_dropout = input_dropout, weight_dropout
        self.tie_weights = tie_weights
        if tie_weights:
            self.out_bias = nn.Parameter(torch.zeros(vocab_size))
        else:
            self.drop = nn.Dropout(dropout)  # the book drops out between layers only; also before fc
            self.fc = nn.Linear(proj_size or hidden, vocab_size)

    def _run_lstm(self, x, state):
        if not (self.training and self.weight_dropout > 0):
            return self.lstm(x, state)
        params = dict(self.lstm.named_parameters())
        for name in params:
            if name.startswith("weight_hh"):
                params[name] = F.dropout(params[name], self.weight_dropout, training=True)
        return functional_call(self.lstm, params, (x, state))

    def forward(self, tokens, state=None, last_only: bool = False):
        """tokens (B, T) -> logits (B, T, V), state (h, c) to carry into the next call. last_only:
        logits of the last position only (B, 1, V): reading a prompt needs no others."""
        if not self.tie_weights:
            out, state = self.lstm(self.embed(tokens), state)
            out = out[:, -1:] if last_only else out
            return self.fc(self.drop(out)), state
        x = embedding_dropout(self.embed, tokens, self.embed_dropout, self.training)
        x = locked_dropout(x, self.input_dropout, self.training)
        out, state = self._run_lstm(x, state)
        out = locked_dropout(out[:, -1:] if last_only else out, self.dropout, self.training)
        return out @ self.embed.weight.t() + self.out_bias, state


def build_lstm(model_cfg) -> dict:
    if model_cfg.get("vocab_size") is None:
        raise ValueError("model.vocab_size is unset: it comes from the vocabulary built at training")
    net = WordLSTM(int(model_cfg.vocab_size), model_cfg.embed_dim, model_cfg.hidden, model_cfg.layers,
                   model_cfg.dropout, model_cfg.tie_weights, model_cfg.proj_size, model_cfg.embed_dropout,
                   model_cfg.input_dropout, model_cfg.weight_dropout)
    return {"lstm": net}
