"""Labelled real photos (data/real_faces.py), on archives the tests draw: person-disjoint splits, what a
label of 1, 0 or -1 means, and clear messages for missing files. Never ../shared."""

import pytest
import torch

from genai_core.data.real_faces import (
    GROUPS,
    HAIR_COLOURS,
    LabelledPhotos,
    group_members,
    lfw_split,
    load_labelled_photos,
)


def test_splits_are_person_disjoint_and_cover_everyone(real_photo_folder):
    splits = {s: load_labelled_photos(real_photo_folder, ["lfw"], 32, s) for s in ("train", "val", "test")}
    people = {s: set(p.people) for s, p in splits.items()}
    assert not people["train"] & people["test"] and not people["train"] & people["val"]
    assert not people["val"] & people["test"]
    everyone = load_labelled_photos(real_photo_folder, ["lfw"], 32, "all")
    assert sum(len(p) for p in splits.values()) == len(everyone) == 96
    assert lfw_split("George_W_Bush", 524) == "train"  # one person may not be most of a held-out set


def test_labels_are_yes_no_or_unknown(real_photo_folder):
    photos = load_labelled_photos(real_photo_folder, ["lfw", "celeb1k", "interface"], 32, "all")
    assert photos.images.dtype == torch.uint8 and photos.images.shape[1:] == (3, 32, 32)
    for name, values in photos.labels.items():
        allowed = {-1, 0, 1, 2, 3} if name == "hair_colour" else {-1.0, 0.0, 1.0}
        assert set(values.unique().tolist()) <= allowed
    first_celeba = photos.sources.index("celeb1k")
    hair = photos.labels["hair_colour"]
    assert (hair[:first_celeba] == -1).any(), "an LFW photo without a hair column is unknown"
    assert (photos.labels["sunglasses"][first_celeba:] == -1).all(), "CelebA has no sunglasses label"
    assert (hair[first_celeba : first_celeba + 24] == HAIR_COLOURS.index("blond")).all()


def test_groups_select_by_labels(real_photo_folder):
    photos = load_labelled_photos(real_photo_folder, ["lfw"], 32, "all")
    for group in GROUPS:
        member = group_members(photos.labels, group)
        assert member.dtype == torch.bool and member.shape == (len(photos),)
    men, women = (group_members(photos.labels, f"{who} with glasses") for who in ("man", "woman"))
    both = men & women
    assert not both.any()


def test_select_keeps_labels_and_names_together(real_photo_folder):
    photos = load_labelled_photos(real_photo_folder, ["lfw"], 32, "all")
    part = photos.select(photos.labels["male"] == 1)
    assert isinstance(part, LabelledPhotos) and (part.labels["male"] == 1).all()
    assert len(part.people) == len(part.files) == len(part)


def test_missing_files_and_unknown_sources_are_clear(tmp_path, real_photo_folder):
    with pytest.raises(FileNotFoundError, match="lfw_attributes.csv"):
        load_labelled_photos(tmp_path, ["lfw"], 32, "train")
    with pytest.raises(ValueError, match="unknown face source 'celeba_full'"):
        load_labelled_photos(real_photo_folder, ["celeba_full"], 32, "train")
    with pytest.raises(ValueError, match="split must be"):
        load_labelled_photos(real_photo_folder, ["lfw"], 32, "holdout")
