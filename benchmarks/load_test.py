"""Load test: N concurrent gradio_client clients on loopback call every tab's endpoint for a bounded
time; prints throughput, p50/p95 latency and errors per endpoint, and the server's memory.

The app runs in its own process, so the memory figures are the server's alone (read from
/proc/<pid>/statm), not the clients'. Each client walks the whole endpoint list from its own
starting point and carries on where it stopped in the next round, so every endpoint is reached
however slow some of them are.

Run: python -m benchmarks.load_test --clients 4 --seconds 60
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from gradio_client import Client

from genai_core.registry import tab_module, tabs

from .common import print_table

PORT = 7871
SERVER = f"""
import time
from app import LAUNCH, build_app
app = build_app()
app.launch(server_name="127.0.0.1", server_port={PORT}, prevent_thread_lock=True, quiet=True, **LAUNCH)
print("ready", flush=True)
while True:
    time.sleep(60)
"""


def rss_bytes(pid: int) -> int:
    """Resident memory of process pid (Linux /proc; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def endpoints() -> list[tuple[str, tuple]]:
    """(api_name, example inputs) for every tab, from each demo module's API_EXAMPLES."""
    calls = []
    for module in dict.fromkeys(tab_module(spec) for spec in tabs()):  # a module may build two tabs
        calls += [(f"/{name}", args) for name, args in getattr(module, "API_EXAMPLES", {}).items()]
    return calls


class Walker:
    """One client: walks the endpoint list from `start`, and resumes where it stopped next round."""

    def __init__(self, url: str, calls: list, start: int):
        self.client, self.calls, self.turn = Client(url, verbose=False), calls, start

    def run(self, deadline: float, results: list) -> None:
        while time.monotonic() < deadline:
            api_name, args = self.calls[self.turn % len(self.calls)]
            self.turn += 1
            start = time.perf_counter()
            try:
                self.client.predict(*args, api_name=api_name)
                results.append((api_name, time.perf_counter() - start, None))
            except Exception as err:  # counted, not raised: the point is to see them
                results.append((api_name, time.perf_counter() - start, f"{type(err).__name__}: {err}"))


def start_server(script: str = SERVER) -> subprocess.Popen:
    """The app in its own process (script prints "ready" once it serves)."""
    env = {**os.environ, "GENAI_MAX_PENDING_PER_VISITOR": "64"}  # every client here is one address
    server = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).parent.parent, env=env,
                              stdout=subprocess.PIPE, text=True)
    if server.stdout.readline().strip() != "ready":
        server.kill()
        raise SystemExit("the app did not start")
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="memory is read after each round")
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.seconds <= 3600 or not 1 <= args.rounds <= 20:
        parser.error("use 1-64 clients for 1-3600 seconds in 1-20 rounds")

    server = start_server()
    url = f"http://127.0.0.1:{PORT}/"
    calls = endpoints()
    try:
        warm = Client(url, verbose=False)
        for api_name, example in calls:  # load every model once, outside the timing
            warm.predict(*example, api_name=api_name)
        rss = [rss_bytes(server.pid)]  # after warm-up, then after each round: bounded memory levels off
        walkers = [Walker(url, calls, i * len(calls) // args.clients) for i in range(args.clients)]
        results: list = []
        started = time.perf_counter()
        for _ in range(args.rounds):
            deadline = time.monotonic() + args.seconds / args.rounds
            threads = [threading.Thread(target=w.run, args=(deadline, results)) for w in walkers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rss.append(rss_bytes(server.pid))
        elapsed = time.perf_counter() - started
    finally:
        server.kill()
        server.wait()

    rows = []
    for api_name, _ in calls:
        mine = [r for r in results if r[0] == api_name]
        ok = sorted(r[1] for r in mine if r[2] is None)
        rows.append({
            "endpoint": api_name,
            "calls": len(mine),
            "errors": sum(r[2] is not None for r in mine),
            "p50_s": statistics.median(ok) if ok else float("nan"),
            "p95_s": ok[min(len(ok) - 1, int(0.95 * len(ok)))] if ok else float("nan"),
        })
    print_table(f"{args.clients} clients for {args.seconds:.0f} s on 127.0.0.1", rows)
    errors = [r[2] for r in results if r[2]]
    reached = sum(row["calls"] > 0 for row in rows)
    levels = " -> ".join(f"{r / 2**20:.0f}" for r in rss)
    print(f"\nendpoints reached: {reached}/{len(calls)}; throughput: {len(results) / elapsed:.2f} calls/s; "
          f"errors: {len(errors)}; server RSS after warm-up and each round: {levels} MiB")
    for message in sorted(set(errors))[:5]:
        print("error:", message)


if __name__ == "__main__":
    main()
