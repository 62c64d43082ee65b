"""Text data (data/text.py): the book's tokenisation, the vocabulary and length-bucketed batches."""

import json

import pytest

from genai_core.data import text as data

# ---------------------------------------------------------------- data


def test_words_are_tokenised_the_books_way_without_carriage_returns():
    tokens = data.tokenize_words("Happy families are\r\nall alike; Stiva's!\r\n")
    assert tokens == ["happy", "families", "are", "all", "alike", ";", "stiva", "'", "s", "!"]
    assert data.detokenize_words(tokens, {"stiva"}) == "Happy families are all alike; Stiva's!"
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




# Sentences of Part Eight of Anna Karenina (held out from training; public domain), as Garnett wrote
# them: tokenised the book's way (lower case, punctuation split off) and detokenised, each comes back
# exactly. Between them they use every rule.
PART_EIGHT = [
    '"Didn\'t I offend him in some way?"',  # contraction, I, a quoted question
    "I've written to her, but you'll see her first.",  # 've, 'll, comma, sentence start
    "Sergey Ivanovitch's life had not been uneventful during this time.",  # names, possessive
    "Balls, concerts, dinners, matchboxes, ladies' dresses, beer, restaurants--everything testified to "
    "sympathy with the Slavonic peoples.",  # plural possessive, dash
    '"Oh, that would be impossible!" answered the princess.',  # a speech tag after an exclamation
    '"You too come to see them off?" she asked in French.',
    "Seeing a lady approaching with a collecting box, he beckoned her up and put in a five-rouble note.",
    "Levin strode along the highroad, absorbed not so much in his thoughts (he could not yet disentangle "
    "them) as in his spiritual condition, unlike anything he had experienced before.",  # brackets
    "I meant to ask you; I know him; please write a note about his case.",  # semicolons
    "He's here: there's only his mother seeing him off.",  # colon
]


@pytest.fixture(scope="module")
def novel_names():
    text = "Once Sergey Ivanovitch met Levin. The next day Levin saw Sergey Ivanovitch and French people."
    text += " They spoke French with Levin, Sergey Ivanovitch and the Slavonic peoples; Slavonic songs too."
    vocabulary = [data.UNK, *sorted(set(data.tokenize_words(text)))]
    return frozenset(data.capitalised_words(text, vocabulary))


def test_capitalised_words_are_the_names(novel_names):
    assert {"sergey", "ivanovitch", "levin", "french", "slavonic"} <= novel_names
    assert not {"once", "the", "they", "next"} & novel_names  # capitalised only at sentence starts


@pytest.mark.parametrize("sentence", PART_EIGHT)
def test_detokenising_gives_the_books_sentences_back(sentence, novel_names):
    names = novel_names  # "princess" is a title, not a name: lower case
    assert data.detokenize_words(data.tokenize_words(sentence), names) == sentence


def test_empty_quotes_vanish_and_glitches_are_never_sampled():
    assert data.detokenize_words(["he", "said", '"', '"', "the", "face", "."]) == "He said the face."
    assert data.banned_next(["i", "'"]) >= {"re", "s", "t", "'"} and "m" not in data.banned_next(["i", "'"])
    assert "s" in data.banned_next(["was", "'"]) and "t" not in data.banned_next(["don", "'"])
    assert "s" not in data.banned_next(["levin", "'"])
    assert data.banned_next(["he", "said", '"']) == {'"'} and data.banned_next(["ok", '"', "x", '"']) == set()
