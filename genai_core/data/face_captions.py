"""The caption world of face photos: captions composed from a photo's labels in several phrasings, the
words a prompt may use, and the reading of a prompt back into the attributes it asks for.

Attributes (chosen for labels that are reliable and frequent enough, weights/clip_faces/card.md): sex
(man / woman), age (young / old: LFW's Youth or Child against Senior or Middle Aged, CelebA's Young),
glasses, sunglasses, smiling, beard (goatee or moustache) and hair colour (blond, black, brown,
gray). Hat and bald are left out: the referee reads them barely better than always saying no.

A caption names a random subset of the attributes a photo's labels know, so "a smiling woman" is
true of a smiling woman with glasses. A spec is {attribute: value}; a photo matches a spec when every
attribute the spec names is known for the photo and equal.
"""

import re

import numpy as np
import torch

HAIR = ("blond", "black", "brown", "gray")
ATTRIBUTES = ("male", "young", "eyeglasses", "sunglasses", "smiling", "beard", "hair_colour")
TEMPLATES = ("{}", "a photo of {}", "a portrait of {}", "a face of {}", "a picture of {}", "a close-up of {}")
SYNONYMS = {"grey": "gray", "blonde": "blond", "spectacles": "glasses", "eyeglasses": "glasses",
            "mustache": "moustache", "smile": "smiling", "smiles": "smiling", "men": "man", "women": "woman",
            "male": "man", "female": "woman", "older": "old", "elderly": "old", "dark": "black",
            "bearded": "beard", "haired": "hair", "glasses.": "glasses"}
WORDS = ("a", "an", "the", "photo", "portrait", "face", "picture", "close-up", "of", "man", "woman",
         "person", "someone", "young", "old", "smiling", "not", "serious", "with", "without", "and",
         "glasses", "sunglasses", "beard", "moustache", "no", "hair", "blond", "black", "brown", "gray",
         "who", "is", "wearing", "has", ",", "<unk>")


def known_labels(labels: dict[str, torch.Tensor]) -> list[dict]:
    """Photo labels (genai_core.data.real_faces: 1 / 0 / -1; hair_colour an index or -1) -> one spec per
    photo holding every attribute that is known."""
    n = len(labels["male"])
    specs = []
    for i in range(n):
        spec = {}
        for key in ATTRIBUTES:
            value = int(labels[key][i])
            if value >= 0:
                spec[key] = value
        specs.append(spec)
    return specs


def caption(spec: dict, rng: np.random.Generator, keep: float = 0.6) -> str:
    """A caption naming some of spec's attributes (each kept with probability `keep`, at least one)
    in a random phrasing."""
    chosen = {k: v for k, v in spec.items() if rng.random() < keep}
    if not chosen and spec:
        key = list(spec)[int(rng.integers(len(spec)))]
        chosen = {key: spec[key]}
    return phrase(chosen, rng)


def phrase(spec: dict, rng: np.random.Generator | None = None) -> str:
    """Every attribute of spec in words, in a random phrasing (no rng: the plainest one), e.g.
    'a photo of a smiling old man with glasses and a beard'."""
    plain = rng is None
    rng = rng or np.random.default_rng(0)
    before, withs, tail = [], [], []
    if spec.get("smiling") == 1:
        before.append("smiling")
    if "young" in spec:
        before.append("young" if spec["young"] else "old")
    if spec.get("smiling") == 0:
        if not plain and rng.random() < 0.5:
            before.insert(0, "serious")
        else:
            tail.append("not smiling")
    if spec.get("eyeglasses") == 1:
        withs.append("glasses")
    elif spec.get("eyeglasses") == 0:
        tail.append("without glasses")
    if spec.get("sunglasses") == 1:
        withs.append("sunglasses")
    if spec.get("beard") == 1:
        withs.append("a beard" if plain or rng.random() < 0.5 else "a moustache")
    elif spec.get("beard") == 0 and spec.get("male") == 1:
        tail.append("without a beard")
    if "hair_colour" in spec:
        withs.append(f"{HAIR[spec['hair_colour']]} hair")
    if not plain:
        rng.shuffle(withs)
        rng.shuffle(tail)
    noun = {1: "man", 0: "woman"}.get(spec.get("male"), "person")
    words = " ".join([*before, noun])
    text = ("an " if words[0] in "aeiou" else "a ") + words
    if withs:
        text += " with " + (withs[0] if len(withs) == 1 else ", ".join(withs[:-1]) + " and " + withs[-1])
    if tail:
        text += ", " + ", ".join(tail)
    template = TEMPLATES[0 if plain else int(rng.integers(len(TEMPLATES)))]
    return template.format(text)


def tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z\-]+|,", text.lower())
    return [SYNONYMS.get(w, w) for w in words]


def unknown_words(text: str) -> list[str]:
    return sorted({w for w in tokens(text) if w not in WORDS})


def parse_prompt(text: str) -> dict:
    """The attributes a prompt asks for, e.g. 'a smiling old man with glasses and a beard' ->
    {smiling: 1, young: 0, male: 1, eyeglasses: 1, beard: 1}. Words after "without" / "no" / "not"
    are negated up to the next "with" or ","."""
    spec, negate = {}, False
    for word in tokens(text):
        if word in ("without", "no", "not"):
            negate = True
            continue
        if word in ("with", ","):
            negate = False
        value = 0 if negate else 1
        if word == "man":
            spec["male"] = 1
        elif word == "woman":
            spec["male"] = 0
        elif word == "young":
            spec["young"] = 1
        elif word == "old":
            spec["young"] = 0
        elif word == "smiling":
            spec["smiling"] = value
        elif word == "serious":
            spec["smiling"] = 0
        elif word == "glasses":
            spec["eyeglasses"] = value
        elif word == "sunglasses":
            spec["sunglasses"] = value
        elif word in ("beard", "moustache"):
            spec["beard"] = value
        elif word in HAIR:
            spec["hair_colour"] = HAIR.index(word)
    return spec


def matches(photo: dict, spec: dict) -> bool:
    return all(photo.get(k) == v for k, v in spec.items())


def match_matrix(photos: list[dict], specs: list[dict]) -> torch.Tensor:
    """(N photos, M captions) float: 1 where the photo's known labels satisfy the caption's spec."""
    return torch.tensor([[float(matches(p, s)) for s in specs] for p in photos])


def flip_one(spec: dict, rng: np.random.Generator) -> dict | None:
    """A hard negative: the spec with one attribute changed (sex, age, glasses... flipped; hair colour
    moved to another colour), or None for an empty spec."""
    if not spec:
        return None
    key = list(spec)[int(rng.integers(len(spec)))]
    other = dict(spec)
    if key == "hair_colour":
        other[key] = int(rng.choice([h for h in range(len(HAIR)) if h != spec[key]]))
    else:
        other[key] = 1 - spec[key]
    return other


def held_out_prompts(n: int, seed: int) -> list[dict]:
    """n prompt specs of two or three attributes (sex always, then glasses, smiling, age, beard or hair
    colour), drawn from seed: the evaluation's prompts, never shown in tuning."""
    rng = np.random.default_rng(seed)
    specs = []
    for _ in range(n):
        spec = {"male": int(rng.integers(2))}
        extra = ["eyeglasses", "smiling", "young", "hair_colour"] + (["beard"] if spec["male"] else [])
        for key in rng.choice(extra, size=int(rng.integers(1, 3)), replace=False):
            choices = len(HAIR) if key == "hair_colour" else 2
            spec[str(key)] = int(rng.integers(choices))
        specs.append(spec)
    return specs
