"""Load test: N concurrent gradio_client clients on loopback call every tab's main action for a
bounded time; prints throughput, p50/p95 latency, errors and the server's memory growth.

Run: python -m benchmarks.load_test --clients 4 --seconds 60
"""

import argparse
import importlib
import os
import statistics
import threading
import time

from gradio_client import Client

from genai_core.registry import REGISTRY

from .common import print_table


def rss_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def endpoints() -> list[tuple[str, tuple]]:
    """(api_name, example inputs) for every tab, from each demo module's API_EXAMPLES."""
    calls = []
    for spec in REGISTRY.values():
        if spec.demo:
            module = importlib.import_module(spec.demo)
            calls += [(f"/{name}", args) for name, args in getattr(module, "API_EXAMPLES", {}).items()]
    return calls


def client_loop(url, calls, deadline, results, index):
    client = Client(url, verbose=False)
    turn = index
    while time.monotonic() < deadline:
        api_name, args = calls[turn % len(calls)]
        turn += 1
        start = time.perf_counter()
        try:
            client.predict(*args, api_name=api_name)
            results.append((api_name, time.perf_counter() - start, None))
        except Exception as err:  # counted, not raised: the point is to see them
            results.append((api_name, time.perf_counter() - start, f"{type(err).__name__}: {err}"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=3, help="memory is read after each round")
    args = parser.parse_args()
    if not 1 <= args.clients <= 64 or not 1 <= args.seconds <= 900 or not 1 <= args.rounds <= 20:
        parser.error("use 1-64 clients for 1-900 seconds in 1-20 rounds")

    from app import build_app

    app = build_app()
    app.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    calls = endpoints()
    try:
        warm = Client(app.local_url, verbose=False)
        for api_name, example in calls:  # load every model once, outside the timing
            warm.predict(*example, api_name=api_name)
        rss = [rss_bytes()]  # after warm-up, then after each round: bounded memory levels off
        results: list = []
        started = time.perf_counter()
        for _ in range(args.rounds):
            deadline = time.monotonic() + args.seconds / args.rounds
            threads = [
                threading.Thread(target=client_loop, args=(app.local_url, calls, deadline, results, i))
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rss.append(rss_bytes())
        elapsed = time.perf_counter() - started
    finally:
        app.close()

    rows = []
    for api_name in sorted({r[0] for r in results}):
        mine = [r for r in results if r[0] == api_name]
        ok = sorted(r[1] for r in mine if r[2] is None)
        rows.append(
            {
                "endpoint": api_name,
                "calls": len(mine),
                "errors": sum(r[2] is not None for r in mine),
                "p50_s": statistics.median(ok) if ok else float("nan"),
                "p95_s": ok[min(len(ok) - 1, int(0.95 * len(ok)))] if ok else float("nan"),
            }
        )
    print_table(f"{args.clients} clients for {args.seconds:.0f} s on 127.0.0.1", rows)
    errors = [r[2] for r in results if r[2]]
    levels = " -> ".join(f"{r / 2**20:.0f}" for r in rss)
    print(
        f"\nthroughput: {len(results) / elapsed:.2f} calls/s; errors: {len(errors)}; "
        f"server RSS after warm-up and each round: {levels} MiB"
    )
    for message in sorted(set(errors))[:5]:
        print("error:", message)


if __name__ == "__main__":
    main()
