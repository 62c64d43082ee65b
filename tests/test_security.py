"""A hostile visitor against the running app, through gradio_client (issue 15): no secret, no server
file, no overwritten weights, bounded memory and work, no outbound request."""

import hashlib
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

import genai_core.registry as registry
from demos import clip_vqgan, serving, toy_gans
from genai_core.config import RUNS_ROOT

SECRET = "s3cr3t-token-for-the-test"


def rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def error_of(client, *args, api_name) -> str:
    with pytest.raises(Exception) as err:  # noqa: PT011 (gradio_client raises AppError or ValueError)
        client.predict(*args, api_name=api_name)
    return str(err.value)


@pytest.fixture
def training_on(monkeypatch):
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.delenv("GENAI_ENABLE_TRAINING", raising=False)


@pytest.fixture
def on_a_space(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/genai-playground")
    monkeypatch.delenv("GENAI_ENABLE_TRAINING", raising=False)


@pytest.mark.parametrize("where", ["on_a_space", "training_on"])
@pytest.mark.parametrize("endpoint", ["/train_start", "/train_resume"])
@pytest.mark.parametrize("text", ["seed: ${oc.env:MY_SECRET}", "data: {path: '${oc.env:MY_SECRET}'}",
                                  "model: {latent_dim: '${oc.decode:${oc.env:MY_SECRET}}'}"])
def test_environment_variables_never_reach_a_visitor(client, monkeypatch, request, where, endpoint, text):
    request.getfixturevalue(where)
    monkeypatch.setenv("MY_SECRET", SECRET)
    message = error_of(client, "toy_curve", text, api_name=endpoint)
    assert SECRET not in message
    assert ("Training is off" if where == "on_a_space" else "interpolations") in message
    assert SECRET not in str(client.predict(api_name="/train_status"))


@pytest.mark.parametrize("text", [
    "data: {source: celeba, path: /etc, attributes: /etc/passwd}",
    "eval: {referee: /etc}",
    "init_from: ../../../../etc",
    "data: {path: ~/.ssh/id_rsa}",
])
def test_server_files_are_out_of_reach_of_the_config(client, training_on, text):
    model = "face_referee" if "celeba" in text else "cwgan_glasses"
    message = error_of(client, model, text, api_name="/train_start")
    assert "must point inside the data folder, weights/ or runs/" in message
    assert "root:" not in message and "root:" not in str(client.predict(api_name="/train_status"))


@pytest.mark.parametrize(("model", "text"), [
    ("real_face_referee", "hair_segmenter: /etc"),
    ("real_face_referee", "hair_reader: /etc"),
    ("cyclegan_real_hair", "eval: {segmenter: /etc}"),
    ("cyclegan_real_hair", "data: {pseudo_labels: /etc}"),
])
def test_every_folder_a_model_loads_is_confined(model, text):
    """The helper networks a config names (segmenters, hair readers, pseudo-labelling referees) are
    folders read from disk like any other path."""
    from genai_core.config import ConfigError
    from genai_core.train.jobs import job_config

    with pytest.raises(ConfigError, match="must point inside the data folder, weights/ or runs/"):
        job_config(model, text)


def test_a_symbolic_link_out_of_runs_is_refused(client, training_on):
    RUNS_ROOT.mkdir(exist_ok=True)
    link = RUNS_ROOT / f"link_to_etc_{os.getpid()}"
    link.symlink_to("/etc")
    try:
        message = error_of(client, "face_referee", f"data: {{source: celeba, path: runs/{link.name}, "
                           f"attributes: runs/{link.name}/passwd}}", api_name="/train_start")
    finally:
        link.unlink()
    assert "must point inside" in message and "root:" not in message


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_weights_cannot_be_replaced_through_the_app(client, on_a_space, monkeypatch):
    shipped = registry.get("toy_curve").weights_dir / "model.safetensors"
    before = _sha(shipped)
    for endpoint in ("/train_promote", "/train_revert"):
        assert "Training is off" in error_of(client, "toy_curve", api_name=endpoint)
    monkeypatch.delenv("SPACE_ID")
    # the "overwrite" argument is gone: promote copies into runs/promoted, never into weights/
    with pytest.raises(Exception):  # noqa: B017, PT011 (gradio_client refuses the extra argument)
        client.predict("toy_curve", True, api_name="/train_promote")
    assert _sha(shipped) == before


def test_a_one_mebibyte_prompt_is_refused_before_any_work(client):
    client.predict("anna said", 2, 0.8, 40, 0.95, 1.2, 1, 0, api_name="/lstm_anna_generate")  # loaded
    before, start = rss_mib(), time.monotonic()
    message = error_of(client, "anna " * 2**18, 40, 0.8, 40, 0.95, 1.2, 1, 0, api_name="/lstm_anna_generate")
    assert "Prompt may be at most 2,000 characters" in message
    assert time.monotonic() - start < 10 and rss_mib() - before < 100


def _blank_png(path: Path, side: int) -> Path:
    """A greyscale side x side PNG of zeros, written row by row (it never exists decoded here)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row, body = zlib.compressobj(9), b"\x00" * (side + 1), []
    for _ in range(side):
        body.append(packer.compress(row))
    body.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body))
                     + chunk(b"IEND", b""))
    return path


def test_a_decompression_bomb_drawing_is_refused_before_decoding(client, tmp_path):
    bomb = handle_file(str(_blank_png(tmp_path / "bomb.png", 13_000)))
    assert (tmp_path / "bomb.png").stat().st_size < 400_000
    before = rss_mib()
    drawing = {"background": None, "layers": [], "composite": bomb}
    message = error_of(client, drawing, api_name="/mnist_autoencoder_reconstruct_drawing")
    assert "The drawing is too large (13000x13000)" in message
    assert rss_mib() - before < 200  # decoded, it would take 169 MB as greyscale, 676 MB as RGBA


def test_long_clip_prompts_and_too_much_work_are_refused(client):
    args = list(clip_vqgan.API_EXAMPLES["clip_vqgan_generate"])
    args[3] = "a red circle " * 30  # one prompt of 390 characters
    assert "at most 300 characters" in error_of(client, *args, api_name="/clip_vqgan_generate")
    args[3] = "\n".join(["a red circle on a blue background"] * 6)
    args[10], args[12] = 500, 64  # iterations x crops x prompts far over the budget
    assert "too much work at once" in error_of(client, *args, api_name="/clip_vqgan_generate")


class SlowCurve:
    """Stands in for the toy_curve pipeline: counts how many calls run at once."""

    def __init__(self, real):
        self.real, self.running, self.most, self.lock = real, 0, 0, threading.Lock()

    def __call__(self, n, seed):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.4)
        with self.lock:
            self.running -= 1
        return self.real(n, seed)

    def metrics(self, points):
        return self.real.metrics(points)


def test_model_work_shares_one_bound_sized_to_the_cores(app_url, monkeypatch):
    slow = SlowCurve(registry.load_pipeline("toy_curve"))
    monkeypatch.setattr(toy_gans, "pipeline", lambda name: slow)
    clients = [Client(app_url, verbose=False) for _ in range(3)]
    jobs = [c.submit(100, i, api_name="/toy_curve_generate") for i in range(2) for c in clients]
    for job in jobs:
        job.result(timeout=120)
    assert 1 <= slow.most <= serving.WORKERS


def test_one_visitor_cannot_fill_the_queue(app_url, monkeypatch):
    slow = SlowCurve(registry.load_pipeline("toy_curve"))
    monkeypatch.setattr(toy_gans, "pipeline", lambda name: slow)
    client = Client(app_url, verbose=False)
    count = serving.MAX_PENDING_PER_VISITOR + 4
    jobs = [client.submit(100, i, api_name="/toy_curve_generate") for i in range(count)]
    refused = 0
    for job in jobs:
        try:
            job.result(timeout=120)
        except Exception as err:  # noqa: BLE001 (HTTP 503; gradio_client words it its own way)
            assert "requests waiting or running" in str(err) or "Queue is full" in str(err)
            refused += 1
    assert refused >= 1
    assert client.predict(100, 0, api_name="/toy_curve_generate")  # served again once the others finish


ABANDON = """
import sys, time
from gradio_client import Client
from demos.clip_vqgan import API_EXAMPLES
args = list(API_EXAMPLES["clip_vqgan_generate"])
args[10], args[12], args[17] = 500, 48, "Random codes (the thesis)"
Client(sys.argv[1], verbose=False).submit(*args, api_name="/clip_vqgan_generate")
time.sleep(600)
"""

def test_work_stops_when_its_client_goes_away(app_url):
    process = subprocess.Popen([sys.executable, "-c", ABANDON, app_url], cwd=Path(__file__).parent.parent)
    try:
        deadline = time.monotonic() + 60
        while serving.WORK_SLOTS._value == serving.CORES:  # noqa: SLF001 (free slots)
            assert time.monotonic() < deadline, "the request never started"
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        process.kill()
        process.wait()
    gone = time.monotonic()
    while serving.WORK_SLOTS._value != serving.CORES:  # noqa: SLF001
        assert time.monotonic() - gone < 25, "the abandoned request kept computing"
        time.sleep(0.2)


def test_local_pretrained_reads_no_server_path_and_asks_no_hub(client, tmp_path, monkeypatch):
    from genai_core.pipelines import clip as clip_module

    def no_hub(*args, **kwargs):
        raise AssertionError("the app asked the Hugging Face Hub")

    monkeypatch.setattr(clip_module.HFCLIPPipeline, "from_pretrained", no_hub)
    monkeypatch.setenv("GENAI_PRETRAINED_DIR", str(tmp_path))
    (tmp_path / "vqgan").mkdir()
    args = list(clip_vqgan.API_EXAMPLES["clip_vqgan_generate"])
    args[:3] = [clip_vqgan.PRETRAINED, "/etc", "openai/clip-vit-base-patch32"]
    message = error_of(client, *args, api_name="/clip_vqgan_generate")
    assert "must be inside the pretrained-models folder" in message
    args[1] = "vqgan"
    message = error_of(client, *args, api_name="/clip_vqgan_generate")
    assert "no CLIP folder" in message and "GENAI_ALLOW_DOWNLOADS" in message


def test_uploads_are_size_limited(client, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + os.urandom(11 * 2**20))
    message = error_of(client, handle_file(str(big)), "blond -> black", 1.0,
                       api_name="/cyclegan_hair_convert")
    assert "size" in message.lower()


@pytest.mark.parametrize("value", [None, "NaN", "inf", "1e999", "seven"])
def test_non_numbers_are_named_errors(client, value):
    message = error_of(client, 100, value, api_name="/toy_curve_generate")
    assert "Seed" in message


def test_old_cache_files_are_swept_at_start(tmp_path):
    old, new = tmp_path / "a" / "old.png", tmp_path / "new.png"
    old.parent.mkdir()
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert serving.sweep_old_files(tmp_path, 3600) == 1
    assert not old.exists() and new.exists()
