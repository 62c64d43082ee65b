"""CLIP-guided VQGAN optimisation: easing, settings, the loop's snapshots and stop, the morph, and the
tab's handlers on the shipped shapes-world pair. Offline: no download, no ../shared."""

import gradio as gr
import imageio.v3 as iio
import pytest
import torch

from demos import clip_vqgan as tab
from genai_core.data.shapes import caption, check_image, sample_scenes
from genai_core.models.clip import build_clip
from genai_core.models.code_prior import CodePrior
from genai_core.models.vqgan import build_vqgan
from genai_core.pipelines.clip import TinyCLIPPipeline
from genai_core.pipelines.clip_vqgan import (
    CLIPGuidedVQGAN,
    Keyframe,
    Progress,
    PromptSettings,
    ease,
    prompt_generator,
)
from genai_core.registry import get


@pytest.fixture(scope="module")
def tiny_pair():
    vqgan_cfg = get("vqgan_shapes").config(list(get("vqgan_shapes").tiny))
    clip_cfg = get("clip_shapes").config(list(get("clip_shapes").tiny))
    torch.manual_seed(0)
    vqgan = build_vqgan(vqgan_cfg.model)["vqgan"].eval().requires_grad_(False)
    clip = TinyCLIPPipeline(clip_cfg, build_clip(clip_cfg.model))
    return CLIPGuidedVQGAN(vqgan, clip)


@pytest.fixture(scope="module")
def prior_pair(tiny_pair):
    """The tiny pair with a tiny conditional code prior over its 4x4 grids of 32 codes."""
    torch.manual_seed(1)
    dim = tiny_pair.clip.embed_texts(["a"]).shape[1]
    prior = CodePrior(tiny_pair.vqgan.n_embed, 16, dim=16, layers=1, heads=2, cond_dim=dim).eval()
    return CLIPGuidedVQGAN(tiny_pair.vqgan, tiny_pair.clip, prior.requires_grad_(False))


def test_easing_really_goes_from_zero_to_one():
    assert ease(0.0) == 0 and ease(1.0) == 1 and torch.isclose(ease(0.5), torch.tensor(0.5))
    t = torch.linspace(0, 1, 50)
    assert (ease(t).diff() >= 0).all()
    thesis = torch.sin(1.5 * t) ** 6  # the thesis' easing: never reaches 1
    assert thesis[-1] < 0.99


def test_settings_reject_bad_values():
    for bad in [dict(include=[]), dict(include=["  "]), dict(iterations=0), dict(crops=100), dict(lr=0.0),
                dict(size=8), dict(include=["a"] * 7), dict(beta=-1)]:
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


def test_prior_start_keeps_the_candidate_with_the_lowest_loss(prior_pair, monkeypatch):
    monkeypatch.setenv("GENAI_BF16", "0")  # the same arithmetic as the draw by hand below
    settings = PromptSettings(["a red circle on a blue background"], start="prior", iterations=0,
                              candidates=6, stages=1, size=32, seed=3)
    events = list(prior_pair.optimise(settings))
    assert [type(e) for e in events] == [Progress, Keyframe] and events[0].step == 0 and events[0].done
    # the same draw by hand: six grids from the prompt's generator, each scored on the whole image
    target, _ = prior_pair.text_target(settings, settings.include[0])
    generator = prompt_generator(settings, 0)
    empty = torch.zeros(6, 0, dtype=torch.long)
    codes = prior_pair.prior.generate(empty, generator, cond=target.expand(6, -1))
    images = prior_pair.vqgan.decode_code(codes.view(6, 4, 4)).clamp(-1, 1)
    losses = -(prior_pair.clip.embed_images(images) @ target)
    assert torch.allclose(events[0].image, images[losses.argmin()], atol=1e-5)
    assert events[0].loss == pytest.approx(float(losses.min()), abs=1e-5)
    again = next(iter(prior_pair.optimise(settings)))
    other = next(iter(prior_pair.optimise(PromptSettings(**{**vars(settings), "seed": 4}))))
    assert torch.equal(again.image, events[0].image) and not torch.equal(other.image, events[0].image)


def test_prior_candidates_are_scored_in_bf16_where_allowed_and_the_loss_is_the_shown_pictures(
        prior_pair, monkeypatch):
    seen = []
    decode = prior_pair.vqgan.decode
    monkeypatch.setattr(prior_pair.vqgan, "decode", lambda latents: seen.append(
        (len(latents), torch.is_autocast_enabled("cpu"))) or decode(latents))
    settings = PromptSettings(["a red circle on a blue background"], start="prior", iterations=0,
                              candidates=6, stages=1, size=32, seed=3)
    for setting, scored_in_bf16 in (("1", True), ("0", False)):
        monkeypatch.setenv("GENAI_BF16", setting)
        seen.clear()
        draw = next(iter(prior_pair.optimise(settings)))
        assert (6, scored_in_bf16) in seen and all(not bf16 for n, bf16 in seen if n == 1)
        target, _ = prior_pair.text_target(settings, settings.include[0])
        shown = prior_pair.clip.embed_images(draw.image[None])[0]
        assert draw.loss == pytest.approx(float(-shown @ target), abs=1e-5)


