"""What every tab shares: the seed box, input checks that become gr.Error, lazy model loading."""

import functools
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from genai_core.checkpoint import WeightsError
from genai_core.registry import load_pipeline

MAX_SEED = 2**31 - 1


def seed_box(value: int = 0, label: str = "Seed") -> gr.Number:
    return gr.Number(value=value, label=label, precision=0, minimum=0, maximum=MAX_SEED)


def check_int(value, name: str, low: int, high: int) -> int:
    """Sliders and number boxes can still send anything through the API: check, then convert."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {value!r}") from None
    if number != int(number) or not low <= number <= high:
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(number)


def check_float(value, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:  # also rejects NaN
        raise gr.Error(f"{name} must be between {low} and {high}, got {value!r}")
    return number


def check_seed(value, name: str = "Seed") -> int:
    return check_int(value, name, 0, MAX_SEED)


def pipeline(name: str):
    """The shipped model, loaded once per process; a missing or broken file becomes a message."""
    try:
        return load_pipeline(name)
    except (WeightsError, OSError) as err:
        raise gr.Error(f"The {name} model cannot be loaded: {err}") from None


def user_errors(fn):
    """Turn the core's ValueErrors (bad settings) into gr.Error so the page shows a message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, WeightsError) as err:
            raise gr.Error(str(err)) from None

    return wrapper


OUTPUT_DIR = Path(tempfile.gettempdir()) / "genai_playground_outputs"
OUTPUT_MAX_AGE_S = 3600


def output_path(suffix: str) -> Path:
    """A fresh file for a download. Gradio copies it into its own cache, so files here older than
    an hour are deleted on the way: repeated use must not fill the disk."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - OUTPUT_MAX_AGE_S
    for old in OUTPUT_DIR.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # another request removed it first
    handle = tempfile.NamedTemporaryFile(dir=OUTPUT_DIR, prefix="genai_", suffix=suffix, delete=False)
    handle.close()
    return Path(handle.name)


def stats_markdown(metrics: dict, labels: dict[str, str]) -> str:
    rows = [f"| {labels[k]} | {metrics[k]:.4g} |" for k in labels if k in metrics]
    return "| measure | value |\n|---|---|\n" + "\n".join(rows)


def image_array(image: torch.Tensor) -> np.ndarray:
    """One image (3, H, W) in [-1, 1] -> HxWx3 uint8 for gr.Image."""
    return ((image.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
