"""Text data: Anna Karenina words for the LSTM (book ch. 8) and English-French pairs (ch. 9).

Vocabularies and tokenizers are built from the training split only and saved as JSON next to
the weights (vocab.json, tokenizer.json), so a pipeline never needs the data or pickle.
Both models also have a synthetic source (a tiny grammar) for tests and `train --tiny`.
"""

import json
import random
import re
from collections import Counter
from pathlib import Path

import torch

UNK = "<unk>"
VOCAB_NAME = "vocab.json"  # LSTM word list, index = position
TOKENIZER_NAME = "tokenizer.json"  # translator BPE (tokenizers' own JSON format)
PAD, BOS, EOS = "<pad>", "<s>", "</s>"
SPECIALS = (PAD, UNK, BOS, EOS)  # ids 0..3 in the BPE vocabulary
CHAPTER_RE = re.compile(r"^Chapter \d+\s*$", re.MULTILINE)

# ---------------------------------------------------------------- words (LSTM)


def normalise_newlines(text: str) -> str:
    # The book replaces only "\n" by spaces; on this CRLF file every "\r" then became a token.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def tokenize_words(text: str) -> list[str]:
    """The book's tokenisation: lower case, every non-alphanumeric character is its own token."""
    text = normalise_newlines(text).lower()
    return re.findall(r"[^\W_]+|[^\w\s]|_", text)


def detokenize_words(tokens: list[str]) -> str:
    """Undo the spaces the tokeniser put around punctuation, for display only."""
    out, glue, quote_open = "", True, False
    for index, token in enumerate(tokens):
        after = tokens[index + 1] if index + 1 < len(tokens) else ""
        before = tokens[index - 1] if index else ""
        if token == '"':  # odd quotes open (stick to the next word), even ones close
            out += token if quote_open or glue else " " + token
            glue, quote_open = not quote_open, not quote_open
            continue
        if token == "'" and (after in _CONTRACTIONS or before.endswith("s")):
            out, glue = out + token, after in _CONTRACTIONS  # don't, levin's / the oblonskys' house
            continue
        out += token if glue or token in _NO_SPACE_BEFORE else " " + token
        glue = token in "(["
    return out


_NO_SPACE_BEFORE = set(".,;:!?)]")
_CONTRACTIONS = {"s", "t", "ll", "re", "ve", "d", "m"}


def split_chapters(text: str) -> list[str]:
    """Chapters of the novel (text after each 'Chapter N' heading); the whole text if none."""
    parts = CHAPTER_RE.split(normalise_newlines(text))
    chapters = [p for p in parts if p.strip()]
    return chapters or [text]


class Vocabulary:
    """Words by frequency; everything else maps to <unk> (index 0), so any prompt works."""

    def __init__(self, words: list[str]):
        if not words or words[0] != UNK:
            raise ValueError(f"a vocabulary starts with {UNK}")
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, tokens: list[str], max_size: int) -> "Vocabulary":
        counts = Counter(tokens)
        counts.pop(UNK, None)
        # ties broken alphabetically so the vocabulary never depends on dict order
        common = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: max_size - 1]
        return cls([UNK] + [w for w, _ in common])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.index.get(t, 0) for t in tokens]

    def decode(self, ids) -> list[str]:
        return [self.words[int(i)] for i in ids]

    def save(self, folder) -> Path:
        path = Path(folder) / VOCAB_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.words, ensure_ascii=False))
        return path

    @classmethod
    def load(cls, folder) -> "Vocabulary":
        path = Path(folder) / VOCAB_NAME
        if not path.is_file():
            raise FileNotFoundError(f"no {VOCAB_NAME} in {folder}")
        return cls(json.loads(path.read_text()))


def synthetic_novel(chapters: int = 12, sentences: int = 40, seed: int = 0) -> str:
    """A tiny 'novel' from a grammar, with CRLF line endings and chapter headings like the book."""
    rng = random.Random(seed)
    names = ["anna", "levin", "kitty", "vronsky", "stiva", "dolly"]
    verbs = ["saw", "loved", "asked", "followed", "remembered", "thanked"]
    places = ["in the garden", "at the station", "in moscow", "at the ball", "by the window"]
    lines = []
    for number in range(1, chapters + 1):
        lines += [f"Chapter {number}", "", ""]
        for _ in range(sentences):
            a, b = rng.sample(names, 2)
            end = rng.choice([".", ".", "!", "?"])
            lines.append(f"{a.title()} {rng.choice(verbs)} {b.title()} {rng.choice(places)}{end}")
        lines.append("")
    return "\r\n".join(lines)


def read_text(source: str, path) -> str:
    if source == "synthetic":
        return synthetic_novel()
    if source == "text":
        if path is None or not Path(path).is_file():
            raise FileNotFoundError(f"text file not found: {path}")
        return Path(path).read_text(encoding="utf-8", errors="replace")
    raise ValueError(f"unknown text source {source!r} (text or synthetic)")


