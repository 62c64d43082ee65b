"""Every figure the project draws, as HxWx3 uint8 arrays: toy-GAN plots, training curves, attention
heatmaps, the autoencoder's latent map and text pages.

Figures are matplotlib.figure.Figure objects, never pyplot: pyplot keeps global state that
handlers running in parallel threads would share (and leak, one figure per call)."""

import textwrap

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .data.toy import MULTIPLE, NUM_VALUES, X_MAX, curve


def figure_to_array(figure: Figure, dpi: int = 80) -> np.ndarray:
    """The figure's pixels, rendered straight to memory (a PNG round trip cost a fifth of a heatmap)."""
    figure.set_dpi(dpi)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def curve_figure(points: np.ndarray) -> Figure:
    figure = Figure(figsize=(6, 4))
    axis = figure.add_subplot()
    xs = np.linspace(0, X_MAX, 200)
    axis.plot(xs, curve(torch.from_numpy(xs)).numpy(), color="black", lw=1.5, label="y = 1.08^x")
    axis.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5, color="tab:orange", label="generated")
    axis.set(xlabel="x", ylabel="y", xlim=(-5, 55), ylim=(-5, 55))
    axis.legend(loc="upper left")
    figure.tight_layout()
    return figure


def multiples_figure(values: np.ndarray) -> Figure:
    figure = Figure(figsize=(7, 3.5))
    axis = figure.add_subplot()
    counts = np.bincount(values, minlength=NUM_VALUES)
    colors = ["tab:green" if v % MULTIPLE == 0 else "tab:red" for v in range(NUM_VALUES)]
    axis.bar(np.arange(NUM_VALUES), counts, color=colors, width=0.9)
    axis.axhline(len(values) / (NUM_VALUES // MULTIPLE), color="black", lw=1, ls="--", label="perfectly even")
    axis.set(xlabel="generated integer (green: multiple of 5)", ylabel="count", xlim=(-1, NUM_VALUES))
    axis.legend(loc="upper right")
    figure.tight_layout()
    return figure


def history_figure(history: list[dict]) -> Figure:
    """Training curves from a Trainer history (losses every log_every steps, metrics at each eval)."""
    losses = [h for h in history if "eval" not in h]
    evals = [h for h in history if "eval" in h]
    figure = Figure(figsize=(10, 3.4))
    loss_axis, eval_axis = figure.subplots(1, 2)
    for key in sorted({k for h in losses for k in h} - {"step"}):
        points = [(h["step"], h[key]) for h in losses if key in h]
        loss_axis.plot(*zip(*points, strict=True), label=key, lw=1.2)
    loss_axis.set(title="training logs", xlabel="step")
    for key in sorted({k for h in evals for k in h["eval"]}):
        points = [(h["step"], h["eval"][key]) for h in evals if key in h["eval"]]
        eval_axis.plot(*zip(*points, strict=True), marker="o", ms=3, label=key, lw=1.2)
    eval_axis.set(title="evaluation", xlabel="step")
    for axis in (loss_axis, eval_axis):
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7, loc="best")
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def attention_figure(weights: np.ndarray, source: list[str], target: list[str], title: str) -> np.ndarray:
    figure = Figure(figsize=(1.0 + 0.45 * len(source), 1.2 + 0.35 * len(target)))
    axis = figure.add_subplot()
    image = axis.imshow(weights, cmap="viridis", vmin=0, vmax=max(float(weights.max()), 1e-6), aspect="auto")
    axis.set_xticks(range(len(source)), source, rotation=60, ha="right")
    axis.set_yticks(range(len(target)), target)
    axis.set(xlabel="English (source) tokens", ylabel="French (output) tokens", title=title)
    figure.colorbar(image, ax=axis, fraction=0.05)
    figure.tight_layout()
    return figure_to_array(figure)


class LatentMapPicture:
    """The test set's codes on a 2-D map coloured by label (0-9), drawn once; `marked(points)` adds a
    gold star per point in a few milliseconds (matplotlib takes ~0.1 s to draw the 10,000 dots)."""

    def __init__(self, points: np.ndarray, labels: np.ndarray, explained, title: str):
        figure = Figure(figsize=(6, 5.4), dpi=80)
        axis = figure.add_subplot()
        # a fixed shuffle: the shared file is sorted by label, and the last class drawn would cover the rest
        order = np.random.default_rng(0).permutation(len(labels))
        scatter = axis.scatter(*points[order].T, c=labels[order], cmap="tab10", vmin=-0.5, vmax=9.5, s=3,
                               alpha=0.5, linewidths=0)
        figure.colorbar(scatter, ax=axis, ticks=range(10), label="label")
        if explained is None:
            axis.set(xlabel="z1", ylabel="z2")
        else:
            axis.set(xlabel=f"PC1 ({explained[0]:.0%} of the variance)", ylabel=f"PC2 ({explained[1]:.0%})")
        axis.set_title(title, fontsize=10)
        figure.tight_layout()
        self.image = figure_to_array(figure, dpi=80)
        # data -> pixel coordinates of the saved picture (same dpi; display y grows upwards)
        (x0, y0), (x1, y1) = axis.transData.transform([[0.0, 0.0], [1.0, 1.0]])
        height = self.image.shape[0]
        self.scale, self.offset = np.array([x1 - x0, y0 - y1]), np.array([x0, height - y0])
        self.box = axis.get_window_extent()  # stars outside the axes are clipped to it

    def marked(self, points: np.ndarray | None = None) -> np.ndarray:
        if points is None:
            return self.image
        from PIL import ImageDraw

        picture = Image.fromarray(self.image)
        draw = ImageDraw.Draw(picture)
        height = self.image.shape[0]
        left, right = self.box.x0, self.box.x1
        top, bottom = height - self.box.y1, height - self.box.y0
        for x, y in np.atleast_2d(points) * self.scale + self.offset:
            x, y = min(max(x, left), right), min(max(y, top), bottom)
            star = [(x + r * np.sin(a), y - r * np.cos(a))
                    for k in range(10) for r, a in [((11 if k % 2 == 0 else 4.5), k * np.pi / 5)]]
            draw.polygon(star, fill=(255, 200, 0), outline=(0, 0, 0), width=2)
        return np.asarray(picture)


def text_image(text: str, width: int = 100) -> np.ndarray:
    lines = [w for para in text.split("\n") for w in (textwrap.wrap(para, width) or [""])]
    figure = Figure(figsize=(9, 0.25 * len(lines) + 0.5))
    figure.text(0.01, 0.98, "\n".join(lines), va="top", family="monospace", fontsize=9)
    return figure_to_array(figure)
