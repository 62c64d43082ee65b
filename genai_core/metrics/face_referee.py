"""How well the face referee reads attributes: accuracy and ROC-AUC per yes/no attribute, accuracy of
the hair colour, and blond against black alone (the CycleGAN's two domains), on the photos whose label
is known."""

import numpy as np
import torch


def roc_auc(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random positive scores above a random negative
    (ties count half); nan without both classes."""
    scores, truth = np.asarray(scores, np.float64), np.asarray(truth).astype(bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if not positives or not negatives:
        return float("nan")
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores[order]):  # average the ranks of ties
        tied = scores == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return float((ranks[truth].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def referee_metrics(verdict: dict[str, np.ndarray], labels: dict[str, torch.Tensor],
                    hair_colours: tuple[str, ...]) -> dict[str, float]:
    """verdict: the referee pipeline's predict(); labels: 1 / 0 / -1 (unknown) per yes/no attribute,
    a class index or -1 for hair_colour."""
    metrics = {}
    for key, target in labels.items():
        if key not in verdict:
            continue
        target = target.numpy()
        known = target >= 0
        if not known.any():
            continue
        metrics[f"accuracy_{key}"] = float((verdict[key][known] == target[known]).mean())
        if f"{key}_prob" in verdict:
            metrics[f"auc_{key}"] = roc_auc(verdict[f"{key}_prob"][known], target[known])
    if "hair_colour" in labels and {"blond", "black"} <= set(hair_colours):
        blond, black = hair_colours.index("blond"), hair_colours.index("black")
        target = labels["hair_colour"].numpy()
        pair = (target == blond) | (target == black)
        if pair.any():
            probs = verdict["hair_colour_probs"][pair]
            says_blond = probs[:, blond] > probs[:, black]
            metrics["accuracy_blond_vs_black"] = float((says_blond == (target[pair] == blond)).mean())
    heads = [k for k in metrics if k.startswith("accuracy_") and k != "accuracy_blond_vs_black"]
    accuracies = [metrics[k] for k in heads]
    metrics["accuracy_mean"] = float(np.mean(accuracies)) if accuracies else float("nan")
    return metrics
