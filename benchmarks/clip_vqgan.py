"""Quality and speed of the offline CLIP + VQGAN pairs: the shapes world (issue 7) and real faces
(issue 21).

Run:  python -m benchmarks.clip_vqgan             (about 15 minutes on one thread; --prompts 10 for a
                                                   quick look)
      python -m benchmarks.clip_vqgan --faces     (the faces pair; needs ../shared/data for the FID)
      python -m benchmarks.clip_vqgan --scoring --prompts 60   (the tab's default with the prior's
                                                   candidates scored in bf16 and in fp32, both pairs)

Faces pair (`--faces`): `--prompts` held-out prompt specs of two or three attributes (sex, then
glasses, smiling, age, beard or hair colour; face_captions.held_out_prompts with a seed no training,
evaluation or tuning used), each generated with the tab's default settings (the code prior's best draw
by CLIP) and with `--iterations` thesis steps after it; success = the real-face referee reads every
requested attribute (and per attribute); FID of the results against the held-out test photos with its
floor; diversity = mean pairwise RMS distance of one prompt's results over 8 seeds, against real
photos of the test split; seconds per prompt.

Shapes pair:

- CLIP: retrieval on 1,000 held-out scenes in groups of 100 (chance 1%), image->text and text->image,
  and the hard tests: how often the true caption beats the same caption changed in one way (relation
  reversed, colours swapped, shapes swapped, background or an object's colour changed; chance 50%).
- VQGAN: reconstruction PSNR and codebook use on held-out scenes.
- prompt fidelity: `--prompts` captions of fresh held-out scenes, each generated with the tab's default
  settings for the offline pair (OFFLINE_DEFAULTS: the code prior's best draw by CLIP; also with 20
  thesis steps after it), then read back by the world's checker (genai_core.data.shapes.check_image,
  no learned model): success = every part of the prompt (background, each object's colour and shape, the
  relation) is in the picture. Also the thesis' way (random codes, 100 steps, 16 crops, lr 0.1) and
  its starting latent, the prior's draw alone, the renderer's own image of the scene (the checker's
  ceiling) and the VQGAN's reconstruction of that image (no latent can decode better).
  A diagnostic row starts the optimiser from the render's own latent: if the objective's best
  pictures were the right ones, the steps would keep them.
  CLIP score = cosine of the whole image and the prompt.
- speed: seconds per optimisation step and for a whole prompt on one thread.
"""

import argparse
import time

import numpy as np
import torch

from genai_core.data import shapes
from genai_core.metrics.clip import clip_metrics
from genai_core.metrics.vqgan import vqgan_metrics
from genai_core.pipelines.clip_vqgan import (
    OFFLINE_DEFAULTS,
    Progress,
    PromptSettings,
    prompt_generator,
)
from genai_core.registry import load_composite, load_pipeline
from genai_core.train.clip import EVAL_SEED

from .common import print_table, real_face_fid_table

FRESH_SEED = 31_337  # prompts from scenes no training or evaluation run drew


def clip_rows(clip) -> list[dict]:
    """Every metric for groups of 100 scenes (as in training) and of all 1,000 at once (chance 0.1%)."""
    scenes = shapes.sample_scenes(1000, EVAL_SEED + 1)  # the held-out seed family, another draw
    images = shapes.render_scenes(scenes, clip.input_size)
    small, large = (clip_metrics(clip.clip, scenes, images, group) for group in (100, 1000))
    return [{"metric": k, "groups of 100": v, "one group of 1,000": large[k]} for k, v in small.items()]


def fidelity(pair, prompts: list[str], iterations: int, seed: int, starts=None, **overrides) -> dict:
    """Runs the optimiser on every prompt (from random codes, the prior's draw, or starts[i]); the
    share the checker passes, per part and in all."""
    parts: dict[str, list[bool]] = {}
    scores, step_seconds, run_seconds = [], [], []
    prior = overrides.get("start") == "prior"
    for i, prompt in enumerate(prompts):
        steps = iterations if prior else max(iterations, 1)
        settings = PromptSettings([prompt], **{**overrides, "iterations": steps, "seed": seed + i,
                                               "preview_every": max(iterations, 1)})
        if iterations == 0 and not prior:  # the starting point: decode the initial latent without a step
            with torch.no_grad():
                image = pair.decode(pair.initial_latent(settings, prompt_generator(settings, 0)))[0]
        else:
            begin = None if starts is None else [starts[i : i + 1]]
            start = time.perf_counter()
            image = [e for e in pair.optimise(settings, starts=begin) if isinstance(e, Progress)][-1].image
            run_seconds.append(time.perf_counter() - start)
            if iterations:
                step_seconds.append(run_seconds[-1] / iterations)
        for key, ok in shapes.check_image(image, prompt).items():
            parts.setdefault(key, []).append(ok)
        scores.append(pair.clip_score(image, prompt))
    row = {f"{k} ok": float(np.mean(v)) for k, v in parts.items()}
    row["CLIP score"] = float(np.mean(scores))
    if run_seconds:
        if step_seconds:
            row["s / step"] = float(np.median(step_seconds))
        row["s / prompt"] = float(np.median(run_seconds))
    return row


