"""Quality and speed of the shipped toy GANs, and the book's multiples-of-5 GAN for comparison.

Run: python -m benchmarks.toy_gans   (about a minute on a 2-core CPU)
"""

import statistics
import tempfile

import torch
from omegaconf import OmegaConf

from genai_core.config import CONFIG_DIR, apply_overrides
from genai_core.registry import get
from genai_core.train import Trainer

from .common import median_seconds, print_table

SEEDS = range(5)


def median_metrics(pipeline, n: int) -> dict:
    runs = [pipeline.metrics(pipeline(n, seed)) for seed in SEEDS]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def train_book_multiples() -> dict:
    """The book's network, noise and single-sample discriminator, same steps, keep-best on our score."""
    spec = get("toy_multiples")
    with tempfile.TemporaryDirectory() as out:
        cfg = spec.config([f"out_dir={out}"])
        preset = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "presets" / "toy_multiples_book.yaml"))
        cfg = apply_overrides(cfg, preset)
        Trainer(spec.task_class(), cfg).fit()
        return median_metrics(spec.load_pipeline(out), 10_000)


def main() -> None:
    torch.set_num_threads(1)
    curve = get("toy_curve").load_pipeline()
    rows = [
        {
            "model": "toy_curve (shipped)",
            **median_metrics(curve, 4096),
            "latency_ms_1000_points": 1000 * median_seconds(lambda: curve(1000, 0)),
        }
    ]
    print_table("Curve y = 1.08^x: medians over 5 seeds of 4096 points", rows)

    multiples = get("toy_multiples").load_pipeline()
    ours = median_metrics(multiples, 10_000)
    book = train_book_multiples()
    print_table(
        "Multiples of 5: medians over 5 seeds of 10,000 integers",
        [{"model": "toy_multiples (shipped)", **ours}, {"model": "book's GAN, same 3000 steps", **book}],
    )
    latency_ms = 1000 * median_seconds(lambda: multiples(10_000, 0))
    ratio = ours["evenness"] / book["evenness"]
    print(f"\nevenness ratio shipped / book: {ratio:.2f}x; latency for 10,000 integers: {latency_ms:.2f} ms")


if __name__ == "__main__":
    main()
