"""The shapes world (renderer, captions, parser, checker) and the small CLIP trained on it."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from genai_core.data import shapes
from genai_core.data.shapes import hard_negatives
from genai_core.models.clip import UNK, build_clip
from genai_core.pipelines.clip import HFCLIPPipeline, TinyCLIPPipeline
from genai_core.registry import get
from genai_core.train import Trainer

TINY = get("clip_shapes").tiny


@pytest.fixture(scope="module")
def world():
    scenes = shapes.sample_scenes(120, seed=11)
    return scenes, shapes.render_scenes(scenes)


def test_renderer_is_deterministic_and_in_range(world):
    scenes, images = world
    assert images.shape == (120, 3, 64, 64) and images.dtype == torch.float32
    assert images.min() >= -1 and images.max() <= 1
    again = shapes.render_scenes(shapes.sample_scenes(120, seed=11))
    assert torch.equal(images, again)
    assert not torch.equal(images[:8], shapes.render_scenes(shapes.sample_scenes(8, seed=12)))
    assert shapes.render_scenes(scenes[:2], size=32).shape == (2, 3, 32, 32)
    for scene in scenes:  # every colour in a scene differs, so every object is visible
        colours = [scene["background"]] + [o["colour"] for o in scene["objects"]]
        assert len(set(colours)) == len(colours)


def test_captions_parse_back_to_their_scene_in_any_phrasing(world):
    scenes, _ = world
    rng = np.random.default_rng(0)
    for scene in scenes:
        spec = shapes.scene_spec(scene)
        assert shapes.parse_prompt(shapes.caption(scene)) == spec
        variant = shapes.parse_prompt(shapes.caption(scene, rng=rng))  # may mirror or drop the background
        assert (
            variant is not None
            and shapes.scene_key({**variant, "background": None})[1:] == (shapes.scene_key(spec)[1:])
        )
    spec = shapes.parse_prompt("  A Red   CIRCLE, to the left of the Blue square ON yellow background. ")
    objects = [{"colour": "red", "shape": "circle"}, {"colour": "blue", "shape": "square"}]
    assert spec == {"background": "yellow", "relation": "left of", "objects": objects}
    assert shapes.parse_prompt("red circle on yellow background")["objects"] == [
        {"colour": "red", "shape": "circle"}
    ]
    assert shapes.parse_prompt("red circle under blue square")["relation"] == "below"
    assert shapes.parse_prompt("red circle on top of a blue square")["relation"] == "above"
    assert shapes.parse_prompt("red circle")["background"] is None
    outside_world = ["", "red", "red circle above", "a red circle above a red square", "circle red",
                     "a red circle on a red background", "a red cat",
                     "a red circle above a blue square above a green one"]
    for outside in outside_world:
        assert shapes.parse_prompt(outside) is None, outside
        assert shapes.prompt_problem(outside)


def test_unknown_words_are_reported_and_become_unk():
    assert shapes.unknown_words("a Red cat next to a dog, a cat") == ["cat", "next", "dog"]
    assert "cat" in shapes.prompt_problem("a red cat")
    assert shapes.unknown_words("a red circle beneath a blue square") == []
    cfg = get("clip_shapes").config(list(TINY))
    clip = build_clip(cfg.model)["clip"]
    ids = clip.tokenize(["a red cat", "a red circle"])
    assert ids.shape == (2, clip.context) and (ids[0] == UNK).sum() == 1 and (ids[1] == UNK).sum() == 0
    assert TinyCLIPPipeline(cfg, {"clip": clip}).unknown_words("a red cat") == ["cat"]


def test_checker_passes_renders_and_rejects_mismatches(world):
    scenes, images = world
    rng = np.random.default_rng(1)
    rejected = total = 0
    for scene, image in zip(scenes, images, strict=True):
        result = shapes.check_image(image, shapes.caption(scene))
        assert result["all"], (shapes.caption(scene), result)
        for negative in hard_negatives(shapes.scene_spec(scene), rng).values():
            rejected += not shapes.check_image(image, negative)["all"]
            total += 1
    assert rejected == total
    # a blurry, noisy, upscaled picture still reads (generated images are never this clean)
    soft = torch.nn.functional.interpolate(
        torch.nn.functional.avg_pool2d(images[:20], 2), size=128, mode="bilinear"
    )
    soft = soft + 0.05 * torch.randn(soft.shape, generator=torch.Generator().manual_seed(0))
    assert (
        np.mean([shapes.check_image(x, shapes.caption(s))["all"] for x, s in zip(soft, scenes, strict=False)])
        > 0.9
    )
    keys = shapes.check_image(images[0], "red circle above blue square")
    assert set(keys) == {"object1", "object2", "relation", "all"}
    with pytest.raises(ValueError, match="Unknown word"):
        shapes.check_image(images[0], "a red cat")


def test_tiny_clip_shapes_and_image_gradients():
    cfg = get("clip_shapes").config(list(TINY))
    clip = build_clip(cfg.model)["clip"].eval()
    pipeline = TinyCLIPPipeline(cfg, {"clip": clip})
    assert pipeline.input_size == 64
    x = torch.zeros(3, 3, 96, 96, requires_grad=True)  # any size: resized inside
    emb = pipeline.embed_images(x)
    assert emb.shape == (3, 16) and torch.allclose(emb.norm(dim=-1), torch.ones(3), atol=1e-5)
    emb.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # the optimiser steers pixels through this
    texts = pipeline.embed_texts(["a red circle above a blue square", "a blue square above a red circle"])
    assert texts.shape == (2, 16) and not torch.allclose(texts[0], texts[1])  # word order is seen
    assert clip(torch.zeros(2, 3, 64, 64), clip.tokenize(["a", "b", "c"])).shape == (2, 3)


def test_tiny_training_run_exports_weights(tmp_path):
    cfg = get("clip_shapes").config([*TINY, f"out_dir={tmp_path}"])
    assert Trainer(get("clip_shapes").task_class(), cfg).fit() == "finished"
    pipeline = TinyCLIPPipeline.from_pretrained(tmp_path)
    assert list(pipeline.clip.vocab[3:]) == list(shapes.WORDS)  # the vocabulary travels with the weights


SHIPPED = get("clip_shapes").weights_dir


@pytest.mark.skipif(not (SHIPPED / "model.safetensors").is_file(), reason="clip_shapes weights not shipped")
def test_shipped_clip_retrieves_fresh_scenes_well_above_chance():
    pipeline = TinyCLIPPipeline.from_pretrained(SHIPPED)
    scenes = shapes.sample_scenes(20, seed=424242)
    with torch.no_grad():
        sims = (
            pipeline.embed_images(shapes.render_scenes(scenes))
            @ pipeline.embed_texts([shapes.caption(s) for s in scenes]).T
        )
    accuracy = (sims.argmax(1) == torch.arange(20)).float().mean().item()
    assert accuracy >= 0.6, accuracy  # chance is 0.05


HF_PATH = os.environ.get("GENAI_HF_CLIP")  # a local folder holding e.g. openai/clip-vit-base-patch32


@pytest.mark.skipif(
    not HF_PATH or not Path(HF_PATH).is_dir(), reason="set GENAI_HF_CLIP to a local CLIP folder"
)
def test_hf_clip_on_a_local_checkpoint():
    pytest.importorskip("transformers")
    pipeline = HFCLIPPipeline.from_pretrained(HF_PATH, local_files_only=True)
    images = shapes.render_scenes(shapes.sample_scenes(2, seed=0))
    assert pipeline.embed_images(images).shape[0] == 2 and pipeline.input_size == 224
    assert pipeline.embed_texts(["a red circle"]).shape[0] == 1 and pipeline.unknown_words("anything") == []


def test_hf_clip_without_transformers_is_a_clear_error(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_transformers(name, *args, **kwargs):
        if name == "transformers":
            raise ImportError("no transformers")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_transformers)
    with pytest.raises(ImportError, match="pip install transformers"):
        HFCLIPPipeline.from_pretrained("openai/clip-vit-base-patch32")


def test_binding_negatives_are_false_and_the_loss_ignores_their_empty_columns():
    from genai_core.data.shapes import binding_negatives, match_matrix
    from genai_core.train.clip import soft_clip_loss

    rng = np.random.default_rng(0)
    scenes = shapes.sample_scenes(60, seed=3)
    specs = [shapes.scene_spec(s) for s in scenes]
    for scene, spec in zip(scenes, specs, strict=True):
        negatives = binding_negatives([spec], rng, 2)
        assert len(negatives) == (2 if scene["relation"] else 0)
        assert match_matrix([scene], negatives).sum() == 0  # each is false of its own scene
    negatives = binding_negatives(specs, rng, 2)
    targets = match_matrix(scenes, [*specs, *negatives])
    assert (targets.sum(0) == 0).any()  # columns no image in the batch matches
    logits = torch.randn(len(scenes), len(specs) + len(negatives), requires_grad=True)
    loss = soft_clip_loss(logits, targets)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()


def test_clutter_is_seeded_in_range_and_never_a_scene_of_the_world():
    images = shapes.render_clutter(12, np.random.default_rng(5))
    again = shapes.render_clutter(12, np.random.default_rng(5))
    assert images.shape == (12, 3, 64, 64) and torch.equal(images, again)
    assert images.min() >= -1 and images.max() <= 1
    # blobs of several discs over a scene: the checker finds more than the two objects a caption can name
    counts = [len(shapes.read_blobs(image)[1]) for image in images]
    assert np.mean([c > 2 for c in counts]) > 0.5, counts


# ---------------------------------------------------------------- the faces world (issue 21)

def test_face_captions_parse_back_to_what_they_name():
    from genai_core.data import face_captions as fc

    rng = np.random.default_rng(3)
    spec = {"male": 1, "young": 0, "smiling": 1, "eyeglasses": 1, "beard": 1, "hair_colour": 3}
    assert fc.phrase(spec) == "a smiling old man with glasses, a beard and gray hair"
    assert fc.parse_prompt(fc.phrase(spec)) == spec
    for _ in range(50):  # any phrasing names a true subset of the photo's labels
        text = fc.caption(spec, rng)
        named = fc.parse_prompt(text)
        assert named and all(spec[k] == v for k, v in named.items()), text
    woman = {"male": 0, "eyeglasses": 0, "smiling": 0, "hair_colour": 0}
    assert fc.parse_prompt(fc.phrase(woman, rng)) == woman  # negations survive any phrasing
    assert fc.parse_prompt("A smiling elderly woman with spectacles and blonde hair") == {
        "smiling": 1, "young": 0, "male": 0, "eyeglasses": 1, "hair_colour": 0}
    assert fc.unknown_words("a man with a purple hat") == ["hat", "purple"]


def test_face_caption_targets_and_hard_negatives():
    from genai_core.data import face_captions as fc

    rng = np.random.default_rng(0)
    photos = [{"male": 1, "eyeglasses": 1}, {"male": 0, "eyeglasses": 1}, {"eyeglasses": 0}]
    specs = [{"eyeglasses": 1}, {"male": 1}, {"male": 0, "eyeglasses": 0}]
    assert fc.match_matrix(photos, specs).tolist() == [[1, 1, 0], [1, 0, 0], [0, 0, 0]]  # unknown is no match
    for _ in range(20):
        flipped = fc.flip_one(photos[0], rng)
        assert sum(flipped[k] != photos[0][k] for k in photos[0]) == 1 and not fc.matches(photos[0], flipped)
    prompts = fc.held_out_prompts(200, 5)
    assert prompts == fc.held_out_prompts(200, 5) and all(2 <= len(p) <= 3 and "male" in p for p in prompts)


def test_face_clip_tokenizes_its_own_words():
    clip = build_clip({"world": "faces", "image_size": 32, "channels": [8, 8], "dim": 8, "text_width": 8,
                       "text_layers": 1, "heads": 2, "context": 24})["clip"]
    assert clip.unknown_words("a smiling man with grey hair, not smiling") == []
    assert clip.unknown_words("a man on a horse") == ["on", "horse"]
    ids = clip.tokenize(["a man with glasses, not smiling"])
    assert (ids == UNK).sum() == 0 and (ids > 2).sum() == 7  # every word and the comma, after [CLS]
    with pytest.raises(ValueError, match="model.world"):
        build_clip({"world": "cars"})


def test_face_clip_trains_on_labelled_photos(real_photo_folder, tmp_path):
    spec = get("clip_faces")
    overrides = [f"out_dir={tmp_path}", "data.source=real", f"data.path={real_photo_folder}"]
    cfg = spec.config([*spec.tiny, *overrides])
    assert Trainer(spec.task_class(), cfg).fit() == "finished"
    clip = TinyCLIPPipeline.from_pretrained(tmp_path)
    assert clip.cfg.model.world == "faces" and clip.unknown_words("a woman with blond hair") == []
    metrics = __import__("json").loads((tmp_path / "exported.json").read_text())["metrics"]
    assert {"accuracy_male", "accuracy_eyeglasses", "hard_flip", "attribute_and_binding"} <= set(metrics)
