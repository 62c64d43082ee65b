"""The MNIST GAN tab's handlers on the shipped weights (MNIST digits and Fashion-MNIST garments): a
grid with the referee's reading under each item, the walk, bad input."""

import gradio as gr
import imageio.v3 as iio
import numpy as np
import pytest

from demos import mnist_gan


@pytest.mark.parametrize("dataset", list(mnist_gan.DATASETS))
def test_grid_is_labelled_and_reproducible(dataset):
    grid = mnist_gan.grid(dataset, 9, 5)
    assert grid.ndim == 3 and grid.shape[2] == 3 and grid.shape[1] > 3 * 28 * 3
    assert np.array_equal(grid, mnist_gan.grid(dataset, 9, 5))
    assert not np.array_equal(grid, mnist_gan.grid(dataset, 9, 6))


def test_walk_writes_a_readable_gif():
    gif, strip, download = mnist_gan.walk(mnist_gan.FIRST, 0, 1, 6, 5)
    frames = iio.imread(gif, index=None)
    assert frames.shape[0] == 6 and frames.shape[1:3] == (28 * 4, 28 * 4)
    assert strip.shape[0] == 28 * 4 and download == gif


@pytest.mark.parametrize(
    "call",
    [
        lambda: mnist_gan.grid(mnist_gan.FIRST, 65, 0),
        lambda: mnist_gan.grid(mnist_gan.FIRST, 1.5, 0),
        lambda: mnist_gan.grid("CIFAR", 4, 0),
        lambda: mnist_gan.walk(mnist_gan.FIRST, 0, 1, 1000, 5),
        lambda: mnist_gan.walk(mnist_gan.FIRST, 0, None, 5, 5),
    ],
)
def test_bad_values_become_a_message(call):
    with pytest.raises(gr.Error):
        call()
