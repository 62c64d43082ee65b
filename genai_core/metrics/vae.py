"""The face VAE's measures: held-out reconstruction and ELBO, and latent arithmetic read by the referee."""

import math

import numpy as np
import torch

from ..data.faces import GROUPS, PRESETS
from ..data.real_faces import group_members, verdict_matches
from ..models.vae import kl_divergence
from .image import psnr

MAX_BATCH = 256


def vae_metrics(pipeline, images: torch.Tensor, kl_weight: float,
                calibrated: bool = False) -> dict[str, float]:
    """Held-out reconstruction (from mu) PSNR, and the negative ELBO per image with one z sample: with
    the sum of squared errors as the reconstruction term, or (calibrated) the Gaussian negative
    log-likelihood at the sigma that fits these images best."""
    vae = pipeline.vae
    recon_sum, kl_sum, psnr_sum = 0.0, 0.0, 0.0
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for batch in images.split(MAX_BATCH):
            mu, logvar = vae.encode(batch)
            z = mu + torch.randn(mu.shape, generator=gen) * torch.exp(0.5 * logvar)
            recon_sum += (vae.decode(z) - batch).pow(2).flatten(1).sum(1).sum().item()
            kl_sum += kl_divergence(mu, logvar).sum().item()
            psnr_sum += psnr(vae.decode(mu), batch).sum().item()
    n, pixels = len(images), images[0].numel()
    recon = recon_sum / n
    if calibrated:
        recon = 0.5 * pixels * (math.log(2 * math.pi * max(recon / pixels, 1e-5)) + 1)
    return {
        "psnr": psnr_sum / n,
        "recon": recon,
        "kl": kl_sum / n,
        "elbo_loss": recon + kl_weight * kl_sum / n,
    }


def real_arithmetic_metrics(pipeline, referee, photos: torch.Tensor, labels: dict | None = None) -> dict:
    """For a VAE of labelled photos: whether the referee reads the intended group in each preset's
    decoded a - b + c (from the shipped group means); with the held-out photos' labels, the same sum
    with c a real photo of group c (mu(photo) + mean(a) - mean(b)), over every such photo; and, over
    the held-out photos the referee reads as without glasses, how often adding the mean glasses vector
    gives glasses and keeps the sex."""
    means = pipeline.mean_codes(0, 0)
    hits, photo_hits = [], []
    for a, b, c, intended in pipeline.presets.values():
        verdict = referee.predict(pipeline.decode((means[a] - means[b] + means[c])[None]))
        hits.append(bool(verdict_matches(verdict, intended, referee.hair_colours)[0]))
        if labels is not None:
            members = group_members(labels, c)
            if members.any():
                mu = pipeline.encode(photos[members]) + means[a] - means[b]
                verdict = referee.predict(pipeline.decode(mu))
                photo_hits += verdict_matches(verdict, intended, referee.hair_colours).tolist()
    glasses = (means["man with glasses"] + means["woman with glasses"]) / 2
    plain = (means["man without glasses"] + means["woman without glasses"]) / 2
    before = referee.predict(photos)
    without = before["eyeglasses"] == 0
    mu = pipeline.encode(photos[torch.from_numpy(without)])
    after = referee.predict(pipeline.decode(mu + glasses - plain))
    extra = {}
    if photo_hits:
        extra = {"photo_arithmetic_success": float(np.mean(photo_hits)),
                 "photo_arithmetic_cases": len(photo_hits)}
    return {
        **extra,
        "arithmetic_success": float(np.mean(hits)),
        "add_glasses_success": float((after["eyeglasses"] == 1).mean()),
        "add_glasses_keeps_sex": float((after["male"] == before["male"][without]).mean()),
    }


def arithmetic_metrics(pipeline, referee, seeds=range(8), n: int = 512) -> dict[str, float]:
    """How often the referee reads the intended group in the decoded a - b + c (every preset, one
    draw of n labelled faces per seed), and how often adding the mean glasses vector to a held-out
    face without glasses gives a face with glasses that keeps its sex."""
    hits, total = 0, 0
    for seed in seeds:
        means = pipeline.mean_codes(n, 10_000 + seed)
        for a, b, c, intended in PRESETS.values():
            face = pipeline.decode((means[a] - means[b] + means[c])[None])
            verdict = referee.predict(face)
            glasses, male = GROUPS[intended]
            hits += int(verdict["eyeglasses"][0] == glasses and verdict["male"][0] == male)
            total += 1
    mu, labels = pipeline.labelled_codes(n, 20_000)
    with_glasses = mu[labels["eyeglasses"] == 1].mean(0)
    without = labels["eyeglasses"] == 0
    glasses_vector = with_glasses - mu[without].mean(0)
    verdict = referee.predict(pipeline.decode(mu[without] + glasses_vector))
    keeps_sex = verdict["male"] == labels["male"][without].numpy().astype(np.int64)
    return {
        "arithmetic_success": hits / total,
        "add_glasses_success": float((verdict["eyeglasses"] == 1).mean()),
        "add_glasses_keeps_sex": float(keeps_sex.mean()),
    }
