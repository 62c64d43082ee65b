import os

import pytest
import torch

# Tests share two cores with whatever else runs; one thread each keeps timings predictable.
torch.set_num_threads(1)
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture
def tiny_cfg(tmp_path):
    """tiny_cfg(name, *overrides): a seconds-long offline config writing into tmp_path."""
    from genai_core.registry import get

    def make(name, *overrides):
        spec = get(name)
        return spec.config([*spec.tiny, f"out_dir={tmp_path / name}", *overrides])

    return make
