"""FD-MNIST and class coverage of the shipped MNIST GAN, measured by the shipped referee.

Run: python -m benchmarks.mnist [--data ../shared/data/mnist.npz]   (about a minute)
"""

import argparse

import numpy as np
import torch

from genai_core.data.mnist import digit_batch, load_npz
from genai_core.metrics.frechet import frechet_distance
from genai_core.metrics.mnist_gan import mnist_gan_metrics
from genai_core.registry import SHARED_DATA, get

from .common import median_seconds, print_table

N = 10_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(SHARED_DATA / "mnist.npz"))
    args = parser.parse_args()
    torch.set_num_threads(2)

    referee = get("mnist_classifier").load_pipeline()
    gan = get("mnist_gan").load_pipeline()
    test_x, test_y = load_npz(args.data, "test")
    train_x, _ = load_npz(args.data, "train")
    test_images = digit_batch(test_x)
    real = referee.features(test_images[:N])
    accuracy = float((referee.predict(test_images) == test_y.numpy()).mean())

    generator = torch.Generator().manual_seed(0)
    fake = gan.images(torch.randn(N, gan.generator.latent_dim, generator=generator))
    shipped = mnist_gan_metrics(referee, fake, real)
    # a random subset: the shared file is sorted by label, so its first N digits are not typical
    subset = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:N]
    floor = frechet_distance(referee.features(digit_batch(train_x[subset])), real)
    noise = torch.rand(N, 1, 28, 28, generator=generator) * 2 - 1
    ceiling = frechet_distance(referee.features(noise), real)
    shares = np.bincount(referee.predict(fake), minlength=10) / N

    print_table(
        f"FD-MNIST against {N} test digits (lower is better)",
        [
            {"images": "MNIST train digits (floor)", "fd_mnist": floor},
            {"images": "shipped MNIST GAN", "fd_mnist": shipped["fd_mnist"]},
            {"images": "uniform noise (ceiling)", "fd_mnist": ceiling},
        ],
    )
    print_table(
        "Class coverage of generated digits (referee's predictions)",
        [
            {
                "class_evenness": shipped["class_evenness"],
                "min_class_share": shipped["min_class_share"],
                "classes_covered_2pct": shipped["classes_covered"],
                "shares_0_to_9": " ".join(f"{s:.3f}" for s in shares),
            }
        ],
    )
    latency = median_seconds(lambda: gan.grid(64, 0))
    print_table(
        "Referee and speed",
        [{"referee_test_accuracy": accuracy, "grid_64_latency_ms": 1000 * latency}],
    )


if __name__ == "__main__":
    main()
