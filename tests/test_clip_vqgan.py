"""CLIP-guided VQGAN optimisation: easing, settings, the loop's snapshots and stop, the morph, and the
tab's handlers on the shipped shapes-world pair. Offline: no download, no ../shared."""

import gradio as gr
import imageio.v3 as iio
import pytest
import torch

from demos import clip_vqgan as tab
from genai_core.data.shapes import caption, check_image, sample_scenes
from genai_core.models.clip_small import build_clip
from genai_core.models.vqgan import build_vqgan
from genai_core.pipelines.clip import ShapesCLIPPipeline
from genai_core.pipelines.clip_vqgan import CLIPGuidedVQGAN, Keyframe, Progress, PromptSettings, ease
from genai_core.registry import get


@pytest.fixture(scope="module")
def tiny_pair():
    vqgan_cfg = get("vqgan_shapes").config(list(get("vqgan_shapes").tiny))
    clip_cfg = get("clip_shapes").config(list(get("clip_shapes").tiny))
    torch.manual_seed(0)
    vqgan = build_vqgan(vqgan_cfg.model)["vqgan"].eval().requires_grad_(False)
    clip = ShapesCLIPPipeline(clip_cfg, build_clip(clip_cfg.model))
    return CLIPGuidedVQGAN(vqgan, clip)


def test_easing_really_goes_from_zero_to_one():
    assert ease(0.0) == 0 and ease(1.0) == 1 and torch.isclose(ease(0.5), torch.tensor(0.5))
    t = torch.linspace(0, 1, 50)
    assert (ease(t).diff() >= 0).all()
    thesis = torch.sin(1.5 * t) ** 6  # the thesis' easing: never reaches 1
    assert thesis[-1] < 0.99


def test_settings_reject_bad_values():
    for bad in [dict(include=[]), dict(include=["  "]), dict(iterations=0), dict(crops=100), dict(lr=0.0),
                dict(size=8), dict(include=["a"] * 7), dict(beta=-1)]:  # fmt: skip
        settings = PromptSettings(**{"include": ["a red circle on a blue background"], **bad})
        with pytest.raises(ValueError):
            settings.validate()


def test_loop_streams_detached_snapshots_and_keyframes(tiny_pair):
    prompts = ["a red circle on a blue background", "a green square on a white background"]
    settings = PromptSettings(prompts, iterations=4, crops=2, size=32, preview_every=2)
    events = list(tiny_pair.optimise(settings))
    progress = [e for e in events if isinstance(e, Progress)]
    keyframes = [e for e in events if isinstance(e, Keyframe)]
    assert [(p.prompt_index, p.step) for p in progress] == [(0, 2), (0, 4), (1, 2), (1, 4)]
    assert len(keyframes) == 2 and all(len(k.latents) == 2 for k in keyframes)
    assert not torch.equal(progress[0].latent, progress[1].latent), "snapshots must be copies"
    assert not any(p.latent.requires_grad for p in progress)
    assert progress[0].image.shape == (3, 32, 32)
    again = [e for e in tiny_pair.optimise(settings) if isinstance(e, Progress)]
    assert torch.equal(again[-1].image, progress[-1].image), "the seed must reproduce the run"


def test_a_given_start_latent_is_used_and_left_untouched(tiny_pair):
    settings = PromptSettings(["a red circle on a blue background"], iterations=1, crops=2, size=32)
    start = torch.zeros(1, tiny_pair.vqgan.embed_dim, 4, 4)
    first = next(iter(tiny_pair.optimise(settings, starts=[start])))
    random_start = next(iter(tiny_pair.optimise(settings)))
    assert torch.equal(start, torch.zeros_like(start)), "the caller's latent must not be optimised in place"
    assert not torch.equal(first.latent, random_start.latent)
    with pytest.raises(ValueError, match="start latents"):
        next(iter(tiny_pair.optimise(settings, starts=[start, start])))


def test_stop_between_steps_keeps_the_result(tiny_pair):
    calls = []
    stop_after_three = lambda: calls.append(1) or len(calls) >= 3  # noqa: E731
    settings = PromptSettings(["a red circle on a blue background", "a red square on a blue background"],
                              iterations=50, crops=2, size=32, preview_every=10)  # fmt: skip
    events = list(tiny_pair.optimise(settings, should_stop=stop_after_three))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].step == 3 and progress[-1].done
    assert sum(isinstance(e, Keyframe) for e in events) == 1  # the second prompt never starts


def test_extras_and_exclude_change_the_target_and_empty_ones_are_dropped(tiny_pair):
    base = PromptSettings(["a red circle on a blue background"])
    target, exclude = tiny_pair.text_target(base, base.include[0])
    assert exclude is None and torch.isclose(target.norm(), torch.tensor(1.0))
    mixed = PromptSettings(base.include, extras="a green square", exclude="a white triangle")
    target_mixed, exclude = tiny_pair.text_target(mixed, base.include[0])
    assert exclude is not None and not torch.allclose(target, target_mixed)


