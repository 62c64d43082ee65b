"""The Anna Karenina LSTM: a tiny run on a novel the test writes, sampling, and the tab."""

import gradio as gr
import numpy as np
import pytest
import torch

from demos import lstm as lstm_demo
from genai_core.checkpoint import WeightsError
from genai_core.data import text as data
from genai_core.pipelines.lstm import WordLSTMPipeline, filter_logits
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder


def _train(name, out, *overrides):
    spec = get(name)
    cfg = spec.config([*spec.tiny, f"out_dir={out}", *overrides])
    recorder = Recorder()
    assert Trainer(spec.task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    return recorder


@pytest.fixture(scope="module")
def lstm_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    novel = folder / "novel.txt"
    novel.write_bytes(data.synthetic_novel(chapters=6, sentences=30, seed=5).encode())
    out = folder / "lstm"
    recorder = _train("lstm_anna", out, "data.source=text", f"data.path={novel}")
    assert recorder.evals and all(np.isfinite(m["val_perplexity"]) for _, m in recorder.evals)
    return out


# ---------------------------------------------------------------- data


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(filter_logits(logits, top_k=2)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.7)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=1.0)).all()


# ---------------------------------------------------------------- LSTM


def test_lstm_generation_is_reproducible_and_streams(lstm_dir):
    lstm = WordLSTMPipeline.from_pretrained(lstm_dir)
    settings = dict(temperature=1.0, top_k=10, top_p=0.95, n=2)
    first = lstm.generate("Anna saw", 12, seed=7, **settings)
    assert first == lstm.generate("Anna saw", 12, seed=7, **settings)
    assert first[0] == lstm.generate("Anna saw", 12, seed=7, **{**settings, "n": 1})[0]
    assert first != lstm.generate("Anna saw", 12, seed=8, **settings)
    steps = list(lstm.stream("Anna saw", 5, n=1, seed=0))
    assert len(steps) == 5 and all(b[0].startswith(a[0][:8]) for a, b in zip(steps, steps[1:], strict=False))


def test_lstm_greedy_ignores_the_seed_and_unknown_words_work(lstm_dir):
    lstm = WordLSTMPipeline.from_pretrained(lstm_dir)
    greedy = lstm.generate("Zyxwv Qwerty!", 8, temperature=0, seed=1)
    assert greedy == lstm.generate("Zyxwv Qwerty!", 8, temperature=0, seed=99)
    assert greedy[0].startswith("Zyxwv qwerty!") and data.UNK not in greedy[0]


def test_lstm_pipeline_needs_its_vocabulary(lstm_dir, tmp_path):
    for name in ("model.safetensors", "config.yaml"):
        (tmp_path / name).write_bytes((lstm_dir / name).read_bytes())
    with pytest.raises(WeightsError, match="vocab.json"):
        WordLSTMPipeline.from_pretrained(tmp_path)


def test_lstm_tab_streams_and_rejects_bad_input(lstm_dir, monkeypatch):
    lstm = WordLSTMPipeline.from_pretrained(lstm_dir)
    monkeypatch.setattr(lstm_demo, "pipeline", lambda name: lstm)
    parts = list(lstm_demo.generate("Kitty", 6, 0.8, 20, 0.9, 1.2, 2, 3))
    text, rate = parts[-1]
    assert 2 <= len(parts) <= 6 and "2 tokens in" in parts[0][1]  # the first token shows at once
    assert "[sample 2]" in text and "12 tokens in" in rate and "tokens/s" in rate  # and the last
    cold, hot = list(lstm_demo.compare("Kitty", 4, 0.2, 2.0, 0, 1.0, 1.0, 3))[-1]
    assert cold.startswith("Kitty") and hot.startswith("Kitty")
    for bad in [("", 5, 1, 0, 1, 1, 1, 0), ("a", 0, 1, 0, 1, 1, 1, 0), ("a", 5, -1, 0, 1, 1, 1, 0),
                ("a", 5, 1, 0, 0, 1, 1, 0), ("a", 5, 1, 0, 1, 1, 9, 0), ("a", 5, 1, 0, 1, 1, 1, -3),
                (None, 5, 1, 0, 1, 1, 1, 0), ("a", "x", 1, 0, 1, 1, 1, 0), ("a", 5, 1, 0, 1, 0.5, 1, 0)]:
        with pytest.raises(gr.Error):
            list(lstm_demo.generate(*bad))


# ---------------------------------------------------------------- translator




def test_the_repetition_penalty_lowers_only_recent_words(lstm_dir):
    lstm = WordLSTMPipeline.from_pretrained(lstm_dir)
    logits = torch.ones(1, len(lstm.vocab)) * 2
    lstm._penalise(logits, [["anna", "saw", ".", "anna"]], 2.0)
    assert logits[0, lstm.vocab.index["anna"]] == 1 and logits[0, lstm.vocab.index["."]] == 2
    assert logits[0, lstm.vocab.index["levin"]] == 2
