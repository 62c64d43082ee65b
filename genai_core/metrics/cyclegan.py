"""How well the CycleGAN changes hair colour and nothing else: on procedural faces drawn twice (source
and target hair) or on held-out photos with hair masks, the referee's reading, the error outside the
hair and the round trip."""

from ..data.faces import HAIR_COLOURS, render_hair_twins
from ..images import to_model_range
from .hair_segmenter import mask_metrics
from .image import l1, psnr, ssim


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


def real_cyclegan_metrics(pipeline, referee, domains: dict, segmenter=None) -> dict[str, float]:
    """For each direction, on held-out photos of the source colour (domains: colour -> HairDomain with
    hair masks): the share the real-face referee reads as the target colour, PSNR and SSIM outside the
    hair mask (what should not change), the round trip's L1 and, for attention generators, the IoU of
    the generator's mask with the hair mask. `quality` as in cyclegan_metrics. With a segmenter (the
    hair segmenter's pipeline) the change is kept to the hair it marks, as in the tab."""
    metrics, quality = {}, []
    colours = list(referee.hair_colours)
    for direction in pipeline.directions:
        source, target = (part.strip() for part in direction.split("->"))
        domain = domains[source]
        images = to_model_range(domain.images)
        hair = None if segmenter is None else segmenter.hair(images)
        converted, round_trip, mask = pipeline.translate_with_mask(images, direction, hair)
        key = f"{source}_to_{target}"
        outside = (1 - domain.masks).bool()
        known = domain.has_mask
        verdict = referee.predict(converted)["hair_colour"]
        metrics[f"success_{key}"] = float((verdict == colours.index(target)).mean())
        metrics[f"photos_{key}"] = float(len(images))
        if known.any():
            pair, keep = (converted[known], images[known]), outside[known]
            metrics[f"psnr_outside_hair_{key}"] = psnr(*pair, keep).mean().item()
            metrics[f"ssim_outside_hair_{key}"] = ssim(*pair, keep).mean().item()
            if mask is not None:
                metrics[f"mask_iou_{key}"] = mask_metrics(mask[known], domain.masks[known])["iou_per_photo"]
        metrics[f"l1_round_trip_{key}"] = l1(round_trip, images).mean().item()
        quality.append(metrics[f"success_{key}"] * metrics.get(f"ssim_outside_hair_{key}", 1.0))
    metrics["quality"] = sum(quality) / len(quality)
    return metrics
