"""Text models: the Anna Karenina LSTM and the English->French Transformer, on tiny configs and text
the tests write themselves (no shared data, no network)."""

import json

import gradio as gr
import numpy as np
import pytest
import torch

from demos import lstm as lstm_demo
from demos import translator as translator_demo
from genai_core.checkpoint import WeightsError
from genai_core.data import text as data
from genai_core.pipelines.text import TranslatorPipeline, WordLSTMPipeline, filter_logits
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder
from genai_core.train.text import noam_rate


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


@pytest.fixture(scope="module")
def translator_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pairs")
    tsv = folder / "pairs.tsv"
    tsv.write_text("\n".join(f"{en}\t{fr}" for en, fr in data.synthetic_pairs(300, seed=2)), encoding="utf-8")
    out = folder / "translator"
    recorder = _train("translator", out, "data.source=tsv", f"data.path={tsv}")
    assert {"bleu", "chrf", "val_loss"} <= set(recorder.evals[-1][1])
    return out


# ---------------------------------------------------------------- data


def test_words_are_tokenised_the_books_way_without_carriage_returns():
    tokens = data.tokenize_words("Happy families are\r\nall alike; Stiva's!\r\n")
    assert tokens == ["happy", "families", "are", "all", "alike", ";", "stiva", "'", "s", "!"]
    assert data.detokenize_words(tokens) == "happy families are all alike; stiva's!"
    assert len(data.split_chapters(data.synthetic_novel(chapters=3))) == 3


def test_vocabulary_maps_unknown_words_and_round_trips_as_json(tmp_path):
    vocab = data.Vocabulary.build("b a b c b a".split(), max_size=3)
    assert vocab.words == [data.UNK, "b", "a"] and vocab.encode(["a", "zebra"]) == [2, 0]
    vocab.save(tmp_path)
    assert json.loads((tmp_path / data.VOCAB_NAME).read_text())[0] == data.UNK
    assert data.Vocabulary.load(tmp_path).words == vocab.words


def test_token_batches_cover_every_example_within_the_budget():
    lengths = [3, 9, 4, 12, 5, 5, 7, 2, 11, 6]
    batches = data.token_batches(lengths, max_tokens=20, seed=0)
    assert sorted(int(i) for b in batches for i in b) == list(range(10))
    assert all(len(b) * max(lengths[i] for i in b) <= 20 for b in batches)


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert torch.isfinite(filter_logits(logits, top_k=2)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=0.7)).tolist() == [[True, True, False, False]]
    assert torch.isfinite(filter_logits(logits, top_p=1.0)).all()


def test_noam_rate_warms_up_then_decays():
    rates = [noam_rate(s, 256, 100, 1.0) for s in (1, 50, 100, 400)]
    assert rates[0] < rates[1] < rates[2] > rates[3]


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
    assert greedy[0].startswith("zyxwv qwerty!") and data.UNK not in greedy[0]


def test_lstm_pipeline_needs_its_vocabulary(lstm_dir, tmp_path):
    for name in ("model.safetensors", "config.yaml"):
        (tmp_path / name).write_bytes((lstm_dir / name).read_bytes())
    with pytest.raises(WeightsError, match="vocab.json"):
        WordLSTMPipeline.from_pretrained(tmp_path)


def test_lstm_tab_streams_and_rejects_bad_input(lstm_dir, monkeypatch):
    lstm = WordLSTMPipeline.from_pretrained(lstm_dir)
    monkeypatch.setattr(lstm_demo, "pipeline", lambda name: lstm)
    parts = list(lstm_demo.generate("Kitty", 6, 0.8, 20, 0.9, 2, 3))
    assert len(parts) == 6 and "[sample 2]" in parts[-1]
    cold, hot = list(lstm_demo.compare("Kitty", 4, 0.2, 2.0, 0, 1.0, 3))[-1]
    assert cold.startswith("kitty") and hot.startswith("kitty")
    for bad in [("", 5, 1, 0, 1, 1, 0), ("a", 0, 1, 0, 1, 1, 0), ("a", 5, -1, 0, 1, 1, 0),
                ("a", 5, 1, 0, 0, 1, 0), ("a", 5, 1, 0, 1, 9, 0), ("a", 5, 1, 0, 1, 1, -3),
                (None, 5, 1, 0, 1, 1, 0), ("a", "x", 1, 0, 1, 1, 0)]:  # fmt: skip
        with pytest.raises(gr.Error):
            list(lstm_demo.generate(*bad))


# ---------------------------------------------------------------- translator


def test_translator_greedy_and_beam_give_strings(translator_dir):
    model = TranslatorPipeline.from_pretrained(translator_dir)
    assert (translator_dir / data.TOKENIZER_NAME).is_file()
    greedy = model.translate("I see the red cat!")
    beam = model.translate("I see the red cat!", beam=3)
    assert isinstance(greedy, str) and isinstance(beam, str)
    assert model.translate("I see the red cat!") == greedy  # decoding is deterministic
    batch = model.translate_batch(["The dog is here.", "We have the book!"])
    assert batch[0] == model.translate("The dog is here.")  # padding does not change a translation


def test_attention_heatmap_has_one_row_per_output_token(translator_dir):
    model = TranslatorPipeline.from_pretrained(translator_dir)
    weights, source, target, translation = model.attention("The cat is here.", layer=0, head=1)
    assert weights.shape == (len(target), len(source))
    assert np.allclose(weights.sum(1), 1, atol=1e-4)
    assert target[-1] == data.EOS and source[-1] == data.EOS
    image = model.heatmap("The cat is here.", 0, None)
    assert image.ndim == 3 and image.shape[2] == 3
    with pytest.raises(ValueError):
        model.attention("The cat.", layer=5, head=0)


def test_translator_tab_and_its_bad_input(translator_dir, monkeypatch):
    model = TranslatorPipeline.from_pretrained(translator_dir)
    monkeypatch.setattr(translator_demo, "pipeline", lambda name: model)
    greedy, beam, image = translator_demo.translate("The dog is here.", 3, 1, "2", "beam search")
    assert isinstance(greedy, str) and isinstance(beam, str) and image.shape[2] == 3
    assert translator_demo.attention("The dog is here.", 3, 1, "mean", "greedy").ndim == 3
    bad_inputs = [
        ("", 3, 1, "1", "greedy"),
        ("x" * 400, 3, 1, "1", "greedy"),
        (None, 3, 1, "1", "greedy"),
        ("Hi.", 3, 7, "1", "greedy"),
        ("Hi.", 3, 1, "9", "greedy"),
        ("Hi.", 99, 1, "1", "greedy"),
    ]
    for bad in bad_inputs:
        with pytest.raises(gr.Error):
            translator_demo.translate(*bad)
