"""Quality and speed of the two shipped face VAEs.

Run:  python -m benchmarks.vae           (a couple of minutes; the real-photo rows need
                                          ../shared/data/real_faces_128.tar and are skipped without it)

- reconstruction: PSNR (dB) of decode(mu) against the input at 64x64, on held-out faces: 500 fresh
  procedural renders for vae_faces; the 260 test_* photos for vae_real_faces, and its 770 training
  photos to show the train/test gap that 770 photos leave. A "mean face" baseline (every input
  replaced by the average training image) frames the numbers.
- latent use: KL per image and the number of latent dimensions with mean KL > 0.01 nats (posterior
  collapse would leave few).
- arithmetic (vae_faces): for each of `--draws` draws of 512 labelled faces, every preset's
  mean(mu | a) - mean(mu | b) + mean(mu | c) is decoded; success = the referee reads the intended
  glasses and sex. Plus: adding the mean glasses vector to faces without glasses.
- latency: median wall time of each tab button's core work, on one thread.
"""

import argparse
from pathlib import Path

import torch

from genai_core.data.faces import PRESETS, load_face_photos, render_batch
from genai_core.images import image_grid, save_animation, to_model_range
from genai_core.metrics.image import psnr
from genai_core.metrics.vae import arithmetic_metrics
from genai_core.models.vae import kl_divergence
from genai_core.registry import SHARED_DATA, load_pipeline

from .common import median_seconds, print_table

FRESH_SEED = 99_000


def reconstruction_row(name, vae, images, baseline):
    images = vae.fit(images)
    with torch.no_grad():
        mu, logvar = vae.vae.encode(images)
    kl_per_dim = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0)
    return {
        "model": name,
        "faces": len(images),
        "PSNR (dB)": psnr(vae.decode(mu), images).mean().item(),
        "mean-face PSNR": psnr(baseline.expand_as(images), images).mean().item(),
        "KL / image": kl_divergence(mu, logvar).mean().item(),
        "active dims": int((kl_per_dim > 0.01).sum()),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    faces_vae, real_vae, referee = (load_pipeline(n) for n in ("vae_faces", "vae_real_faces", "face_referee"))

    rows = []
    fresh, _ = render_batch(500, FRESH_SEED, 64)
    train_mean = render_batch(2000, 0, 64)[0].mean(0, keepdim=True)
    rows.append(reconstruction_row("vae_faces, fresh renders", faces_vae, fresh, train_mean))
    photos = SHARED_DATA / "real_faces_128.tar"
    if photos.is_file():
        train = real_vae.fit(to_model_range(load_face_photos(photos, 128, "train", 260)))
        test = real_vae.fit(to_model_range(load_face_photos(photos, 128, "eval", 260)))
        mean = train.mean(0, keepdim=True)
        rows.append(reconstruction_row("vae_real_faces, test photos", real_vae, test, mean))
        rows.append(reconstruction_row("vae_real_faces, training photos", real_vae, train, mean))
    print_table("Reconstruction from mu at 64x64", rows)

    metrics = arithmetic_metrics(faces_vae, referee, seeds=range(args.draws))
    print_table(f"Latent arithmetic (vae_faces, {args.draws} draws x {len(PRESETS)} presets)", [metrics])

    photo = fresh[:1]
    out = Path("/tmp/benchmark_vae.mp4")
    timings = {
        "8 faces from the prior": lambda: image_grid(faces_vae.prior(8, 0)),
        "encode + reconstruct 1 photo": lambda: faces_vae.reconstruct(photo),
        "interpolate 8 frames + MP4": lambda: save_animation(
            [image_grid(f[None]) for f in faces_vae.interpolate(*faces_vae.prior_codes(2, 0), 8)], out
        ),
        "arithmetic (512 labelled faces)": lambda: faces_vae.arithmetic(next(iter(PRESETS)), 0),
    }
    rows = [{"action": k, "seconds": median_seconds(f, repeats=5)} for k, f in timings.items()]
    print_table("Latency on one CPU thread (median of 5)", rows)


if __name__ == "__main__":
    main()
