"""The toy GANs of book ch. 3: the two tabs' handlers on the shipped weights, and their metrics."""

import gradio as gr
import numpy as np
import pytest
import torch

from demos import toy_gans
from genai_core.data.toy import curve_points, multiples_onehot
from genai_core.metrics.toy_gans import curve_metrics, curve_score, multiples_metrics


def test_curve_tab_plots_points_and_reports_quality():
    image, stats = toy_gans.generate_curve(500, 7)
    assert image.ndim == 3 and image.shape[2] == 3
    assert "covered" in stats
    again, _ = toy_gans.generate_curve(500, 7)
    assert np.array_equal(image, again), "the same seed must give the same plot"


def test_multiples_tab_shows_ten_integers_and_a_histogram():
    batch, histogram, stats = toy_gans.generate_multiples(1000, 3)
    values = [int(v) for v in batch.split(", ")]
    assert len(values) == 10 and all(0 <= v < 100 for v in values)
    assert histogram.ndim == 3 and "multiples of 5" in stats


@pytest.mark.parametrize(
    "call",
    [
        lambda: toy_gans.generate_curve(0, 1),
        lambda: toy_gans.generate_curve(10**9, 1),
        lambda: toy_gans.generate_curve(10, -1),
        lambda: toy_gans.generate_curve("many", 1),
        lambda: toy_gans.generate_multiples(100, 2**40),
    ],
)
def test_bad_values_become_a_message(call):
    with pytest.raises(gr.Error):
        call()


def test_curve_metrics_reward_fit_and_punish_collapse():
    good = curve_points(4096, torch.Generator().manual_seed(0))
    metrics = curve_metrics(good)
    assert metrics["mse"] < 1e-8 and metrics["coverage"] == 1.0
    collapsed = good.clone()
    collapsed[:, 0] = collapsed[:, 0] / 25  # all x in [0, 2] where the curve is flat...
    collapsed[:, 1] = 1.08 ** collapsed[:, 0]  # ...and exactly on the curve: tiny MSE
    bad = curve_metrics(collapsed)
    assert bad["mse"] < 1e-8 and bad["coverage"] <= 0.04
    assert curve_score(metrics) > curve_score(bad)


def test_multiples_metrics():
    real = multiples_onehot(20000, torch.Generator().manual_seed(0)).argmax(1).numpy()
    even = multiples_metrics(real)
    assert even["share_valid"] == 1.0 and even["evenness"] > 0.99 and even["values_covered"] == 20
    collapsed = multiples_metrics(np.array([5, 10] * 50 + [3]))
    assert collapsed["values_covered"] == 2 and collapsed["evenness"] < 0.25 and collapsed["share_valid"] < 1
