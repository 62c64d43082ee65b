"""How well the CycleGAN changes hair colour and nothing else: on procedural faces drawn twice (source
and target hair), the referee's reading, the error outside the exact hair mask and the round trip."""

from ..data.faces import HAIR_COLOURS, render_hair_twins
from .image import l1, ssim


def cyclegan_metrics(pipeline, referee, n: int, seed: int) -> dict[str, float]:
    """For each direction, on n held-out faces drawn with source hair (and their target-hair twins):
    the share the referee reads as the target colour, L1 and SSIM outside the hair (identity), L1 to
    the twin (the ideal output) and the round trip's L1 to the input. `quality` = mean over the
    directions of success x SSIM outside hair (the keep-best metric)."""
    size = int(pipeline.cfg.model.size)
    metrics, quality = {}, []
    for i, (direction, _) in enumerate(pipeline.directions.items()):
        source, target = (part.strip() for part in direction.split("->"))
        images, twins, hair = render_hair_twins(n, seed + i, size, source, target)
        converted, round_trip = pipeline.translate(images, direction)
        verdict = referee.predict(converted)["hair_colour"]
        key = f"{source}_to_{target}"
        keep = ~hair
        metrics[f"success_{key}"] = float((verdict == HAIR_COLOURS.index(target)).mean())
        metrics[f"l1_outside_hair_{key}"] = l1(converted, images, keep).mean().item()
        metrics[f"ssim_outside_hair_{key}"] = ssim(converted, images, keep).mean().item()
        metrics[f"l1_to_twin_{key}"] = l1(converted, twins).mean().item()
        metrics[f"l1_round_trip_{key}"] = l1(round_trip, images).mean().item()
        quality.append(metrics[f"success_{key}"] * metrics[f"ssim_outside_hair_{key}"])
    metrics["quality"] = sum(quality) / len(quality)
    return metrics
