"""The English->French Transformer: a tiny run on pairs the test writes, decoding, attention, the tab."""

import gradio as gr
import numpy as np
import pytest
import torch

from demos import translator as translator_demo
from genai_core.data import text as data
from genai_core.pipelines.translator import TranslatorPipeline
from genai_core.registry import get
from genai_core.train import Trainer
from genai_core.train.callbacks import Recorder
from genai_core.train.translator import noam_rate


def _train(name, out, *overrides):
    spec = get(name)
    cfg = spec.config([*spec.tiny, f"out_dir={out}", *overrides])
    recorder = Recorder()
    assert Trainer(spec.task_class(), cfg, callbacks=[recorder]).fit() == "finished"
    return recorder


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


def test_noam_rate_warms_up_then_decays():
    rates = [noam_rate(s, 256, 100, 1.0) for s in (1, 50, 100, 400)]
    assert rates[0] < rates[1] < rates[2] > rates[3]


# ---------------------------------------------------------------- LSTM


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
    greedy, beam, image, notes = translator_demo.translate("The dog is here.", 3, 1, "2", "beam search")
    assert isinstance(greedy, str) and isinstance(beam, str) and image.shape[2] == 3
    assert "tokens/s" in notes
    assert translator_demo.attention("The dog is here.", 3, 1, "mean", "greedy").ndim == 3
    bad_inputs = [
        ("", 3, 1, "1", "greedy"),
        ("x" * 1600, 3, 1, "1", "greedy"),
        (None, 3, 1, "1", "greedy"),
        ("Hi.", 3, 7, "1", "greedy"),
        ("Hi.", 3, 1, "9", "greedy"),
        ("Hi.", 99, 1, "1", "greedy"),
    ]
    for bad in bad_inputs:
        with pytest.raises(gr.Error):
            translator_demo.translate(*bad)


def test_the_cache_gives_what_decoding_the_whole_prefix_gives(translator_dir):
    """Greedy and beam search with the key/value cache choose the tokens decode() would choose when
    it re-reads the whole prefix at every step (the loop the cache replaced)."""
    from genai_core.models.translator import beam_search, greedy_decode

    model = TranslatorPipeline.from_pretrained(translator_dir)
    src = model.encode(["The dog is here.", "I see the red cat!"])
    net = model.transformer
    memory, mask = net.encode(src), net.src_mask(src)
    prefix = torch.full((2, 1), 2, dtype=torch.long)
    cache = net.start_cache(memory)
    for _ in range(6):
        full = net.decode(prefix, memory, mask)[0][:, -1]
        cached = net.decode_next(prefix[:, -1], cache, mask)
        assert torch.allclose(full, cached, atol=1e-4)
        prefix = torch.cat([prefix, full.argmax(-1, keepdim=True)], 1)
    assert greedy_decode(net, src[:1], 2, 3, model.max_len - 2)[0] == model.translate_ids("The dog is here.")
    assert isinstance(beam_search(net, src[:1], 2, 3, 20, beam=3), list)


def test_long_text_is_translated_sentence_by_sentence(translator_dir):
    from genai_core.pipelines.translator import split_sentences

    assert split_sentences("I see the cat. Where is it? It is here!  ") == ["I see the cat.", "Where is it?",
                                                                             "It is here!"]
    model = TranslatorPipeline.from_pretrained(translator_dir)
    result = model.translate_text("The dog is here. We have the book! " + "The cat is here. " * 12)
    assert len(result.sentences) == 12 and "only the first 12 of 14 sentences" in result.notes[0]
    assert result.text.startswith(model.translate("The dog is here."))
    words = " ".join(["red"] * 12) + "."
    assert any("longer than the 9 words" in note for note in model.translate_text(words).notes)
