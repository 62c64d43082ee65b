"""Unknown labels of training photos filled by a referee where it is sure (pseudo labels).

Real photos lack many labels (LFW's classifiers only mark their most confident positives). A task may
name a referee (data.pseudo_labels: a weights folder) that reads the photos once at the start; where
its probability for an unknown label is at least data.pseudo_confidence (or at most 1 minus it), the
label is taken from it. Known labels are never changed, and held-out photos are never filled.
"""

import torch

from ..config import project_path
from ..images import to_model_range
from ..pipelines.face_referee import FaceRefereePipeline


def fill_unknown(labels: dict[str, torch.Tensor], images: torch.Tensor, referee_folder, confidence: float,
                 names=None) -> dict[str, torch.Tensor]:
    """labels as genai_core.data.real_faces gives them (binary 1 / 0 / -1, hair_colour an index or -1)
    with the unknown entries of `names` (default: all the referee reads) filled where it is sure."""
    referee = FaceRefereePipeline.from_pretrained(project_path(referee_folder))
    verdict = referee.predict(to_model_range(images))
    filled = {k: v.clone() for k, v in labels.items()}
    for name in names or list(labels):
        if name not in filled:
            continue
        unknown = filled[name] < 0
        if name == "hair_colour":
            from ..data.real_faces import HAIR_COLOURS

            probs = torch.from_numpy(verdict["hair_colour_probs"])
            sure = unknown & (probs.max(1).values >= confidence)
            named = torch.tensor([HAIR_COLOURS.index(c) for c in referee.hair_colours])[probs.argmax(1)]
            filled[name][sure] = named[sure].to(filled[name].dtype)
        elif f"{name}_prob" in verdict:
            prob = torch.from_numpy(verdict[f"{name}_prob"]).float()
            sure = unknown & ((prob >= confidence) | (prob <= 1 - confidence))
            filled[name][sure] = (prob[sure] > 0.5).to(filled[name].dtype)
    return filled
