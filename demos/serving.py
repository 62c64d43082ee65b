"""Workarounds for the Gradio server, applied once by app.py.

Gradio (6.31) writes an image output into its cache as <hash of the bytes>/image.png with a plain
write_bytes. Two requests producing the same image (same seed) write the same path at once; one
truncates the file while the other's download is being served, and the client gets "peer closed
connection without sending complete message body" (benchmarks/load_test.py, issue 8; reproduced by
8 clients asking /mnist_gan_grid for the same seed: 27 of 375 calls failed). Gradio already writes
copies of *files* atomically (save_file_to_cache); this does the same for images: write a temporary
file in the same folder, then rename it over the target.
"""

import ctypes
import os
import tempfile
import threading
import time
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


M_ARENA_MAX = -8  # glibc's mallopt parameter number
TRIM_EVERY_S = 30


def _libc():
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 (glibc only: musl and macOS have no malloc_trim)
        return libc
    except (OSError, AttributeError):
        return None


def bound_native_memory(arenas: int = 2) -> bool:
    """Keep the server's resident memory from creeping up under load (issue 8; glibc only).

    Gradio runs handlers on a pool of worker threads and glibc gives each thread its own malloc
    arena, which keeps the memory of freed tensors for reuse by that thread alone: under 4 clients the
    server grew from 1.4 to 2.8-3.2 GiB over 18 minutes. Two arenas are shared by all threads, and a
    periodic malloc_trim hands freed pages back to the system. Returns False where this does not apply."""
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt(M_ARENA_MAX, arenas)

    def trim_forever():
        while True:
            time.sleep(TRIM_EVERY_S)
            libc.malloc_trim(0)

    if not any(t.name == "malloc-trim" for t in threading.enumerate()):
        threading.Thread(target=trim_forever, name="malloc-trim", daemon=True).start()
    return True