def ceiling_row(name: str, pair, images: torch.Tensor, prompts: list[str]) -> dict:
    """Checker pass rate and CLIP score of ready-made images (no optimisation)."""
    pairs = list(zip(images, prompts, strict=True))
    return {"images": name, "all ok": float(np.mean([shapes.check_image(i, p)["all"] for i, p in pairs])),
            "CLIP score": float(np.mean([pair.clip_score(i, p) for i, p in pairs]))}


FACE_PROMPT_SEED = 4_000_000_007  # held-out prompts: not the prior's evaluation seed, never tuned on


def face_rows(pair, referee, specs: list[dict], iterations: int, seed: int = 0) -> tuple[dict, torch.Tensor]:
    from genai_core.data import face_captions
    from genai_core.metrics.code_prior import reads_as_asked

    images, seconds, parts = [], [], {}
    for i, spec in enumerate(specs):
        prompt = face_captions.phrase(spec)
        settings = PromptSettings([prompt], **{**OFFLINE_DEFAULTS, "iterations": iterations, "seed": seed + i,
                                               "preview_every": max(iterations, 1)})
        start = time.perf_counter()
        image = [e for e in pair.optimise(settings) if isinstance(e, Progress)][-1].image
        seconds.append(time.perf_counter() - start)
        images.append(image)
        for key, value in spec.items():
            parts.setdefault(key, []).append(reads_as_asked(referee, image[None], [{key: value}])[0])
    images = torch.stack(images)
    row = {"all attributes": float(np.mean(reads_as_asked(referee, images, specs)))}
    row |= {f"{k} ok": float(np.mean(v)) for k, v in parts.items()}
    row["s / prompt"] = float(np.median(seconds))
    return row, images


def pairwise_rms(images: torch.Tensor) -> float:
    x = images.flatten(1)
    d = torch.cdist(x, x) / np.sqrt(x.shape[1])
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def faces_main(args) -> None:
    from genai_core.config import SHARED_DATA
    from genai_core.data import face_captions
    from genai_core.data.real_faces import load_labelled_photos
    from genai_core.images import to_model_range

    pair = load_composite("clip_vqgan_faces")
    referee = load_pipeline("real_face_referee")
    specs = face_captions.held_out_prompts(args.prompts, FACE_PROMPT_SEED)
    rows, results = [], {}
    for name, iterations in (("the tab: the prior's best draw", 0),
                             (f"the prior's draw, then {args.iterations} thesis steps", args.iterations)):
        row, images = face_rows(pair, referee, specs, iterations)
        rows.append({"images": name, **row})
        results[name] = images
    two = [i for i, s in enumerate(specs) if len(s) == 2]
    three = [i for i, s in enumerate(specs) if len(s) == 3]
    from genai_core.metrics.code_prior import reads_as_asked

    for name, images in results.items():
        ok = np.array(reads_as_asked(referee, images, specs))
        print(f"{name}: two attributes {ok[two].mean():.3f} ({len(two)} prompts), "
              f"three {ok[three].mean():.3f} ({len(three)})")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    print_table(f"Text to face on {args.prompts} held-out prompts (real-face referee)",
                [{c: r.get(c, float("nan")) for c in columns} for r in rows])
    # diversity: one prompt, 8 seeds
    diversity = []
    for spec in specs[:8]:
        _, images = face_rows(pair, referee, [spec] * 8, 0, seed=1000)
        diversity.append(pairwise_rms(images))
    sources = ["lfw", "celeb1k", "interface"]
    try:
        test = to_model_range(load_labelled_photos(SHARED_DATA, sources, 64, "test").images)
    except FileNotFoundError as err:
        print(f"(no real photos: {err})")
        return
    pick = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:64]
    print_table("Diversity: mean pairwise RMS distance", [
        {"set": "one prompt's results over 8 seeds (mean of 8 prompts)",
         "distance": float(np.mean(diversity))},
        {"set": "64 random held-out photos", "distance": pairwise_rms(test[pick])}])
    try:
        n = len(next(iter(results.values())))
        print_table(f"Standard FID of the results ({n}) against {n} held-out photos",
                    real_face_fid_table(n, {name: (lambda _, im=im: im) for name, im in results.items()}))
    except FileNotFoundError as err:
        print(f"(no standard FID: {err})")


