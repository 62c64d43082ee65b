"""Labelled photos of real faces (../shared/data/SOURCES.md): LFW (12,555 photos of 5,435 people, 74
machine labels), Celeb1k (895 CelebAMask-HQ photos, CelebA's 40 human labels, hair masks) and the 200
photos of real_faces_128.tar that carry CelebA labels. Images are read in place from the tars.

Labels are 1 (yes), 0 (no) or -1 (unknown). LFW's labels come from attribute classifiers: a column is
1 where its classifier was among the most confident positives, so a 0 is not a "no". Each attribute
therefore names its positive columns and the columns that mean "no" (Eyeglasses vs No Eyewear, Male
vs Female); a photo in neither is unknown. For rare, visible attributes (hat, bald) a 0 counts as no.

Splits are fixed and person-disjoint: an LFW person's photos are all in one split, chosen from a hash
of the name; people with more than MAX_TEST_PHOTOS photos always train (one of them would otherwise
be most of a held-out set). Celeb1k uses its own train/val split, real_faces_128 its train_/test_
file names. "test" is the held-out split every card reports; "val" (LFW people only) is for
keep-best and tuning.
"""

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .archive import decode_square, read_images

LFW_TAR, LFW_TABLE = "lfw_faces_128.tar", "lfw_attributes.csv"
CELEB1K_TAR, CELEB1K_TABLE = "celeb1k_256.tar", "celeb1k_attributes.csv"
INTERFACE_TAR, INTERFACE_TABLE = "real_faces_128.tar", "real_faces_128_celeba_attributes.csv"
SPLITS = ("train", "val", "test")
TEST_SHARE, VAL_SHARE = 0.10, 0.05  # of LFW people
MAX_TEST_PHOTOS = 30
HAIR_COLOURS = ("blond", "black", "brown", "gray")

# attribute: (LFW yes columns, LFW no columns, CelebA yes columns, CelebA no columns); "*" as the no
# columns: every photo not labelled yes is a no. CelebA's Eyeglasses includes sunglasses, LFW's does not.
BINARY = {
    "eyeglasses": (("Eyeglasses",), ("No Eyewear",), ("Eyeglasses",), "*"),
    "sunglasses": (("Sunglasses",), ("No Eyewear", "Eyeglasses"), (), ()),
    "male": (("Male",), ("Female",), ("Male",), "*"),
    "smiling": (("Smiling",), ("Frowning",), ("Smiling",), "*"),
    "young": (("Youth", "Child"), ("Senior", "Middle Aged"), ("Young",), "*"),
    "beard": (("Goatee", "Mustache"), ("No Beard",), ("Goatee", "Mustache"), ("No_Beard",)),
    "hat": (("Wearing Hat",), "*", ("Wearing_Hat",), "*"),
    "bald": (("Bald",), "*", ("Bald",), "*"),
}
LFW_HAIR = ("Blond Hair", "Black Hair", "Brown Hair", "Gray Hair")
CELEBA_HAIR = ("Blond_Hair", "Black_Hair", "Brown_Hair", "Gray_Hair")
ATTRIBUTES = (*BINARY, "hair_colour")


@dataclass
class LabelledPhotos:
    images: torch.Tensor  # uint8 (N, 3, S, S)
    labels: dict[str, torch.Tensor]  # binary: float 1 / 0 / -1; hair_colour: long index or -1
    people: list[str] = field(default_factory=list)  # who is in each photo (LFW), else the file name
    sources: list[str] = field(default_factory=list)  # "lfw", "celeb1k" or "interface"
    files: list[str] = field(default_factory=list)  # path inside its archive

    def __len__(self) -> int:
        return len(self.images)

    def select(self, keep) -> "LabelledPhotos":
        keep = torch.as_tensor(keep, dtype=torch.bool)
        index = keep.nonzero().flatten().tolist()
        pick = lambda items: [items[i] for i in index]  # noqa: E731
        return LabelledPhotos(self.images[keep], {k: v[keep] for k, v in self.labels.items()},
                              pick(self.people), pick(self.sources), pick(self.files))

    @staticmethod
    def join(parts: list["LabelledPhotos"]) -> "LabelledPhotos":
        return LabelledPhotos(torch.cat([p.images for p in parts]),
                              {k: torch.cat([p.labels[k] for p in parts]) for k in ATTRIBUTES},
                              sum((p.people for p in parts), []), sum((p.sources for p in parts), []),
                              sum((p.files for p in parts), []))


