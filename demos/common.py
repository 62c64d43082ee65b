"""What every tab shares: the seed box, input checks that become gr.Error, lazy model loading."""

import functools
import logging
import math
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from genai_core.checkpoint import WeightsError
from genai_core.registry import load_pipeline

MAX_SEED = 2**31 - 1
ERROR_SECONDS = 8  # how long an error toast stays: long enough to read, short enough not to pile up
log = logging.getLogger("genai_playground")


def user_error(message: str) -> gr.Error:
    """A mistake of the visitor's: shown in the page, logged as one line (never a traceback)."""
    log.info("user error: %s", message[:300])
    return gr.Error(message, duration=ERROR_SECONDS, print_exception=False)


def seed_box(value: int = 0, label: str = "Seed") -> gr.Number:
    return gr.Number(value=value, label=label, precision=0, minimum=0, maximum=MAX_SEED)


def _shown(value) -> str:
    return repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."


def _number(value, name: str, allowed: str) -> float:
    if isinstance(value, bool):
        raise user_error(f"{name} must be {allowed}, got {_shown(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise user_error(f"{name} must be {allowed}, got {_shown(value)}") from None
    if not math.isfinite(number):
        raise user_error(f"{name} must be {allowed}, got {_shown(value)}")
    return number


def check_int(value, name: str, low: int, high: int) -> int:
    """Sliders and number boxes can still send anything through the API: check, then convert."""
    allowed = f"a whole number from {low} to {high}"
    number = _number(value, name, allowed)
    if number != int(number) or not low <= number <= high:
        raise user_error(f"{name} must be {allowed}, got {_shown(value)}")
    return int(number)


def check_float(value, name: str, low: float, high: float) -> float:
    allowed = f"a number from {low} to {high}"
    number = _number(value, name, allowed)
    if not low <= number <= high:
        raise user_error(f"{name} must be {allowed}, got {_shown(value)}")
    return number


def check_text(value, name: str, max_chars: int, empty: str | None = None) -> str:
    """A text input: a string of at most max_chars characters (checked before any work is done).
    `empty`: the message for a blank text, if blank is not allowed."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise user_error(f"{name} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise user_error(f"{name} may be at most {max_chars:,} characters long; this one has {len(value):,}")
    if empty is not None and not value.strip():
        raise user_error(empty)
    return value


def check_seed(value, name: str = "Seed") -> int:
    return check_int(value, name, 0, MAX_SEED)


def pipeline(name: str):
    """The shipped model, loaded once per process; a missing or broken file becomes a message."""
    try:
        return load_pipeline(name)
    except (WeightsError, OSError) as err:
        log.warning("the %s model cannot be loaded: %s", name, err)
        raise gr.Error(f"The {name} model cannot be loaded: {err}", print_exception=False) from None


def user_errors(fn):
    """Turn the core's ValueErrors (bad settings) into gr.Error so the page shows a message."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, WeightsError) as err:
            raise user_error(str(err)) from None

    return wrapper


OUTPUT_DIR = Path(tempfile.gettempdir()) / "genai_playground_outputs"
OUTPUT_MAX_AGE_S = 3600


SHOW_EVERY_S = 0.1  # streamed text refreshes at most this often: faster than that no one reads it


def throttled(updates, every_s: float = SHOW_EVERY_S):
    """The first update, then at most one per every_s, and always the last: each update a handler
    yields costs the server a diff and a message per visitor, which for a token-by-token stream at
    500 tokens/s was more work than the tokens themselves."""
    shown_at, pending = None, None
    for update in updates:
        now = time.perf_counter()
        if shown_at is None or now - shown_at >= every_s:
            yield update
            shown_at, pending = now, None
        else:
            pending = update
    if pending is not None:
        yield pending


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


MAX_DRAWING_PIXELS = 4_000_000  # a canvas of 2000x2000; a digit needs far less


def bounded_sketchpad(**kwargs) -> gr.Sketchpad:
    """A Sketchpad whose images are measured (from the file header) before they are decoded: Gradio
    decodes them before any handler runs, and a 164 KB PNG can hold a 13000x13000 canvas (2.5 GB)."""
    sketchpad = gr.Sketchpad(**kwargs)
    decode = sketchpad.convert_and_format_image

    def measured(file, flatten_on_white: bool = False):
        if file is not None:
            from io import BytesIO

            from PIL import Image

            source = BytesIO(bytes(file)) if isinstance(file, (bytes, bytearray, memoryview)) else file.path
            try:
                with Image.open(source) as image:  # reads the header only
                    width, height = image.size
            except (OSError, ValueError, Image.DecompressionBombError):
                raise user_error("The drawing is not an image that can be read (PNG, JPEG, WebP).") from None
            if width * height > MAX_DRAWING_PIXELS:
                raise user_error(f"The drawing is too large ({width}x{height}); at most "
                                 f"{MAX_DRAWING_PIXELS // 1_000_000} megapixels")
        return decode(file, flatten_on_white)

    sketchpad.convert_and_format_image = measured
    return sketchpad
