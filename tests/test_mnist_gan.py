"""The MNIST GAN tab's handlers on the shipped weights: grid, walk, bad input."""

import gradio as gr
import imageio.v3 as iio
import numpy as np
import pytest

from demos import mnist_gan


def test_mnist_grid_shape_and_determinism():
    grid = mnist_gan.grid(9, 5)
    # 3x3 digits of 28 px with 2 px padding, enlarged 2x
    assert grid.shape == (2 * (3 * 30 + 2), 2 * (3 * 30 + 2), 3)
    assert np.array_equal(grid, mnist_gan.grid(9, 5))
    assert not np.array_equal(grid, mnist_gan.grid(9, 6))


def test_mnist_walk_writes_a_readable_gif():
    gif, strip, download = mnist_gan.walk(0, 1, 6, 5)
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] == 6 and frames.shape[1:3] == (28 * 4, 28 * 4)
    assert strip.shape[0] == 28 * 4 and download == gif


@pytest.mark.parametrize(
    "call",
    [
        lambda: mnist_gan.grid(65, 0),
        lambda: mnist_gan.grid(1.5, 0),
        lambda: mnist_gan.walk(0, 1, 1000, 5),
        lambda: mnist_gan.walk(0, None, 5, 5),
    ],
)
def test_bad_values_become_a_message(call):
    with pytest.raises(gr.Error):
        call()