def test_prior_search_returns_its_best_completed_grid(prior_pair, monkeypatch):
    monkeypatch.setenv("GENAI_BF16", "0")  # the tiny pair's losses are close enough for bf16 to tie them
    settings = PromptSettings(["a red circle above a green square"], start="prior", iterations=0,
                              candidates=8, beams=3, stages=4, size=32, seed=1,
                              exclude="a blue circle")
    draw = next(iter(prior_pair.optimise(settings)))
    target, exclude = prior_pair.text_target(settings, settings.include[0])
    embedded = prior_pair.clip.embed_images(draw.image[None])[0]
    assert draw.loss == pytest.approx(float(-embedded @ target + 0.5 * embedded @ exclude), abs=1e-4)
    one_stage = next(iter(prior_pair.optimise(PromptSettings(**{**vars(settings), "stages": 1}))))
    assert not torch.equal(one_stage.image, draw.image)


def test_prior_start_then_the_thesis_steps(prior_pair):
    settings = PromptSettings(["a red circle on a blue background"], start="prior", iterations=4,
                              candidates=2, size=32, preview_every=2, exclude="a green square")
    progress = [e for e in prior_pair.optimise(settings) if isinstance(e, Progress)]
    assert [p.step for p in progress] == [0, 2, 4] and progress[-1].done and not progress[0].done


def test_prior_start_needs_a_prior_of_the_right_size(tiny_pair, prior_pair):
    settings = PromptSettings(["a red circle on a blue background"], start="prior", iterations=0, size=32)
    with pytest.raises(ValueError, match="no code prior"):
        next(iter(tiny_pair.optimise(settings)))
    with pytest.raises(ValueError, match="32x32"):
        next(iter(prior_pair.optimise(PromptSettings(**{**vars(settings), "size": 64}))))
    with pytest.raises(ValueError, match="iterations"):  # without a prior's draw there is nothing to show
        PromptSettings(settings.include, start="random", iterations=0).validate()
    with pytest.raises(ValueError, match="start"):
        PromptSettings(settings.include, start="sideways").validate()


def test_stop_between_steps_keeps_the_result(tiny_pair):
    calls = []
    stop_after_three = lambda: calls.append(1) or len(calls) >= 3  # noqa: E731
    settings = PromptSettings(["a red circle on a blue background", "a red square on a blue background"],
                              iterations=50, crops=2, size=32, preview_every=10)
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
    assert len(outputs) == 4  # the prior's draw, two previews, then the final result
    assert "the prior's draw" in outputs[0][3]
    preview, snapshots, video, status = outputs[-1]
    assert preview.shape == (tab.DISPLAY, tab.DISPLAY, 3) and snapshots.ndim == 3
    assert iio.imread(video).shape[0] == (3 - 1) * tab.FRAMES_PER_TRANSITION + 1  # morph of 3 snapshots
    assert "CLIP score" in status and "checker" in status


def test_tab_prior_draw_alone_is_a_result_without_a_video():
    args = list(tab.API_EXAMPLES["clip_vqgan_generate"])
    args[10] = 0  # iterations
    outputs = list(tab.generate(*args))
    preview, snapshots, video, status = outputs[-1]
    assert len(outputs) == 2 and video is None and "two snapshots" in status
    assert preview.shape == (tab.DISPLAY, tab.DISPLAY, 3) and "checker" in status


def test_tab_thesis_start_streams_its_steps():
    args = list(tab.API_EXAMPLES["clip_vqgan_generate"])
    args[10], args[16], args[17] = 2, 1, "Random codes (the thesis)"
    outputs = list(tab.generate(*args))
    assert len(outputs) == 3 and "step 1/2" in outputs[0][3]


@pytest.mark.parametrize(
    "change",
    [
        {3: ""},  # no include prompt
        {3: "a red zeppelin"},  # unknown word
        {10: -1},  # iterations
        {10: 0, 17: "Random codes (the thesis)"},  # random codes need at least one step
        {17: "sideways"},  # unknown start
        {14: 128},  # the code prior draws 64x64 only
        {18: 0},  # candidates
        {20: 0},  # stages
        {14: 7},  # size below the minimum
        {0: "DALL-E"},  # unknown model
        {0: tab.PRETRAINED},  # local pretrained without folders
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
                num_attention_heads=2, bos_token_id=bos, eos_token_id=eos, pad_token_id=eos)
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  image_size=32, patch_size=16)
    torch.manual_seed(0)
    model = transformers.CLIPModel(transformers.CLIPConfig(text_config=text, vision_config=vision,
                                                           projection_dim=16))
    model.save_pretrained(folder)
    transformers.CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(folder)


def test_local_pretrained_pair_runs_the_tab_offline(tmp_path, monkeypatch):
    """The 'Local pretrained' choice end to end: a taming-layout VQGAN folder (last.ckpt +
    model.yaml) and a Hugging Face CLIP folder, both made here in the pretrained-models folder
    (named relative to it); nothing is downloaded."""
    from tests.test_vqgan import _taming_state, _write_taming_run

    monkeypatch.setenv("GENAI_PRETRAINED_DIR", str(tmp_path))
    _tiny_hf_clip(tmp_path / "clip")
    (tmp_path / "vqgan").mkdir()
    _write_taming_run(tmp_path / "vqgan", _taming_state())
    args = list(tab.API_EXAMPLES["clip_vqgan_generate"])
    args[:3] = [tab.PRETRAINED, "vqgan", str(tmp_path / "clip")]
    args[10], args[14], args[16] = 2, 32, 1  # iterations, size, preview every
    args[17] = "Random codes (the thesis)"  # a pretrained pair has no code prior
    outputs = list(tab.generate(*args))
    preview, snapshots, video, status = outputs[-1]
    assert len(outputs) == 3 and preview.shape == (tab.DISPLAY, tab.DISPLAY, 3)
    assert iio.imread(video).shape[0] == tab.FRAMES_PER_TRANSITION + 1  # morph of the two snapshots
    assert "CLIP score" in status
