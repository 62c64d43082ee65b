"""Quality and speed of the shipped anime-face DCGAN, against held-out faces and the book's width.

Run:  python -m benchmarks.dcgan                 (a few minutes on a 2-core CPU; needs the face tar)
      python -m benchmarks.dcgan --train-book S  (trains the book-width DCGAN, ngf = ndf = 64, for S
                                                  seconds of CPU time into runs/dcgan_book)

FD-anime is the Frechet distance in the feature space of weights/anime_encoder (an autoencoder the
project trains on the training faces; see its card): 2000 generated faces against the 2000
held-out real faces. The floor row compares 2000 training faces with the same held-out faces.
Nearest-neighbour (NN) distances go from each face to the closest of the 17,992 training faces: a
generator that memorised its data would sit much closer to the training set than new real faces.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from genai_core.config import CONFIG_DIR, apply_overrides
from genai_core.data.anime_faces import synthetic_faces, training_faces
from genai_core.images import to_model_range
from genai_core.metrics.frechet import frechet_distance
from genai_core.pipelines.anime_encoder import AnimeEncoderPipeline
from genai_core.pipelines.dcgan import DCGANPipeline
from genai_core.registry import get
from genai_core.train import Callback, Trainer
from genai_core.train.callbacks import TqdmProgress

from .common import median_seconds, print_table

SAMPLES = 2000
SEED = 10_000  # generated face i comes from latent(SEED + i), like the app's grid
BOOK_RUN = Path("runs/dcgan_book")
COPY_DISTANCE = 1.0  # pixel distance (3072 values in [-1, 1]) below which two faces are the same image


class StopAfterCPUSeconds(Callback):
    """Stops when this process has used `budget` seconds of CPU time since training started."""

    def __init__(self, budget: float):
        self.budget = budget

    def on_start(self, trainer):
        self.start = time.process_time()

    def on_step(self, trainer, logs):
        if time.process_time() - self.start >= self.budget:
            trainer.request_stop()


def train_book(cpu_seconds: float, threads: int = 1) -> None:
    """The book's width under the shipped schedule, stopped after the same CPU time; resumable."""
    spec = get("dcgan")
    preset = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "presets" / "dcgan_book.yaml"))
    cfg = apply_overrides(spec.config([f"threads={threads}", "steps=100000"]), preset)
    start = time.process_time()
    trainer = Trainer(spec.task_class(), cfg, [TqdmProgress(), StopAfterCPUSeconds(cpu_seconds)])
    trainer.fit()
    trainer._evaluate()  # FD at the stopping step too; exports the weights if they are the best
    note = {"step": trainer.step, "wall_time_s": round(trainer.wall_time, 1),
            "process_cpu_s": round(time.process_time() - start, 1)}
    (Path(cfg.out_dir) / "budget.json").write_text(json.dumps(note, indent=2))
    print(f"book-width DCGAN stopped at step {trainer.step} after {trainer.wall_time:.0f} s wall")


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
    cfg = OmegaConf.load(folder / "config.yaml")
    return {"step": exported["step"], "batch": cfg.batch_size, "ngf": cfg.model.ngf,
            "wall_s": exported["wall_time_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--train-book", type=float, metavar="CPU_S", help="train the book-width baseline")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--book", default=str(BOOK_RUN), help="folder of the book-width run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.train_book:
        train_book(args.train_book, args.threads)
        return

    spec = get("dcgan")
    cfg = spec.config()
    train_images = to_model_range(training_faces(cfg, "train"))
    held_out = to_model_range(training_faces(cfg, "eval"))[:SAMPLES]
    referee = AnimeEncoderPipeline.from_pretrained(cfg.eval.referee)
    real_features = referee.features(held_out)
    train_features = torch.from_numpy(referee.features(train_images))
    floor_index = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))[:SAMPLES]

    models = {"dcgan (shipped, ngf=32)": spec.weights_dir}
    if (Path(args.book) / "model.safetensors").is_file():
        models["book width (ngf=64), same CPU time"] = Path(args.book)
    rows, nn_rows = [], []
    fd_floor = frechet_distance(train_features[floor_index].numpy(), real_features)
    for label, folder in models.items():
        pipeline = DCGANPipeline.from_pretrained(folder)
        info = run_info(folder)
        params = sum(p.numel() for p in pipeline.generator.parameters())
        for truncation in (1.0, 0.8, 0.6) if folder == spec.weights_dir else (1.0,):
            fake = generated(pipeline, SAMPLES, truncation)
            rows.append({"model": label, "truncation": truncation, "G params (M)": params / 1e6,
                         "steps": info["step"], "train wall s": info["wall_s"],
                         "images/s": info["step"] * info["batch"] / info["wall_s"],
                         "FD-anime": referee.frechet(fake, real_features)})
            if truncation == 1.0:
                nn_rows.append(("generated, " + label, fake))
    rows.append({"model": "real training faces (floor)", "truncation": "-", "G params (M)": "-", "steps": "-",
                 "train wall s": "-", "images/s": "-", "FD-anime": fd_floor})
    print_table(f"FD-anime, {SAMPLES} faces vs {SAMPLES} held-out real faces (lower is better)", rows)
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

    pipeline = DCGANPipeline.from_pretrained(spec.weights_dir)
    latency = []
    for threads in sorted({1, torch.get_num_threads(), 2}):
        torch.set_num_threads(threads)
        seconds = median_seconds(lambda: pipeline.grid(64, 0), repeats=9)
        latency.append({"threads": threads, "64-face grid, median s": seconds})
    torch.set_num_threads(args.threads)
    print_table("Generator latency on this CPU (target < 0.5 s), median of 9 runs", latency)


if __name__ == "__main__":
    main()
