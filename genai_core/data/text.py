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
NAMES_NAME = "names.json"  # words the detokeniser capitalises (the novel's names)
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


# The apostrophe suffixes of the book's tokenisation ("don't" -> don ' t) and the stems each may follow.
T_STEMS = frozenset({"don", "doesn", "didn", "isn", "aren", "wasn", "weren", "haven", "hasn", "hadn",
                     "couldn", "wouldn", "shouldn", "mustn", "needn", "can", "won", "ain", "mightn", "shan",
                     "daren"})
CONTRACTIONS = {
    "t": T_STEMS,
    "m": frozenset({"i"}),
    "re": frozenset({"you", "we", "they", "who", "what", "there"}),
    "ve": frozenset({"i", "you", "we", "they", "who", "would", "could", "should", "might", "must"}),
    "ll": frozenset({"i", "you", "he", "she", "it", "we", "they", "that", "there", "who", "what"}),
    "d": frozenset({"i", "you", "he", "she", "it", "we", "they", "who", "that", "there"}),
}
# words that never take 's: verbs, articles, conjunctions, prepositions, possessives, most pronouns
NO_POSSESSIVE = frozenset({"was", "is", "are", "were", "be", "been", "am", "had", "has", "have", "do",
                           "does", "did", "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at",
                           "by", "for", "with", "from", "not", "as", "so", "than", "if", "very", "my", "your",
                           "his", "her", "their", "our", "its", "i", "you", "we", "they", "me", "him", "us",
                           "them", "s", *CONTRACTIONS, *T_STEMS})
NO_SPACE_BEFORE = frozenset(".,;:!?)]")
SENTENCE_END = frozenset(".!?")


def valid_suffix(stem: str, suffix: str) -> bool:
    """Whether stem ' suffix makes an English word: "don't", "Levin's" yes; "i're", "was's" no."""
    if suffix == "s":
        return stem.isalpha() and stem not in NO_POSSESSIVE
    return stem in CONTRACTIONS.get(suffix, ())


def is_word(token: str) -> bool:
    return token[:1].isalnum()


def detokenize_words(tokens: list[str], names=frozenset()) -> str:
    """The book's tokens back into text a reader expects: contractions and possessives joined (don't,
    Levin's, the Oblonskys'), hyphens and dashes joined (high-flown, even--as), no space before
    punctuation, quotes that open onto their first word and close onto their last (an empty pair is
    dropped), sentence starts and "I" capitalised, and every word of `names` (the novel's names, see
    capitalised_words) written as a name."""
    words: list[list] = []  # [text, glued to the word before]
    quote_open, sentence_start, skip = False, True, set()
    for index, token in enumerate(tokens):
        if index in skip:
            continue
        before = tokens[index - 1] if index else ""
        after = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token == "'" and words and is_word(before):
            if valid_suffix(before, after) or (before.endswith("s") and after not in CONTRACTIONS):
                words[-1][0] += "'"  # don' (its t follows); the oblonskys'
                if valid_suffix(before, after):
                    words[-1][0] += after
                    skip.add(index + 1)
                continue
        if token == '"':
            if not quote_open and after == '"':  # an empty quotation: nothing to show
                skip.add(index + 1)
                continue
            words.append([token, quote_open])  # a closing quote sticks to what it closes
            if quote_open and before in "!?":
                sentence_start = False  # "You don't say so!" he cried: the speech tag goes on
            quote_open = not quote_open
            continue
        text = token
        if is_word(token):
            if token == "i":
                text = "I"
            elif token in names:
                text = "-".join(part.capitalize() for part in token.split("-"))
            if sentence_start:
                text = text[:1].upper() + text[1:]
                sentence_start = False
        elif token in SENTENCE_END:
            sentence_start = True
        previous = words[-1] if words else None
        glue = token in NO_SPACE_BEFORE or token == "-"
        glue = glue or (previous is not None and previous[0] in ("(", "[", "-"))
        glue = glue or (previous is not None and previous[0] == '"' and not previous[1])  # an opening quote
        words.append([text, glue])
    out = ""
    for text, glue in words:
        out += text if glue or not out else " " + text
    return out


def capitalised_words(text: str, vocabulary, share: float = 0.9) -> list[str]:
    """Words of the vocabulary that the text writes capitalised, where a sentence does not start, at
    least `share` of the time (and at least twice): the novel's names, for the detokeniser."""
    text = normalise_newlines(text)
    counts: dict[str, list[int]] = {}
    for match in re.finditer(r"[A-Za-z]+", text):
        i = match.start() - 1
        while i >= 0 and text[i] in " \n\t\"'(":
            i -= 1
        if i < 0 or text[i] in ".!?:":
            continue  # a sentence start says nothing about the word
        word = match.group()
        tally = counts.setdefault(word.lower(), [0, 0])
        tally[0] += word[0].isupper()
        tally[1] += 1
    known = set(vocabulary)
    names = (w for w, (upper, seen) in counts.items() if seen >= 2 and upper >= share * seen and w in known)
    return sorted(names)


def banned_next(tokens: list[str]) -> set[str]:
    """Tokens that would make a glitch after these: an apostrophe suffix its stem cannot take (i're,
    was's), a second apostrophe, or a quote that closes an empty quotation."""
    last = tokens[-1] if tokens else ""
    if last == "'":
        stem = tokens[-2] if len(tokens) > 1 else ""
        return {"'", *(s for s in (*CONTRACTIONS, "s") if not valid_suffix(stem, s))}
    if last == '"' and tokens.count('"') % 2 == 1:
        return {'"'}
    return set()


def save_names(folder, names: list[str]) -> Path:
    path = Path(folder) / NAMES_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(sorted(names), ensure_ascii=False))
    return path


def load_names(folder) -> frozenset[str]:
    """The capitalised words shipped beside a vocabulary (none for weights that predate them)."""
    path = Path(folder) / NAMES_NAME
    return frozenset(json.loads(path.read_text())) if path.is_file() else frozenset()


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
