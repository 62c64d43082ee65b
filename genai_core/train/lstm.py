"""Training the word LSTM on Anna Karenina (book ch. 8). The vocabulary is built from the training
split, written into the run folder (it ships with the weights) and reused on resume."""

from pathlib import Path

import torch
import torch.nn.functional as F

from ..config import project_path
from ..data import text as data
from ..metrics.text import perplexity
from ..models.lstm import build_lstm
from .task import EpochSampler, Task, decay_groups, warmup_cosine


class WordLSTMTask(Task):
    best_metric = "val_perplexity"
    higher_is_better = False

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        chapters = data.split_chapters(data.read_text(cfg.data.source, project_path(cfg.data.path)))
        held = cfg.data.val_chapters
        if len(chapters) <= held:
            raise ValueError(f"the text has {len(chapters)} chapters; need more than val_chapters={held}")
        train_text = "\n".join(chapters[:-held])
        train_tokens = data.tokenize_words(train_text)
        val_tokens = data.tokenize_words("\n".join(chapters[-held:]))
        self.vocab = self._vocabulary(train_tokens)
        if not (Path(cfg.out_dir) / data.NAMES_NAME).is_file():  # ships with the vocabulary
            data.save_names(cfg.out_dir, data.capitalised_words(train_text, self.vocab.words))
        cfg.model.vocab_size = len(self.vocab)
        self.train_ids = torch.tensor(self.vocab.encode(train_tokens))
        self.val_ids = torch.tensor(self.vocab.encode(val_tokens))
        self.seq_len = cfg.seq_len
        self.windows = (len(self.train_ids) - 1) // self.seq_len - 1  # one spare for the offset
        if self.windows < 1 or len(self.val_ids) <= self.seq_len:
            raise ValueError(f"text too short for seq_len={self.seq_len}")
        self.sampler = EpochSampler(self.windows, cfg.batch_size, cfg.seed)
        self.lstm = build_lstm(cfg.model)["lstm"].to(device)
        self.modules = {"lstm": self.lstm}
        weight_decay = float(cfg.weight_decay)
        self.optimizers = {"lstm": torch.optim.AdamW(decay_groups(self.lstm, weight_decay), lr=cfg.lr)}

    def _vocabulary(self, tokens):
        folder = Path(self.cfg.out_dir)
        if (folder / data.VOCAB_NAME).is_file():  # resume: the ids must not change
            return data.Vocabulary.load(folder)
        vocab = data.Vocabulary.build(tokens, self.cfg.model.max_vocab)
        vocab.save(folder)
        return vocab

    def steps_per_epoch(self):
        return len(self.sampler)

    def _batch(self, step):
        """Non-overlapping windows whose start shifts each epoch, so every epoch cuts the text at
        different places (the book's stride-1 windows repeat each token seq_len times)."""
        epoch = step // len(self.sampler)
        offset = int(torch.randint(self.seq_len, (1,), generator=torch.Generator().manual_seed(
            self.cfg.seed * 7919 + epoch)))
        starts = offset + self.sampler.indices(step) * self.seq_len
        rows = torch.stack([self.train_ids[s : s + self.seq_len + 1] for s in starts.tolist()])
        return rows[:, :-1].to(self.device), rows[:, 1:].to(self.device)

    def train_step(self, step):
        inputs, targets = self._batch(step)
        logits, _ = self.lstm(inputs)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        optimizer = self.optimizers["lstm"]
        if self.cfg.warmup is not None:  # warm-up, then cosine decay to lr_floor x lr
            rate = warmup_cosine(step, self.cfg.lr, int(self.cfg.warmup), self.total_steps(),
                                 float(self.cfg.lr_floor))
            for group in optimizer.param_groups:
                group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.lstm.parameters(), self.cfg.clip)
        optimizer.step()
        return {"loss": loss.item()}

    def evaluate(self):
        """Perplexity on the held-out last chapters: consecutive windows, state carried across
        them (the model reads the chapters as one stream, as it does when generating)."""
        ids = self.val_ids
        streams = min(16, len(ids) // (self.seq_len + 1))
        per_stream = (len(ids) - 1) // streams
        inputs = torch.stack([ids[i * per_stream : (i + 1) * per_stream] for i in range(streams)])
        targets = torch.stack([ids[i * per_stream + 1 : (i + 1) * per_stream + 1] for i in range(streams)])
        total, count, state = 0.0, 0, None
        for start in range(0, per_stream, self.seq_len):
            x = inputs[:, start : start + self.seq_len].to(self.device)
            y = targets[:, start : start + self.seq_len].to(self.device)
            logits, state = self.lstm(x, state)
            total += F.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="sum").item()
            count += y.numel()
        unk = float((ids == 0).float().mean())
        return {"val_loss": total / count, "val_perplexity": perplexity(total / count), "val_unk_rate": unk}
