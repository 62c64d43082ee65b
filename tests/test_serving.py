"""The Gradio image-cache workaround: concurrent writes of the same image never expose a partial file."""

import threading

import numpy as np
from gradio import processing_utils
from PIL import Image

from demos import serving


def test_same_image_written_concurrently_is_always_complete(tmp_path):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (256, 256, 3), dtype=np.uint8))
    expected = processing_utils.encode_pil_to_bytes(image, "png")
    bad = []

    def worker():
        for _ in range(30):
            path = serving._save_pil_to_cache_atomically(image, str(tmp_path), format="png")
            with open(path, "rb") as handle:
                if handle.read() != expected:
                    bad.append(path)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not bad
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["image.png"]  # no temporary left


def test_the_app_installs_the_workaround():
    from app import build_app

    build_app()
    assert processing_utils.save_pil_to_cache is serving._save_pil_to_cache_atomically


def test_native_memory_bounding_starts_one_trimmer():
    import threading

    import pytest

    if not serving.bound_native_memory():
        pytest.skip("not glibc: nothing to bound (the app still starts)")
    serving.bound_native_memory()
    assert [t.name for t in threading.enumerate()].count("malloc-trim") == 1
