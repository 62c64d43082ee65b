"""Text data (data/text.py): the book's tokenisation, the vocabulary and length-bucketed batches."""

import json

from genai_core.data import text as data

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


# ---------------------------------------------------------------- LSTM


# ---------------------------------------------------------------- translator