def lfw_split(person: str, photos: int) -> str:
    """The fixed split of an LFW person (all of their photos go there)."""
    if photos > MAX_TEST_PHOTOS:
        return "train"
    bucket = int(hashlib.sha1(person.encode()).hexdigest()[:8], 16) / 16**8
    return "test" if bucket < TEST_SHARE else "val" if bucket < TEST_SHARE + VAL_SHARE else "train"


def _binary(row: dict, yes, no) -> float:
    if any(row.get(c) == "1" for c in yes):
        return 1.0
    if no == "*" or any(row.get(c) == "1" for c in no):
        return 0.0 if yes else -1.0
    return -1.0


def _hair(row: dict, columns) -> int:
    hits = [i for i, c in enumerate(columns) if row.get(c) == "1"]
    return hits[0] if len(hits) == 1 else -1


def _labels(rows: list[dict], celeba: bool) -> dict[str, torch.Tensor]:
    labels = {}
    for name, (lfw_yes, lfw_no, celeba_yes, celeba_no) in BINARY.items():
        yes, no = (celeba_yes, celeba_no) if celeba else (lfw_yes, lfw_no)
        labels[name] = torch.tensor([_binary(r, yes, no) for r in rows])
    hair = CELEBA_HAIR if celeba else LFW_HAIR
    labels["hair_colour"] = torch.tensor([_hair(r, hair) for r in rows], dtype=torch.long)
    for name in BINARY:
        labels[name] = labels[name].float()
    return labels


def _table(path: Path) -> list[dict]:
    if not path.is_file():
        raise FileNotFoundError(f"attribute table not found: {path.name} (see ../shared/data/SOURCES.md)")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _photos(tar: Path, rows: list[dict], size: int, people: list[str], source: str, celeba: bool):
    if not rows:
        return LabelledPhotos(torch.zeros(0, 3, size, size, dtype=torch.uint8), _labels([], celeba))
    wanted = {r["file"] for r in rows}
    found = {name: data for name, data in read_images(tar) if name in wanted}
    missing = sorted(wanted - set(found))
    if missing:
        example = Path(missing[0]).name
        raise ValueError(f"{tar.name} lacks {len(missing)} photos its table lists, e.g. {example}")
    images = torch.stack([decode_square(found[r["file"]], size) for r in rows])
    files = [r["file"] for r in rows]
    return LabelledPhotos(images, _labels(rows, celeba), people, [source] * len(rows), files)


def load_lfw(folder, size: int, split: str) -> LabelledPhotos:
    folder = Path(folder)
    rows = _table(folder / LFW_TABLE)
    count: dict[str, int] = {}
    for row in rows:
        count[row["person"]] = count.get(row["person"], 0) + 1
    rows = [r for r in rows if split == "all" or lfw_split(r["person"], count[r["person"]]) == split]
    for row in rows:
        row["file"] = f"lfw_faces_128/{row['file']}"
    return _photos(folder / LFW_TAR, rows, size, [r["person"] for r in rows], "lfw", celeba=False)


def load_celeb1k(folder, size: int, split: str) -> LabelledPhotos:
    """Celeb1k's train split trains; its val split is held out (test). It has no val of its own."""
    folder = Path(folder)
    wanted = {"train": "train", "test": "val"}.get(split)
    rows = [r for r in _table(folder / CELEB1K_TABLE) if split == "all" or r["split"] == wanted]
    return _photos(folder / CELEB1K_TAR, rows, size, [r["file"] for r in rows], "celeb1k", celeba=True)


