"""Quality and speed of the shipped CycleGAN (blond <-> black hair).

Run:  python -m benchmarks.cyclegan        (about a minute; no shared data needed)

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

import torch

from genai_core.data.faces import HAIR_COLOURS, render_hair_twins
from genai_core.metrics.image import l1, ssim
from genai_core.registry import load_pipeline

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
    rows = []
    for side in (64, 128, 256, 512):
        photo = torch.rand(3, side, side) * 2 - 1
        seconds = median_seconds(lambda p=photo: translator.convert(p, "blond -> black", 1.0), repeats=9)
        rows.append({"photo": f"{side}x{side}", "convert + round trip (s)": seconds})
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500, help="held-out faces per direction")
    args = parser.parse_args()
    torch.set_num_threads(1)
    translator, referee = load_pipeline("cyclegan_hair"), load_pipeline("face_referee")
    rows = quality_rows(translator, referee, args.n)
    print_table(f"Translation quality ({args.n} fresh faces per direction)", rows)
    print_table("Latency on one CPU thread (median of 9)", latency_rows(translator))


if __name__ == "__main__":
    main()
