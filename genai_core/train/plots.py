"""Training curves from a Trainer history (losses every log_every steps, metrics at each eval)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def history_figure(history: list[dict]):
    losses = [h for h in history if "eval" not in h]
    evals = [h for h in history if "eval" in h]
    figure, (loss_axis, eval_axis) = plt.subplots(1, 2, figsize=(10, 3.4))
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
