"""The code prior (a GPT over VQGAN code grids, conditioned on CLIP embeddings): its cache, its
conditions and guidance, and the check that pairs it with the VQGAN and CLIP it was trained on."""

import pytest
import torch

from genai_core.models.code_prior import CodePrior
from genai_core.pipelines.code_prior import CodePriorPipeline, clip_fingerprint, vqgan_fingerprint
from genai_core.registry import get, load_pipeline


@pytest.fixture(scope="module")
def prior():
    torch.manual_seed(0)
    model = CodePrior(n_codes=32, length=16, dim=16, layers=2, heads=2, cond_dim=8).eval()
    with torch.no_grad():  # far from the near-uniform initial logits, so conditions change the draws
        model.head.weight.mul_(100)
        model.condition.weight.mul_(100)
    return model


def test_cached_steps_give_the_teacher_forced_logits(prior):
    generator = torch.Generator().manual_seed(1)
    codes, cond = torch.randint(32, (3, 16), generator=generator), torch.randn(3, 8, generator=generator)
    full = prior(codes, cond)
    ids = torch.cat([torch.full((3, 1), 32), codes[:, :5]], 1)
    cache = prior.new_cache()
    steps = [prior._run(ids, 0, cache, cond)]
    for position in range(5, 15):
        steps.append(prior._run(codes[:, position : position + 1], position + 1, cache))
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-5)


def test_a_nan_condition_means_none_and_a_condition_matters(prior):
    generator = torch.Generator().manual_seed(2)
    codes, cond = torch.randint(32, (2, 16), generator=generator), torch.randn(2, 8, generator=generator)
    cond[1] = float("nan")
    with torch.no_grad():
        both, unconditional = prior(codes, cond), prior(codes)
    assert torch.allclose(both[1], unconditional[1]) and not torch.allclose(both[0], unconditional[0])


def test_generate_keeps_the_prefix_stops_and_is_seeded(prior):
    prefix = torch.randint(32, (4, 3), generator=torch.Generator().manual_seed(0))
    draw = lambda **kw: prior.generate(prefix, torch.Generator().manual_seed(5), **kw)  # noqa: E731
    assert draw().shape == (4, 16) and torch.equal(draw()[:, :3], prefix)
    assert draw(stop=8).shape == (4, 8) and torch.equal(draw(), draw())
    cond, negative = torch.randn(2, 4, 8, generator=torch.Generator().manual_seed(3))
    guided = draw(cond=cond, guidance=3.0)
    assert guided.shape == (4, 16) and not torch.equal(guided, draw(cond=cond))
    assert not torch.equal(draw(cond=cond, guidance=3.0, negative=negative), guided)


def test_shipped_prior_pairs_with_the_shipped_models_only():
    vqgan, clip, shipped = (load_pipeline(n) for n in ("vqgan_shapes", "clip_shapes", "code_prior_shapes"))
    shipped.check_pairs_with(vqgan, clip)
    cfg = get("code_prior_shapes").config()
    cfg.data.vqgan_fingerprint, cfg.data.clip_fingerprint = vqgan_fingerprint(vqgan), "0" * 16
    stranger = CodePriorPipeline(cfg, {"prior": shipped.prior})
    with pytest.raises(ValueError, match="another CLIP"):
        stranger.check_pairs_with(vqgan, clip)
    assert clip_fingerprint(clip) == shipped.cfg.data.clip_fingerprint


def test_the_task_evaluates_codes_against_their_own_captions():
    """val_nll conditions each held-out grid on its own scene's caption (checked by re-encoding)."""
    from genai_core.data.shapes import caption, render_scenes
    from genai_core.train.code_prior import EVAL_SEED, CodePriorTask, scene_chunks

    spec = get("code_prior_shapes")
    task = CodePriorTask(spec.config([*spec.tiny, "data.val_scenes=600"]), torch.device("cpu"))
    scenes = [s for _, chunk in scene_chunks(600, EVAL_SEED) for s in chunk]
    assert task.val_prompts == [caption(s) for s in scenes]
    last = task.vqgan.encode(render_scenes(scenes[-3:], 64))[1].flatten(1)
    assert torch.equal(task.val["codes"][-3:].long(), last)


def test_draw_follows_the_probabilities_and_never_picks_an_impossible_code():
    from genai_core.models.code_prior import draw

    probs = torch.tensor([[0.0, 0.5, 0.0, 0.3, 0.2, 0.0]]).repeat(20_000, 1)
    codes = draw(probs, torch.Generator().manual_seed(0))[:, 0]
    share = torch.bincount(codes, minlength=6) / len(codes)
    assert share[[0, 2, 5]].sum() == 0
    assert torch.allclose(share[[1, 3, 4]], torch.tensor([0.5, 0.3, 0.2]), atol=0.015)
