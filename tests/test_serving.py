"""The Gradio image-cache workaround: concurrent writes of the same image never expose a partial file."""

import sys
import threading

import numpy as np
import pytest
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

    app = build_app()
    assert processing_utils.save_pil_to_cache is serving._save_pil_to_cache_atomically
    assert sys.getswitchinterval() == pytest.approx(serving.GIL_SWITCH_INTERVAL_S)  # held in microseconds
    assert app._queue.ANAYLTICS_CACHE_FREQUENCY >= 2**62  # set before the queue read it


def test_streams_are_throttled_but_keep_their_first_and_last_update():
    from demos.common import throttled

    assert list(throttled(iter(range(50)), every_s=3600)) == [0, 49]
    assert list(throttled(iter(range(5)), every_s=0)) == [0, 1, 2, 3, 4]
    assert list(throttled(iter([7]), every_s=3600)) == [7] and list(throttled(iter([]))) == []


def test_native_memory_bounding_starts_one_trimmer():
    import threading

    import pytest

    if not serving.bound_native_memory():
        pytest.skip("not glibc: nothing to bound (the app still starts)")
    serving.bound_native_memory()
    assert [t.name for t in threading.enumerate()].count("malloc-trim") == 1
