"""How well a hair mask matches the reference (drawn or parsed) one."""

import torch


def mask_metrics(probability: torch.Tensor, reference: torch.Tensor, threshold: float = 0.5) -> dict:
    """probability and reference (N, 1, H, W): IoU, precision, recall and pixel accuracy of the mask
    at threshold, pooled over all pixels, and the mean per-photo IoU."""
    predicted, truth = probability > threshold, reference > 0.5
    both = (predicted & truth).flatten(1).sum(1).float()
    either = (predicted | truth).flatten(1).sum(1).float()
    per_photo = torch.where(either > 0, both / either.clamp(min=1), torch.ones_like(both))
    return {
        "iou": float(both.sum() / either.sum().clamp(min=1)),
        "iou_per_photo": float(per_photo.mean()),
        "precision": float(both.sum() / predicted.sum().clamp(min=1)),
        "recall": float(both.sum() / truth.sum().clamp(min=1)),
        "pixel_accuracy": float((predicted == truth).float().mean()),
    }
