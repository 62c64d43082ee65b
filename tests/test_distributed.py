"""Data-parallel training under torchrun on this CPU (gloo): two processes sharing a global batch train
what one process trains on that batch, only rank 0 writes, and a killed two-process run resumes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genai_core.checkpoint import load_training_state
from genai_core.config import PROJECT_ROOT
from genai_core.registry import get
from genai_core.train import Trainer

PROBE = Path(__file__).parent / "fixtures" / "torchrun_probe.py"
# no dropout: its masks are drawn per process, so only then is a step's batch exactly one process's
EXACT = ["model.dropout=0", "threads=1"]
TOLERANCE = 1e-4  # relative, on logged losses: float sums in another order, nothing more


def torchrun(*args, script=None, wait=True):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    command += [str(script)] if script else ["-m", "genai_core"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    if not wait:
        return subprocess.Popen([*command, *args], env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    result = subprocess.run([*command, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def one_process(model, out, overrides):
    spec = get(model)
    cfg = spec.config([*spec.tiny, *overrides, f"out_dir={out}"])
    threads = torch.get_num_threads()
    try:
        Trainer(spec.task_class(), cfg, resume=False).fit()
    finally:
        torch.set_num_threads(threads)
    return out


def losses(run_dir):
    rows = json.loads((Path(run_dir) / "history.json").read_text())
    return [row for row in rows if "eval" not in row]


def assert_same_curve(single, double, keys):
    a, b = losses(single), losses(double)
    assert [r["step"] for r in a] == [r["step"] for r in b] and len(a) >= 3
    for row_a, row_b in zip(a, b, strict=True):
        for key in keys:
            assert row_b[key] == pytest.approx(row_a[key], rel=TOLERANCE), (row_a["step"], key)


def assert_same_weights(single, double, atol=1e-5, skip=()):
    a, b = load_file(Path(single) / "model.safetensors"), load_file(Path(double) / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        if name.endswith(skip):
            continue
        torch.testing.assert_close(b[name], a[name], atol=atol, rtol=1e-4, msg=name)


def writes_by_rank(stdout):
    """The probe's reports; the processes share one stdout, so a report need not start a line."""
    decoder, reports, start = json.JSONDecoder(), {}, stdout.find("WRITES ")
    while start >= 0:
        report, _ = decoder.raw_decode(stdout, start + len("WRITES "))
        reports[report["rank"]] = report["writes"]
        start = stdout.find("WRITES ", start + 1)
    assert sorted(reports) == [0, 1]
    return reports


def test_gan_on_two_processes_trains_what_one_process_trains(tmp_path):
    overrides = [*EXACT, "log_every=2"]
    single = one_process("toy_curve", tmp_path / "one", overrides)
    two = tmp_path / "two"
    result = torchrun("train", "toy_curve", "--tiny", *overrides, "--out", str(two), script=PROBE)
    assert_same_curve(single, tmp_path / "two", ["loss_d", "loss_g", "d_real", "d_fake"])
    assert_same_weights(single, tmp_path / "two")
    writes = writes_by_rank(result.stdout)
    assert writes[1] == [], writes[1]  # the second process wrote nothing into the run folder
    assert any(w.endswith(".tmp") and ".checkpoint.safetensors." in w for w in writes[0])
    assert result.stdout.count("finished at step") == 1  # and printed nothing either


def test_translator_on_two_processes_trains_what_one_process_trains(tmp_path):
    """Its batches hold a varying number of sentences: each process takes every other one, and its loss
    is its tokens' share of the whole batch's mean. The tokenizer is written once, by rank 0."""
    overrides = [*EXACT, "log_every=1"]
    single = one_process("translator", tmp_path / "one", overrides)
    two = tmp_path / "two"
    result = torchrun("train", "translator", "--tiny", *overrides, "--out", str(two), script=PROBE)
    assert_same_curve(single, tmp_path / "two", ["loss", "sentences"])
    # a key's bias shifts every attention score of a query equally, which softmax ignores: its gradient
    # is rounding noise, which Adam scales up to full steps, so it follows the order of float sums
    assert_same_weights(single, tmp_path / "two", atol=1e-3, skip=("attn.k.bias",))
    writes = writes_by_rank(result.stdout)
    assert writes[1] == [], writes[1]
    assert any("tokenizer.json" in w for w in writes[0])


def kill_processes_running(marker: str) -> int:
    """SIGKILL every process whose command line holds marker (torchrun's agent and its workers, which
    it starts in sessions of their own), as a crash or an out-of-memory killer would."""
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
    return killed


