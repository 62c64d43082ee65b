"""How well the digit autoencoder gives its input back: error, PSNR, and the referee's reading."""

from .image import psnr


def reconstruction_metrics(images, reconstructions, labels=None, referee=None) -> dict:
    """Test-set MSE (on the [0, 1] pixel scale, like PSNR), mean PSNR per image in dB, and how
    often the referee still reads the right digit in the reconstructions."""
    unit = lambda t: (t.clamp(-1, 1) + 1) / 2  # noqa: E731
    metrics = {
        "mse": float(((unit(images) - unit(reconstructions)) ** 2).mean()),
        "psnr": float(psnr(images, reconstructions).mean()),
    }
    if referee is not None and labels is not None:
        metrics["referee_accuracy"] = float((referee.predict(reconstructions) == labels.numpy()).mean())
    return metrics
