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


@pytest.fixture(scope="session")
def app_url():
    """The assembled app, served once for the whole test session on 127.0.0.1."""
    from app import LAUNCH, build_app

    app = build_app()
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **LAUNCH)
    yield app.local_url
    app.close()


@pytest.fixture(scope="session")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)