def test_killed_two_process_run_resumes_where_its_checkpoint_left_it(tmp_path):
    out = tmp_path / "killed"
    args = ["train", "toy_curve", "--tiny", *EXACT, "steps=200", "checkpoint_every=50", "log_every=10",
            "eval_every=100000", "sample_every=100000", "--out", str(out)]
    run = torchrun(*args, wait=False)
    checkpoint = out / "checkpoint.safetensors"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert kill_processes_running(str(out)) >= 2
    run.wait(timeout=60)
    step = load_training_state(checkpoint)["step"]
    assert 0 < step < 200, "the run was not killed mid-way"

    result = torchrun(*args)
    assert "finished at step 200/200" in result.stdout
    assert load_training_state(checkpoint)["step"] == 200
    single = one_process("toy_curve", tmp_path / "one", [*EXACT, "steps=200", "checkpoint_every=50",
                                                          "log_every=10", "eval_every=100000",
                                                          "sample_every=100000"])
    assert_same_curve(single, out, ["loss_d", "loss_g"])
    assert_same_weights(single, out, atol=1e-4)


@pytest.fixture
def world_of_two(monkeypatch):
    """The sharing code as process `rank` of two sees it, in this one process."""
    from genai_core.train import distributed

    def as_rank(rank):
        monkeypatch.setattr(distributed, "world_size", lambda: 2)
        monkeypatch.setattr(distributed, "rank", lambda: rank)

    return as_rank


def test_shares_of_the_processes_make_up_the_global_batch(world_of_two):
    from genai_core.train import EpochSampler, distributed

    whole = EpochSampler(100, 32, seed=3).indices(7)
    shares = []
    for rank in (0, 1):
        world_of_two(rank)
        shares.append(EpochSampler(100, 32, seed=3).indices(7))
    assert [len(s) for s in shares] == [16, 16]
    assert torch.equal(torch.cat(shares), whole)  # disjoint, and together the batch one process draws
    assert distributed.share_uneven(list(range(5))) == [1, 3]
    with pytest.raises(ValueError, match="batch_size=33 must be a multiple of the 2 processes"):
        EpochSampler(100, 33, seed=3)


def test_bf16_autocasts_the_training_steps_and_fp16_is_refused(tmp_path, monkeypatch):
    from genai_core.config import ConfigError
    from genai_core.train.toy_gans import CurveTask

    seen = []
    step = CurveTask.train_step
    monkeypatch.setattr(CurveTask, "train_step", lambda self, i: seen.append(
        torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None) or step(self, i))
    one_process("toy_curve", tmp_path / "bf16", ["precision=bf16", "steps=3"])
    assert seen == [torch.bfloat16] * 3
    spec = get("toy_curve")
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        Trainer(spec.task_class(), spec.config([*spec.tiny, "precision=fp16", f"out_dir={tmp_path}"]))


def test_compile_compiles_the_trained_networks_in_place(tmp_path):
    spec = get("toy_curve")
    cfg = spec.config([*spec.tiny, "compile=true", "steps=2", "eval_every=100", f"out_dir={tmp_path}"])
    trainer = Trainer(spec.task_class(), cfg, resume=False)
    assert trainer.fit() == "finished"
    assert all(m._compiled_call_impl is not None for m in trainer.task.modules.values())
    shipped = load_file(tmp_path / "model.safetensors")
    assert "generator.net.0.weight" in shipped and not any("_orig_mod" in k for k in shipped)


def test_a_stop_signal_stops_both_processes_at_one_step_with_a_checkpoint(tmp_path):
    """Ctrl-C or a scheduler's SIGTERM reaches torchrun, which passes SIGTERM to its workers: they agree
    on the step to stop at, rank 0 writes the checkpoint there, and both exit."""
    out = tmp_path / "stopped"
    run = torchrun("train", "toy_curve", "--tiny", "steps=100000", "eval_every=100000", "sample_every=100000",
                   "checkpoint_every=100000", "log_every=10", "--out", str(out), wait=False)
    deadline = time.monotonic() + 300
    while not (out / "config.yaml").exists() and time.monotonic() < deadline:  # training has begun
        time.sleep(0.05)
    time.sleep(1.0)
    run.send_signal(signal.SIGTERM)
    run.wait(timeout=120)
    state = load_training_state(out / "checkpoint.safetensors")
    assert 0 < state["step"] < 100000
    assert kill_processes_running(str(out)) == 0  # no worker left behind