def test_morph_starts_and_ends_on_the_keyframes(tiny_pair):
    generator = torch.Generator().manual_seed(0)
    settings = PromptSettings(["x"], size=32)
    a, b = tiny_pair.initial_latent(settings, generator), tiny_pair.initial_latent(settings, generator)
    frames = tiny_pair.morph([a, b], 5)
    assert len(frames) == 6
    assert torch.allclose(frames[0], tiny_pair.decode(a)[0], atol=1e-5)
    assert torch.allclose(frames[-1], tiny_pair.decode(b)[0], atol=1e-5)


def test_unknown_words_are_reported(tiny_pair):
    settings = PromptSettings(["a red zeppelin on a blue background"], exclude="a plaid square")
    assert set(tiny_pair.unknown_words(settings)) == {"zeppelin", "plaid"}
    with pytest.raises(ValueError, match="zeppelin"):
        next(tiny_pair.optimise(settings))


def test_checker_reads_rendered_scenes():
    from genai_core.data.shapes import render_scenes

    scenes = sample_scenes(20, 5)
    images = render_scenes(scenes, 64)
    assert all(check_image(img, caption(s))["all"] for img, s in zip(images, scenes, strict=True))


def test_tab_streams_previews_then_a_video_and_snapshots():
    args = list(tab.API_EXAMPLES["clip_vqgan_generate"])
    args[10] = 4  # iterations
    args[16] = 2  # preview every
    outputs = list(tab.generate(*args))
    assert len(outputs) == 3  # two previews, then the final result
    preview, snapshots, video, status = outputs[-1]
    assert preview.shape == (tab.DISPLAY, tab.DISPLAY, 3) and snapshots.ndim == 3
    assert iio.imread(video).shape[0] == (2 - 1) * tab.FRAMES_PER_TRANSITION + 1  # morph of 2 snapshots
    assert "CLIP score" in status and "checker" in status


@pytest.mark.parametrize(
    "change",
    [
        {3: ""},  # no include prompt
        {3: "a red zeppelin"},  # unknown word
        {10: 0},  # iterations
        {14: 7},  # size below the minimum
        {0: "DALL-E"},  # unknown model
        {0: tab.MODELS[1]},  # local pretrained without folders
    ],
)
def test_tab_bad_input_is_a_message(change):
    args = list(tab.API_EXAMPLES["clip_vqgan_generate"])
    for index, value in change.items():
        args[index] = value
    with pytest.raises(gr.Error):
        list(tab.generate(*args))


def test_stop_without_a_run_is_harmless():
    tab.stop_generation(None)


def _tiny_hf_clip(folder):
    """A randomly initialised Hugging Face CLIP with a byte-level tokenizer, saved like a download."""
    transformers = pytest.importorskip("transformers")
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    characters = list(bytes_to_unicode().values())
    vocab = {c: i for i, c in enumerate(characters)}
    vocab.update({c + "</w>": len(characters) + i for i, c in enumerate(characters)})
    bos, eos = len(vocab), len(vocab) + 1
    vocab.update({"<|startoftext|>": bos, "<|endoftext|>": eos})
    text = dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, bos_token_id=bos, eos_token_id=eos, pad_token_id=eos)  # fmt: skip
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  image_size=32, patch_size=16)  # fmt: skip
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=vision,
                                                           projection_dim=16))  # fmt: skip
    model.save_pretrained(folder)
    transformers.CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)


def test_local_pretrained_pair_runs_the_tab_offline(tmp_path):
    """The 'Local pretrained' choice end to end: a taming-layout VQGAN folder (last.ckpt +
    model.yaml) and a Hugging Face CLIP folder, both made here; nothing is downloaded."""
    from tests.test_vqgan import _taming_state, _write_taming_run

    _tiny_hf_clip(tmp_path / "clip")
    (tmp_path / "vqgan").mkdir()
    _write_taming_run(tmp_path / "vqgan", _taming_state())
    args = list(tab.API_EXAMPLES["clip_vqgan_generate"])
    args[:3] = [tab.MODELS[1], str(tmp_path / "vqgan"), str(tmp_path / "clip")]
    args[10], args[14], args[16] = 2, 32, 1  # iterations, size, preview every
    outputs = list(tab.generate(*args))
    preview, snapshots, video, status = outputs[-1]
    assert len(outputs) == 3 and preview.shape == (tab.DISPLAY, tab.DISPLAY, 3)
    assert iio.imread(video).shape[0] == tab.FRAMES_PER_TRANSITION + 1  # morph of the two snapshots
    assert "CLIP score" in status
