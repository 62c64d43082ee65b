"""Quality numbers for the toy GANs, computed on a large fixed sample rather than one batch."""

import numpy as np
import torch

from ..data.toy import MULTIPLE, NUM_VALUES, X_MAX, curve


def curve_metrics(points: torch.Tensor, bins: int = 50, min_share: float = 0.25) -> dict:
    """points (n, 2) in data units.

    mse: mean squared distance of y from 1.08^x, i.e. how well points sit on the curve.
    coverage: share of the `bins` equal slices of x in [0, 50] that hold at least `min_share` of
    the count a uniform spread would give them. A generator that collapses near x = 0 (what the
    book's early stopping rewards) has a tiny MSE and a tiny coverage.
    """
    x, y = points[:, 0], points[:, 1]
    mse = torch.mean((y - curve(x.clamp(-10, 60))) ** 2).item()
    counts = torch.histc(x, bins=bins, min=0, max=X_MAX)
    expected = len(x) / bins
    coverage = (counts >= min_share * expected).float().mean().item()
    outside = ((x < 0) | (x > X_MAX)).float().mean().item()
    return {"mse": mse, "coverage": coverage, "outside_range": outside}


def curve_score(metrics: dict, min_coverage: float = 0.95) -> float:
    """Higher is better: coverage first, then the fit. Only well-spread checkpoints compete on MSE."""
    if metrics["coverage"] < min_coverage:
        return metrics["coverage"] - 2.0
    return -np.log10(metrics["mse"] + 1e-6)


def multiples_metrics(values: np.ndarray) -> dict:
    """values: generated integers. share_valid: multiples of 5; evenness: entropy of the spread
    over the 20 valid values divided by log(20) (1 = perfectly even, 0 = a single value)."""
    values = np.asarray(values)
    valid = values[values % MULTIPLE == 0]
    counts = np.bincount(valid // MULTIPLE, minlength=NUM_VALUES // MULTIPLE).astype(float)
    share_valid = len(valid) / max(1, len(values))
    if counts.sum() == 0:
        return {"share_valid": share_valid, "evenness": 0.0, "values_covered": 0, "tv_uniform": 1.0}
    p = counts / counts.sum()
    nonzero = p[p > 0]
    evenness = float(-(nonzero * np.log(nonzero)).sum() / np.log(len(p)))
    return {
        "share_valid": share_valid,
        "evenness": evenness,
        "values_covered": int((counts > 0).sum()),
        # total variation distance to the uniform spread over the 20 valid values
        "tv_uniform": float(0.5 * np.abs(p - 1 / len(p)).sum()),
    }