def load_interface(folder, size: int, split: str) -> LabelledPhotos:
    """The 200 labelled photos of real_faces_128.tar: train_* trains, test_* is held out."""
    folder = Path(folder)
    prefix = {"train": "train_", "test": "test_"}.get(split)
    rows = [r for r in _table(folder / INTERFACE_TABLE)
            if split == "all" or (prefix and Path(r["file"]).name.startswith(prefix))]
    return _photos(folder / INTERFACE_TAR, rows, size, [r["file"] for r in rows], "interface", celeba=True)


LOADERS = {"lfw": load_lfw, "celeb1k": load_celeb1k, "interface": load_interface}


def load_labelled_photos(folder, sources, size: int, split: str) -> LabelledPhotos:
    """The photos of every source in `sources` ("lfw", "celeb1k", "interface") for split ("train",
    "val", "test" or "all"), joined; a source without photos in that split adds none."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or all, got {split!r}")
    unknown = [s for s in sources if s not in LOADERS]
    if unknown:
        raise ValueError(f"unknown face source {unknown[0]!r}; choose from {', '.join(LOADERS)}")
    parts = [LOADERS[s](folder, size, split) for s in sources]
    parts = [p for p in parts if len(p)]
    if not parts:
        raise ValueError(f"no photos of {', '.join(sources)} in the {split} split")
    return LabelledPhotos.join(parts)


# ---------------------------------------------------------------- groups for attribute arithmetic

# group: the labels its photos have (hair_colour by name)
GROUPS = {
    "man with glasses": {"eyeglasses": 1, "male": 1},
    "man without glasses": {"eyeglasses": 0, "male": 1},
    "woman with glasses": {"eyeglasses": 1, "male": 0},
    "woman without glasses": {"eyeglasses": 0, "male": 0},
    "smiling man": {"smiling": 1, "male": 1},
    "man not smiling": {"smiling": 0, "male": 1},
    "smiling woman": {"smiling": 1, "male": 0},
    "woman not smiling": {"smiling": 0, "male": 0},
    "blond man": {"hair_colour": "blond", "male": 1},
    "black-haired man": {"hair_colour": "black", "male": 1},
    "blond woman": {"hair_colour": "blond", "male": 0},
    "black-haired woman": {"hair_colour": "black", "male": 0},
}
# preset: (a, b, c, intended result): result = mean(a) - mean(b) + mean(c)
PRESETS = {
    "man with glasses - man without glasses + woman without glasses": (
        "man with glasses", "man without glasses", "woman without glasses", "woman with glasses"),
    "woman with glasses - woman without glasses + man without glasses": (
        "woman with glasses", "woman without glasses", "man without glasses", "man with glasses"),
    "man with glasses - woman with glasses + woman without glasses": (
        "man with glasses", "woman with glasses", "woman without glasses", "man without glasses"),
    "woman without glasses - man without glasses + man with glasses": (
        "woman without glasses", "man without glasses", "man with glasses", "woman with glasses"),
    "smiling woman - woman not smiling + man not smiling": (
        "smiling woman", "woman not smiling", "man not smiling", "smiling man"),
    "smiling man - man not smiling + woman not smiling": (
        "smiling man", "man not smiling", "woman not smiling", "smiling woman"),
    "blond woman - black-haired woman + black-haired man": (
        "blond woman", "black-haired woman", "black-haired man", "blond man"),
    "black-haired man - blond man + blond woman": (
        "black-haired man", "blond man", "blond woman", "black-haired woman"),
}


def group_members(labels: dict[str, torch.Tensor], group: str) -> torch.Tensor:
    """(N,) bool: the photos whose labels put them in group."""
    member = torch.ones(len(labels["male"]), dtype=torch.bool)
    for key, value in GROUPS[group].items():
        want = HAIR_COLOURS.index(value) if key == "hair_colour" else value
        member &= labels[key] == want
    return member


def verdict_matches(verdict: dict, group: str, hair_colours: tuple[str, ...]):
    """(N,) bool: the referee's verdict (FaceRefereePipeline.predict) reads every label of group."""
    ok = None
    for key, value in GROUPS[group].items():
        want = hair_colours.index(value) if key == "hair_colour" else value
        hit = verdict[key] == want
        ok = hit if ok is None else ok & hit
    return ok
