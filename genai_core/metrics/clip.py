"""The shapes CLIP's measures: held-out retrieval and how often a true caption beats a false one."""

import numpy as np
import torch
import torch.nn.functional as F

from ..data import face_captions, shapes


@torch.no_grad()
def clip_metrics(clip, scenes: list[dict], images: torch.Tensor, group: int = 100, seed: int = 0) -> dict:
    """Held-out retrieval in groups of `group` scenes (top-1 / top-5, image->text and text->image; a
    retrieved caption counts when the image satisfies it, so repeated captions are not errors) and the
    hard tests: how often the true caption beats a one-change false one (pairwise accuracy)."""
    specs = [shapes.scene_spec(s) for s in scenes]
    image_emb = torch.cat([F.normalize(clip.encode_image(c), dim=-1) for c in images.split(250)])
    text_emb = F.normalize(clip.encode_text(clip.tokenize([shapes.caption(s) for s in specs])), dim=-1)
    hits = {"i2t_top1": [], "i2t_top5": [], "t2i_top1": [], "t2i_top5": []}
    for start in range(0, len(scenes) - group + 1, group):
        part = slice(start, start + group)
        sims = image_emb[part] @ text_emb[part].T
        truth = shapes.match_matrix(scenes[part], specs[part]).bool()
        for k in (1, 5):
            top_text = sims.topk(k, dim=1).indices
            hits[f"i2t_top{k}"] += truth.gather(1, top_text).any(1).tolist()
            top_image = sims.topk(k, dim=0).indices
            hits[f"t2i_top{k}"] += truth.gather(0, top_image).any(0).tolist()
    metrics = {k: float(np.mean(v)) for k, v in hits.items()}
    metrics["retrieval_top1"] = (metrics["i2t_top1"] + metrics["t2i_top1"]) / 2
    rng = np.random.default_rng(seed)
    wins: dict[str, list[bool]] = {}
    for i, spec in enumerate(specs):
        negatives = shapes.hard_negatives(spec, rng)
        texts = [shapes.caption(spec)] + [shapes.caption(n) for n in negatives.values()]
        sims = F.normalize(clip.encode_text(clip.tokenize(texts)), dim=-1) @ image_emb[i]
        for j, kind in enumerate(negatives, start=1):
            wins.setdefault(kind, []).append(bool(sims[0] > sims[j]))
    for kind, values in wins.items():
        metrics[f"hard_{kind}"] = float(np.mean(values))
    # keep-best: retrieval alone rewards a bag of words; the prompt optimiser needs binding as well
    binding = [metrics[f"hard_{k}"] for k in shapes.BINDING if f"hard_{k}" in metrics]
    metrics["retrieval_and_binding"] = (metrics["retrieval_top1"] + float(np.mean(binding or [0.0]))) / 2
    return metrics


@torch.no_grad()
def face_clip_metrics(clip, specs: list[dict], images: torch.Tensor, group: int = 100, seed: int = 0) -> dict:
    """Held-out photos (specs: each photo's known labels): zero-shot accuracy per attribute (the photo's
    prompt for each value, e.g. 'a photo of a man' vs 'a photo of a woman', against its label), retrieval
    in groups of `group` photos by their full captions (a retrieved caption counts when the photo
    satisfies it), and `hard_flip`: how often a photo's full caption beats the same caption with one
    attribute changed. `attribute_and_binding` (the keep-best metric) averages mean attribute accuracy
    and hard_flip."""
    image_emb = torch.cat([F.normalize(clip.encode_image(c), dim=-1) for c in images.split(250)])

    def texts(prompts):
        return F.normalize(clip.encode_text(clip.tokenize(prompts)), dim=-1)

    metrics = {}
    for key in face_captions.ATTRIBUTES:
        values = range(len(face_captions.HAIR)) if key == "hair_colour" else (0, 1)
        known = [i for i, s in enumerate(specs) if key in s]
        if not known:
            continue
        prompts = texts([face_captions.phrase({key: v}) for v in values])
        guess = (image_emb[known] @ prompts.T).argmax(1).tolist()
        truth = [specs[i][key] for i in known]
        metrics[f"accuracy_{key}"] = float(np.mean([g == t for g, t in zip(guess, truth, strict=True)]))
    full = texts([face_captions.phrase(s) for s in specs])
    hits = {"i2t_top1": [], "t2i_top1": []}
    for start in range(0, len(specs) - group + 1, group):
        part = slice(start, start + group)
        sims = image_emb[part] @ full[part].T
        truth = face_captions.match_matrix(specs[part], specs[part]).bool()
        hits["i2t_top1"] += truth.gather(1, sims.argmax(1, keepdim=True)).flatten().tolist()
        hits["t2i_top1"] += truth.gather(0, sims.argmax(0, keepdim=True)).flatten().tolist()
    metrics |= {k: float(np.mean(v)) for k, v in hits.items() if v}
    rng = np.random.default_rng(seed)
    flipped = [face_captions.flip_one(s, rng) for s in specs]
    keep = [i for i, f in enumerate(flipped) if f is not None]
    other = texts([face_captions.phrase(flipped[i]) for i in keep])
    wins = ((image_emb[keep] * full[keep]).sum(1) > (image_emb[keep] * other).sum(1)).float()
    metrics["hard_flip"] = float(wins.mean())
    attributes = [v for k, v in metrics.items() if k.startswith("accuracy_")]
    metrics["attribute_and_binding"] = (float(np.mean(attributes)) + metrics["hard_flip"]) / 2
    return metrics
