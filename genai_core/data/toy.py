"""The toy worlds of book ch. 3: points on y = 1.08^x, and integers that are multiples of 5."""

import torch

X_MAX = 50.0  # x is uniform on [0, 50], so y = 1.08^x lies in [1, 46.9]
CURVE_BASE = 1.08
NUM_VALUES = 100  # integers 0..99, one-hot encoded
MULTIPLE = 5


def curve(x: torch.Tensor) -> torch.Tensor:
    return CURVE_BASE**x


def curve_points(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 2) points (x, 1.08^x) with x uniform on [0, 50]."""
    x = torch.rand(n, generator=generator) * X_MAX
    return torch.stack([x, curve(x)], dim=1)


# Networks see both coordinates scaled to about [-1, 1]; the book feeds raw values up to 50,
# which makes the tiny networks slow and unstable to train.
def normalise_points(points: torch.Tensor) -> torch.Tensor:
    return points / (X_MAX / 2) - 1


def denormalise_points(points: torch.Tensor) -> torch.Tensor:
    return (points + 1) * (X_MAX / 2)


def valid_values() -> torch.Tensor:
    return torch.arange(0, NUM_VALUES, MULTIPLE)


def multiples_onehot(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, 100) one-hot rows of integers drawn uniformly from the 20 multiples of 5 below 100."""
    values = valid_values()
    picks = values[torch.randint(len(values), (n,), generator=generator)]
    return torch.nn.functional.one_hot(picks, NUM_VALUES).float()
