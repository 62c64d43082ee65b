"""Reconstruction quality and speed of the shipped MNIST autoencoder, read by the shipped referee.

Run: python -m benchmarks.autoencoder [--data ../shared/data/mnist.npz]   (under a minute)
"""

import argparse

import numpy as np
import torch

from genai_core.data.mnist import digit_batch, load_npz, prepare_drawing
from genai_core.metrics.mnist_autoencoder import reconstruction_metrics
from genai_core.plots import LatentMapPicture
from genai_core.registry import SHARED_DATA, get

from .common import median_seconds, print_table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(SHARED_DATA / "mnist.npz"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # the app's handlers run on one core each

    referee = get("mnist_classifier").load_pipeline()
    ae = get("mnist_autoencoder").load_pipeline()
    test_x, test_y = load_npz(args.data, "test")
    images = digit_batch(test_x)
    shipped = reconstruction_metrics(images, ae.reconstruct(images), test_y, referee)
    # the floor and ceiling of the scale: the input itself, and the mean test digit for every input
    identity = reconstruction_metrics(images, images, test_y, referee)
    mean_image = images.mean(0, keepdim=True).expand_as(images)
    mean_digit = reconstruction_metrics(images, mean_image, test_y, referee)
    rows = [
        {"reconstruction": "the input itself (ceiling; PSNR capped at 100)", **identity},
        {"reconstruction": "shipped autoencoder (20-number code)", **shipped},
        {"reconstruction": "the mean test digit (floor)", **mean_digit},
    ]
    for row in rows:
        row["psnr"] = min(row["psnr"], 100.0)  # identical images: PSNR is capped by the 1e-10 floor
    print_table(f"Reconstructions of the {len(images):,} MNIST test digits", rows)

    one = test_x[:1]
    drawing = np.full((280, 280), 255, np.uint8)
    drawing[40:240, 130:150] = 0  # a "1" drawn dark on white, as the Sketchpad sends it
    ae.latent_map  # noqa: B018 (fit the map once, outside the timing: the app keeps it too)
    drawn = draw_map(ae)
    timings = {
        "reconstruct_one_digit_ms": (lambda: ae.reconstruct(digit_batch(one)), 51),
        "digit_with_map_point_ms": (lambda: ae.reconstruct_digits(one), 51),
        "prepare_280px_drawing_ms": (lambda: prepare_drawing(drawing), 21),
        "fit_map_10k_codes_ms": (lambda: type(ae).latent_map.func(ae), 5),
        "draw_map_once_ms": (lambda: draw_map(ae), 5),
        "mark_the_drawn_map_ms": (lambda: drawn.marked(np.zeros((1, 2))), 21),
    }
    row = {name: 1000 * median_seconds(fn, repeats) for name, (fn, repeats) in timings.items()}
    print_table("Latency on this CPU (one thread, median)", [row])


def draw_map(ae) -> LatentMapPicture:
    """The tab's map: every test code drawn (once per model; each request only marks its code)."""
    points = ae.latent_map
    return LatentMapPicture(points.points, points.labels, points.explained, "map")


if __name__ == "__main__":
    main()