# ---------------------------------------------------------------- sentence pairs (translator)

_NOUNS = [("cat", "chat"), ("dog", "chien"), ("book", "livre"), ("boy", "garçon"), ("train", "train"),
          ("bike", "vélo")]
_ADJS = [("red", "rouge"), ("black", "noir"), ("white", "blanc"), ("green", "vert")]
_PLACES = [("here", "ici"), ("in the house", "dans la maison"), ("on the table", "sur la table")]
_VERBS = [("I see", "Je vois"), ("You want", "Tu veux"), ("We have", "Nous avons")]


def synthetic_pairs(n: int = 400, seed: int = 0) -> list[tuple[str, str]]:
    """English-French pairs from a small grammar (masculine nouns, adjective after the noun)."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        (ne, nf), (ae, af) = rng.choice(_NOUNS), rng.choice(_ADJS)
        if rng.random() < 0.5:
            pe, pf = rng.choice(_PLACES)
            pairs.append((f"The {ae} {ne} is {pe}.", f"Le {nf} {af} est {pf}."))
        else:
            ve, vf = rng.choice(_VERBS)
            pairs.append((f"{ve} the {ae} {ne}!", f"{vf} le {nf} {af} !"))
    return pairs


def read_pairs(source: str, path) -> list[tuple[str, str]]:
    if source == "synthetic":
        return synthetic_pairs()
    if source != "tsv":
        raise ValueError(f"unknown pair source {source!r} (tsv or synthetic)")
    if path is None or not Path(path).is_file():
        raise FileNotFoundError(f"sentence-pair file not found: {path}")
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.rstrip("\r").split("\t")
        if len(parts) >= 2 and parts[0].strip() and parts[1].strip():
            pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def split_pairs(pairs, test: int, val: int, seed: int):
    """Split by English sentence, so a held-out sentence never appears in training with another
    of its French translations. Returns (train, val, test) lists of pairs."""
    by_source: dict[str, list] = {}
    for en, fr in pairs:
        by_source.setdefault(en, []).append((en, fr))
    sources = sorted(by_source)
    random.Random(seed).shuffle(sources)
    test_src, val_src, train_src = sources[:test], sources[test : test + val], sources[test + val :]
    pick = lambda keys: [p for k in keys for p in by_source[k]]
    return pick(train_src), pick(val_src), pick(test_src)


def train_bpe(texts, vocab_size: int):
    """A BPE tokenizer for both languages, keeping case and accents (NFC only).

    Metaspace turns spaces into '▁' so decoding is lossless; punctuation is split off so the
    attention heatmap shows 'day' and '!' as separate tokens.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=UNK))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation(behavior="isolated")]
    )
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), min_frequency=2,
                                  show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def load_tokenizer(folder):
    from tokenizers import Tokenizer

    path = Path(folder) / TOKENIZER_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no {TOKENIZER_NAME} in {folder}")
    return Tokenizer.from_file(str(path))


def token_batches(lengths: list[int], max_tokens: int, seed: int) -> list[torch.Tensor]:
    """Group examples of similar length so that padded size (count x longest) stays <= max_tokens.

    Ties in length are shuffled with `seed`, so batches differ between seeds but not between runs.
    """
    generator = torch.Generator().manual_seed(seed)
    jitter = torch.rand(len(lengths), generator=generator)
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], float(jitter[i])))
    batches, current, longest = [], [], 0
    for index in order:
        longest_if_added = max(longest, lengths[index])
        if current and longest_if_added * (len(current) + 1) > max_tokens:
            batches.append(torch.tensor(current))
            current, longest_if_added = [], lengths[index]
        current.append(index)
        longest = longest_if_added
    if current:
        batches.append(torch.tensor(current))
    return batches


def pad(sequences: list[list[int]], value: int = 0) -> torch.Tensor:
    out = torch.full((len(sequences), max(len(s) for s in sequences)), value, dtype=torch.long)
    for row, seq in enumerate(sequences):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def special_ids(tokenizer) -> dict[str, int]:
    ids = {name: tokenizer.token_to_id(name) for name in SPECIALS}
    if [ids[name] for name in SPECIALS] != [0, 1, 2, 3]:
        raise ValueError(f"tokenizer special tokens must be {SPECIALS} with ids 0-3, got {ids}")
    return {"pad": 0, "unk": 1, "bos": 2, "eos": 3}


def encode_sources(tokenizer, texts: list[str], max_len: int) -> list[list[int]]:
    """Source side: tokens then </s> (the encoder sees where the sentence ends)."""
    return [e.ids[: max_len - 1] + [3] for e in tokenizer.encode_batch(list(texts))]


def encode_targets(tokenizer, texts: list[str], max_len: int) -> list[list[int]]:
    """Target side: <s> tokens </s>; the decoder reads [:-1] and predicts [1:]."""
    return [[2] + e.ids[: max_len - 2] + [3] for e in tokenizer.encode_batch(list(texts))]
