"""Training the English->French Transformer (book ch. 9). The BPE tokenizer is trained on the training
split, written into the run folder (it ships with the weights) and reused on resume."""

from pathlib import Path

import torch
import torch.nn.functional as F

from ..checkpoint import atomic_write
from ..config import project_path
from ..data import text as data
from ..metrics.text import bleu_chrf, perplexity
from ..models.translator import build_translator, greedy_decode
from . import distributed
from .task import EpochSampler, Task


def noam_rate(step: int, d_model: int, warmup: int, factor: float) -> float:
    """The book's schedule: linear warm-up, then decay as 1/sqrt(step). step counts from 1."""
    return factor * d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


class TranslatorTask(Task):
    best_metric = "bleu"  # greedy BLEU on the validation split picks the shipped checkpoint

    def __init__(self, cfg, device):
        super().__init__(cfg, device)
        pairs = data.read_pairs(cfg.data.source, project_path(cfg.data.path))
        train, val, _test = data.split_pairs(
            pairs, cfg.data.test_size, cfg.data.val_size, cfg.data.split_seed
        )
        if not train or not val:
            raise ValueError(f"{len(pairs)} pairs are too few for the test/val sizes asked for")
        self.tokenizer = self._tokenizer([s for pair in train for s in pair])
        data.special_ids(self.tokenizer)
        cfg.model.vocab_size = self.tokenizer.get_vocab_size()
        max_len = cfg.model.max_len
        self.src = data.encode_sources(self.tokenizer, [en for en, _ in train], max_len)
        self.tgt = data.encode_targets(self.tokenizer, [fr for _, fr in train], max_len)
        lengths = [max(len(s), len(t)) for s, t in zip(self.src, self.tgt, strict=True)]
        self.batches = data.token_batches(lengths, cfg.max_tokens, cfg.seed)
        # a shuffled order of batches; under torchrun each process takes part of every batch
        self.sampler = EpochSampler(len(self.batches), 1, cfg.seed, shard=False)
        self.val = self._validation(val)
        self.transformer = build_translator(cfg.model)["transformer"].to(device)
        self.modules = {"transformer": self.transformer}
        # betas and eps as in the book (Vaswani et al.); lr is set every step by the Noam rule
        self.optimizers = {"transformer": torch.optim.Adam(self.transformer.parameters(), lr=0.0,
                                                           betas=(0.9, 0.98), eps=1e-9)}

    def _tokenizer(self, texts):
        folder = Path(self.cfg.out_dir)
        if (folder / data.TOKENIZER_NAME).is_file():  # resume: the ids must not change
            return data.load_tokenizer(folder)
        tokenizer = data.train_bpe(texts, self.cfg.tokenizer.vocab_size)
        atomic_write(folder / data.TOKENIZER_NAME, lambda tmp: tokenizer.save(tmp))
        return tokenizer

    def _validation(self, pairs):
        refs: dict[str, list[str]] = {}
        for en, fr in pairs:
            refs.setdefault(en, []).append(fr)
        sources = list(refs)[: self.cfg.eval.sentences]
        return {"sources": sources, "refs": [refs[s] for s in sources],
                "src": data.encode_sources(self.tokenizer, sources, self.cfg.model.max_len),
                "tgt": data.encode_targets(self.tokenizer, [refs[s][0] for s in sources],
                                           self.cfg.model.max_len)}

    def steps_per_epoch(self):
        return len(self.batches)

    def train_step(self, step):
        batch = self.batches[int(self.sampler.indices(step)[0])]
        index = distributed.share_uneven(batch)
        # the mean over the whole batch's target tokens, whichever share of them this process holds:
        # averaged over the processes, the gradients are those of one process training on the batch
        tokens = sum(len(self.tgt[i]) - 1 for i in batch) / distributed.world_size()
        loss = self._loss_sum(index) / tokens
        rate = noam_rate(step + 1, self.cfg.model.d_model, self.cfg.warmup, self.cfg.noam_factor)
        optimizer = self.optimizers["transformer"]
        for group in optimizer.param_groups:
            group["lr"] = rate
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.transformer.parameters(), 1.0)
        optimizer.step()
        return {"loss": loss.item(), "lr": rate, "sentences": float(len(batch))}

    def _loss_sum(self, index):
        if len(index) == 0:  # fewer sentences than processes: a zero that still reaches every gradient
            return sum(p.sum() for p in self.transformer.parameters()) * 0.0
        src = data.pad([self.src[i] for i in index]).to(self.device)
        tgt = data.pad([self.tgt[i] for i in index]).to(self.device)
        logits = self.transformer(src, tgt[:, :-1])
        return F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=0,
                               label_smoothing=self.cfg.label_smoothing, reduction="sum")

    def evaluate(self):
        """Validation NLL (no smoothing, first reference) and greedy BLEU/chrF (all references)."""
        total, count, hypotheses = 0.0, 0, []
        for start in range(0, len(self.val["src"]), 128):
            src = data.pad(self.val["src"][start : start + 128]).to(self.device)
            tgt = data.pad(self.val["tgt"][start : start + 128]).to(self.device)
            logits = self.transformer(src, tgt[:, :-1])
            total += F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=0,
                                     reduction="sum").item()
            count += int((tgt[:, 1:] != 0).sum())
            ids = greedy_decode(self.transformer, src, 2, 3, self.cfg.model.max_len - 2)
            hypotheses += self.tokenizer.decode_batch(ids)
        scores = bleu_chrf(hypotheses, self.val["refs"])
        return {"val_loss": total / count, "val_perplexity": perplexity(total / count), **scores}


