import numpy as np
import torch

from genai_core.data.toy import curve_points, multiples_onehot
from genai_core.metrics.frechet import frechet_distance
from genai_core.metrics.toy import curve_metrics, curve_score, multiples_metrics
from genai_core.train.task import EpochSampler


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    assert frechet_distance(a, a) < 1e-6
    # N(0, I) vs N(2, I) in 3-D: ||mu||^2 = 3 * 4 = 12
    assert abs(frechet_distance(a, rng.normal(size=(20000, 3)) + 2) - 12) < 0.2
    # N(0, I) vs N(0, 4I): per dimension 1 + 4 - 2 * 2 = 1
    assert abs(frechet_distance(a, 2 * rng.normal(size=(20000, 3))) - 3) < 0.2


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


def test_epoch_sampler_covers_each_epoch_once_and_is_replayable():
    sampler = EpochSampler(size=10, batch_size=3, seed=1)
    assert len(sampler) == 3
    epoch = torch.cat([sampler.indices(step) for step in range(3)])
    assert len(set(epoch.tolist())) == 9  # the ragged tenth sample waits for another epoch
    again = EpochSampler(size=10, batch_size=3, seed=1)
    assert torch.equal(again.indices(4), sampler.indices(4))
