"""Controllability of the conditional WGAN-GP, read by the face referee."""

import numpy as np
import torch

MAX_BATCH = 512


def cwgan_metrics(
    generator, referee, label_names, n: int, seed: int
) -> dict[str, float]:
    """Controllability: the share of faces whose referee verdict matches the requested label(s)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.latent_dim, generator=gen)
    labels = (torch.rand(n, len(label_names), generator=gen) < 0.5).float()
    with torch.no_grad():
        fake = torch.cat(
            [generator(a, b) for a, b in zip(z.split(MAX_BATCH), labels.split(MAX_BATCH), strict=True)]
        )
    verdict = referee.predict(fake)
    metrics, all_match = {}, np.ones(n, dtype=bool)
    for i, name in enumerate(label_names):
        match = verdict[name] == labels[:, i].numpy().astype(np.int64)
        metrics[f"control_{name}"] = float(match.mean())
        all_match &= match
    metrics["control_all"] = float(all_match.mean())
    return metrics
