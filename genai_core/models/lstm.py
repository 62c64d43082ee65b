"""Word-level LSTM language model (book ch. 8): embedding 128 -> 3-layer LSTM -> vocabulary."""

from torch import nn


class WordLSTM(nn.Module):
    def __init__(self, vocab_size: int, embed_dim: int = 128, hidden: int = 256, layers: int = 3,
                 dropout: float = 0.2):  # fmt: skip
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, layers, batch_first=True, dropout=dropout)
        self.drop = nn.Dropout(dropout)  # the book drops out between layers only; also before fc
        self.fc = nn.Linear(hidden, vocab_size)

    def forward(self, tokens, state=None):
        """tokens (B, T) -> logits (B, T, V), state (h, c) to carry into the next call."""
        out, state = self.lstm(self.embed(tokens), state)
        return self.fc(self.drop(out)), state


def build_lstm(model_cfg) -> dict:
    if model_cfg.get("vocab_size") is None:
        raise ValueError("model.vocab_size is unset: it comes from the vocabulary built at training")
    net = WordLSTM(int(model_cfg.vocab_size), model_cfg.embed_dim, model_cfg.hidden, model_cfg.layers,
                   model_cfg.dropout)  # fmt: skip
    return {"lstm": net}
