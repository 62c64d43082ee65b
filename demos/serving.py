"""Workarounds for the Gradio server, applied once by app.py.

Gradio (6.31) writes an image output into its cache as <hash of the bytes>/image.png with a plain
write_bytes. Two requests producing the same image (same seed) write the same path at once; one
truncates the file while the other's download is being served, and the client gets "peer closed
connection without sending complete message body" (benchmarks/load_test.py, issue 8; reproduced by
8 clients asking /mnist_gan_grid for the same seed: 27 of 375 calls failed). Gradio already writes
copies of *files* atomically (save_file_to_cache); this does the same for images: write a temporary
file in the same folder, then rename it over the target.
"""

import os
import tempfile
from pathlib import Path

from gradio import processing_utils


def _save_pil_to_cache_atomically(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    data = processing_utils.encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    target = (folder / f"{name}.{format}").resolve()
    if target.is_file() and target.stat().st_size == len(data):
        os.utime(target)  # the same bytes are already there: reuse them (and keep them from ageing out)
        return str(target)
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(staging, 0o644)
        os.replace(staging, target)
    finally:
        Path(staging).unlink(missing_ok=True)
    return str(target)


def make_image_cache_writes_atomic() -> None:
    """Route Gradio's image-output cache writes through the atomic version (idempotent)."""
    processing_utils.save_pil_to_cache = _save_pil_to_cache_atomically
