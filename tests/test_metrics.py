import numpy as np
import torch

from genai_core.metrics.frechet import frechet_distance
from genai_core.train.task import EpochSampler


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 3))
    assert frechet_distance(a, a) < 1e-6
    # N(0, I) vs N(2, I) in 3-D: ||mu||^2 = 3 * 4 = 12
    assert abs(frechet_distance(a, rng.normal(size=(20000, 3)) + 2) - 12) < 0.2
    # N(0, I) vs N(0, 4I): per dimension 1 + 4 - 2 * 2 = 1
    assert abs(frechet_distance(a, 2 * rng.normal(size=(20000, 3))) - 3) < 0.2


def test_epoch_sampler_covers_each_epoch_once_and_is_replayable():
    sampler = EpochSampler(size=10, batch_size=3, seed=1)
    assert len(sampler) == 3
    epoch = torch.cat([sampler.indices(step) for step in range(3)])
    assert len(set(epoch.tolist())) == 9  # the ragged tenth sample waits for another epoch
    again = EpochSampler(size=10, batch_size=3, seed=1)
    assert torch.equal(again.indices(4), sampler.indices(4))


def test_benchmark_tables_show_a_missing_column_as_a_dash(capsys):
    from benchmarks.common import print_table

    print_table("t", [{"model": "a", "FID": 76.123}, {"model": "floor", "FD": 1.0}])
    lines = capsys.readouterr().out.strip().splitlines()
    assert [cell.strip() for cell in lines[-4].split("|")[1:-1]] == ["model", "FID", "FD"]
    assert [cell.strip() for cell in lines[-1].split("|")[1:-1]] == ["floor", "-", "1"]
    assert [cell.strip() for cell in lines[-2].split("|")[1:-1]] == ["a", "76.12", "-"]
