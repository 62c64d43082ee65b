"""Labelled faces (data/faces.py): the procedural renderer and the real-data loaders, on tables the
test writes. Offline, never ../shared."""

import time
import zipfile

import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from genai_core.data.faces import (
    celeba_labels,
    load_labelled_faces,
    parse_celeba_attributes,
    render_batch,
    render_faces,
    sample_attributes,
)

# ---------------------------------------------------------------- renderer


def test_renderer_is_deterministic_and_in_range():
    a, attrs = render_batch(6, seed=3, size=32)
    b, _ = render_batch(6, seed=3, size=32)
    c, _ = render_batch(6, seed=4, size=32)
    assert a.shape == (6, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.min() >= -1 and a.max() <= 1
    assert render_batch(2, seed=3, size=128)[0].shape == (2, 3, 128, 128)
    assert set(attrs["hair_colour"].tolist()) <= {0.0, 1.0, 2.0, 3.0}


def test_labelled_attributes_are_balanced_and_independent():
    a = sample_attributes(8000, seed=0)
    glasses, male, hair = a["eyeglasses"], a["male"], a["hair_colour"].long()
    for g in (0, 1):
        for m in (0, 1):
            share = ((glasses == g) & (male == m)).float().mean().item()
            assert abs(share - 0.25) < 0.02, (g, m, share)
    counts = torch.bincount(hair, minlength=4).float() / len(hair)
    assert torch.all((counts - 0.25).abs() < 0.02)
    for colour in range(4):  # hair colour says nothing about glasses
        assert abs(glasses[hair == colour].mean().item() - 0.5) < 0.04
    # the continuous parameters really vary (no templates to memorise)
    for key in ("skin", "face_width", "smile", "roll", "light", "hair_length"):
        assert a[key].std() > 0.02 and len(torch.unique(a[key])) > 7000


def test_pinning_an_attribute_leaves_the_others_unchanged():
    free = sample_attributes(16, seed=5)
    pinned = sample_attributes(16, seed=5, eyeglasses=1, male=torch.zeros(16))
    assert torch.all(pinned["eyeglasses"] == 1) and torch.all(pinned["male"] == 0)
    assert torch.equal(free["skin"], pinned["skin"]) and torch.equal(
        free["frame_style"], pinned["frame_style"]
    )
    with pytest.raises(ValueError, match="unknown face attribute"):
        sample_attributes(2, seed=0, sunglasses=1)


def test_glasses_change_only_the_eye_band():
    a = sample_attributes(32, seed=7)
    off = render_faces({**a, "eyeglasses": torch.zeros(32)}, 64)
    on = render_faces({**a, "eyeglasses": torch.ones(32)}, 64)
    changed = (on - off).abs().amax(1) > 1e-6  # (N, H, W)
    rows = changed.any(2).float().mean(0)  # share of faces with a change in each row
    assert changed.flatten(1).any(1).all(), "every face must show its glasses"
    assert rows[:8].sum() == 0 and rows[44:].sum() == 0, "glasses must not touch hair top or mouth"


def test_render_speed_sanity():
    a = sample_attributes(256, seed=1)
    start = time.perf_counter()
    render_faces(a, 32)
    rate = 256 / (time.perf_counter() - start)
    # a free core renders a few thousand 32x32 faces per second; the bound leaves room for a busy CPU
    assert rate > 150, f"{rate:.0f} renders/s at 32x32"


# ---------------------------------------------------------------- real-data loaders

CELEBA = """3
5_o_Clock_Shadow Blond_Hair Black_Hair Brown_Hair Eyeglasses Male
000001.jpg -1  1 -1 -1 -1 -1
000002.jpg  1 -1 -1  1  1  1
000003.jpg -1 -1  1  1 -1  1
"""

def test_celeba_attribute_parser_reads_txt_and_zip(tmp_path):
    table = parse_celeba_attributes(CELEBA)
    assert table["000002.jpg"]["Eyeglasses"] == 1 and table["000001.jpg"]["Male"] == 0
    assert celeba_labels(table["000001.jpg"]) == (0.0, 0, 0.0)  # blond woman, no glasses
    assert celeba_labels(table["000002.jpg"]) == (1.0, 2, 1.0)  # brown-haired man with glasses
    assert celeba_labels(table["000003.jpg"])[1] == -1  # two hair colours: no label
    archive = tmp_path / "celeba_list_attr.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("list_attr_celeba.txt", CELEBA)
    assert parse_celeba_attributes(archive) == table
    with pytest.raises(ValueError, match="line 6 of the CelebA attribute table has 2 values") as err:
        parse_celeba_attributes(CELEBA + "000004.jpg 1 1\n")
    assert "000004" not in str(err.value)  # the file's content is never quoted


def _write_images(folder, names, colour):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.new("RGB", (40, 30), colour).save(folder / name)


def test_celeba_and_glasses_folder_sources(tmp_path):
    celeba = tmp_path / "celeba"
    _write_images(celeba / "img_align_celeba", ["000001.jpg", "000002.jpg", "000003.jpg"], (200, 10, 10))
    (celeba / "list_attr_celeba.txt").write_text(CELEBA)
    data = OmegaConf.create({"source": "celeba", "path": str(celeba), "attributes": None, "holdout": 1})
    images, labels = load_labelled_faces(data, 16, "train", 0)
    assert images.shape == (2, 3, 16, 16) and images.dtype == torch.uint8
    assert labels["eyeglasses"].tolist() == [0.0, 1.0]
    kaggle = tmp_path / "kaggle"
    _write_images(kaggle / "glasses", ["a.png", "c.png"], (0, 0, 0))
    _write_images(kaggle / "no_glasses", ["b.png", "d.png"], (255, 255, 255))
    data = OmegaConf.create({"source": "folders", "path": str(kaggle), "holdout": 1})
    images, labels = load_labelled_faces(data, 8, "train", 0)
    assert labels["eyeglasses"].tolist() == [1.0, 0.0, 1.0]  # a, b, c (sorted by name)
    assert images[0].max() == 0 and images[1].min() == 255
    with pytest.raises(FileNotFoundError):
        load_labelled_faces(
            OmegaConf.create({"source": "folders", "path": str(celeba), "holdout": 1}), 8, "train", 0
        )


# ---------------------------------------------------------------- models and tiny training


# ---------------------------------------------------------------- the tab, on the shipped weights