def scoring_main(args) -> None:
    """The tab's default (the prior's best draw by CLIP) with its candidates decoded and scored in bf16
    (the default where the CPU has bf16 units) and in fp32, on the same prompts and seeds, for both
    pairs: what bf16 scoring changes in the results and in the time."""
    from genai_core.data import face_captions

    rows = []
    shapes_pair, faces_pair = load_composite("clip_vqgan_shapes"), load_composite("clip_vqgan_faces")
    referee = load_pipeline("real_face_referee")
    prompts = [shapes.caption(s) for s in shapes.sample_scenes(args.prompts, FRESH_SEED)]
    specs = face_captions.held_out_prompts(args.prompts, FACE_PROMPT_SEED)
    tab = {k: v for k, v in OFFLINE_DEFAULTS.items() if k != "iterations"}
    for bf16 in (True, False):
        shapes_pair.bf16_scoring = faces_pair.bf16_scoring = bf16
        shape_row = fidelity(shapes_pair, prompts, OFFLINE_DEFAULTS["iterations"], seed=0, **tab)
        face_row, _ = face_rows(faces_pair, referee, specs, 0)
        rows.append({"scoring": "bf16" if bf16 else "fp32", "shapes: all parts ok": shape_row["all ok"],
                     "shapes: CLIP score": shape_row["CLIP score"],
                     "shapes: s / prompt": shape_row["s / prompt"],
                     "faces: all attributes": face_row["all attributes"],
                     "faces: s / prompt": face_row["s / prompt"]})
    title = f"The tab's default, candidates scored in bf16 or fp32 ({args.prompts} held-out prompts each)"
    print_table(title, rows)


def main():
    parser = argparse.ArgumentParser()
    # 120 captions leave a standard error of ~3.6 points on an 80% pass rate (40 would leave ~7)
    parser.add_argument("--prompts", type=int, default=120, help="held-out captions to optimise")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--faces", action="store_true", help="the faces pair (issue 21)")
    parser.add_argument("--scoring", action="store_true",
                        help="bf16 against fp32 scoring of the prior's draws")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.scoring:
        scoring_main(args)
        return
    if args.faces:
        faces_main(args)
        return
    pair = load_composite("clip_vqgan_shapes")
    clip, vqgan = load_pipeline("clip_shapes"), load_pipeline("vqgan_shapes")

    print_table("CLIP on 1,000 held-out scenes", clip_rows(clip))
    held_out = shapes.sample_scenes(256, FRESH_SEED)
    rows = [vqgan_metrics(vqgan, shapes.render_scenes(held_out, vqgan.size), held_out)]
    print_table("VQGAN reconstruction of 256 held-out scenes", rows)

    scenes = shapes.sample_scenes(args.prompts, FRESH_SEED)
    prompts = [shapes.caption(s) for s in scenes]
    rows = []
    tab = {k: v for k, v in OFFLINE_DEFAULTS.items() if k != "iterations"}
    tab_steps = OFFLINE_DEFAULTS["iterations"]
    runs = [("random codes (the thesis' start)", 0, {}),
            (f"the thesis: random codes, {args.iterations} steps", args.iterations, {}),
            (f"the tab: the prior's best of {PromptSettings.candidates}", tab_steps, tab),
            ("the prior's draw, then 20 thesis steps (lr 0.02)", 20, {**tab, "lr": 0.02})]
    for name, iterations, overrides in runs:
        rows.append({"images": name, **fidelity(pair, prompts, iterations, seed=0, **overrides)})
    renders = shapes.render_scenes(scenes, 64)
    with torch.no_grad():
        encoded = pair.vqgan.encode_latent(renders)
        copies = pair.decode(encoded)
    rows.append(ceiling_row("renderer (checker's ceiling)", pair, renders, prompts))
    rows.append(ceiling_row("VQGAN's copy of the render (optimiser's ceiling)", pair, copies, prompts))
    # a diagnostic: does the objective keep a right picture once it has one?
    name = f"optimised from the render's latent, {args.iterations} steps"
    rows.append({"images": name, **fidelity(pair, prompts, args.iterations, seed=0, starts=encoded)})
    columns = list(dict.fromkeys(key for row in rows for key in row))
    rows = [{c: r.get(c, float("nan")) for c in columns} for r in rows]
    print_table(f"Prompt fidelity on {args.prompts} held-out captions (checker)", rows)


if __name__ == "__main__":
    main()
