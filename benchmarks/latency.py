"""Every endpoint's latency at the app's settings: its handler alone (solo p50 / p95, called in this
process with the tab's API_EXAMPLES, interleaved with the other endpoints), then through the server
alone and under a soak of concurrent gradio_client clients (p50 beside the solo figure).

Run: python -m benchmarks.latency [--repeats 10] [--clients 8] [--seconds 120] [--only dcgan]

The handlers run as the app runs them: build_app() sets the torch threads (serving.configure_threads)
and every model call takes one of the CPU slots. Under the soak a call's latency at the client is
mostly its wait in the queue (8 clients, 2 CPU slots); "in handler" is the time the server spent in the
endpoint's function itself (timed inside the server process), which the issue's 2x-of-solo target is
about. Card figures come from this table.
"""

import argparse
import inspect
import os
import statistics
import threading
import time

from gradio_client import Client

from .common import print_table
from .load_test import PORT, SERVER, Walker, endpoints, start_server

# The app as load_test serves it, each endpoint's function timed inside the server: from the moment
# Gradio's worker calls it (after its queue) to its return or last streamed update, slot wait included.
# One "handled <api_name> <seconds>" line per call on stdout.
assert "app = build_app()\n" in SERVER, "load_test.SERVER no longer builds the app where the timer hooks in"
TIMED_SERVER = SERVER.replace("app = build_app()\n", """app = build_app()
import functools, inspect, sys
def timed(name, fn):
    def report(start):
        sys.stdout.write(f"handled /{name} {time.perf_counter() - start:.6f}\\n"); sys.stdout.flush()
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            start = time.perf_counter()
            yield from fn(*args, **kwargs)
            report(start)
        return stream
    @functools.wraps(fn)
    def call(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            report(start)
    return call
for block_fn in app.fns.values():
    if block_fn.fn is not None and block_fn.api_name:
        block_fn.fn = timed(block_fn.api_name, block_fn.fn)
""")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def local_args(args: tuple) -> tuple:
    """API example arguments as a handler receives them: uploaded files become paths."""
    return tuple(a["path"] if isinstance(a, dict) and "path" in a else a for a in args)


def handlers(app) -> dict:
    """api_name -> the Python function behind it."""
    return {f"/{fn.api_name}": fn.fn for fn in app.fns.values() if fn.api_name}


def call(fn, args) -> None:
    out = fn(*args)
    if inspect.isgenerator(out):  # streaming handlers: the last update is the result
        for _ in out:
            pass


def solo_times(calls, repeats: int) -> dict[str, list[float]]:
    from app import build_app

    fns = handlers(build_app())
    times = {name: [] for name, _ in calls}
    for name, args in calls:  # warm-up: load every model once
        call(fns[name], local_args(args))
    for _ in range(repeats):  # interleaved: a slow minute of the machine hits every endpoint alike
        for name, args in calls:
            start = time.perf_counter()
            call(fns[name], local_args(args))
            times[name].append(time.perf_counter() - start)
    return times


def read_handled(server, into: list) -> threading.Thread:
    """Collect the timed server's (api_name, seconds) lines as they come."""

    def read():
        for line in server.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "handled":
                into.append((parts[1], float(parts[2]), time.monotonic()))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def served_times(calls, clients: int, seconds: float) -> tuple[dict, dict, dict]:
    """(p50 through the server with one client, every latency under `clients` concurrent clients, and
    the time each of those calls spent in its handler inside the server)."""
    server = start_server(TIMED_SERVER)
    handled: list = []
    read_handled(server, handled)
    url = f"http://127.0.0.1:{PORT}/"
    try:
        one = Client(url, verbose=False)
        alone = {}
        for name, args in calls:
            one.predict(*args, api_name=name)  # warm-up
            samples = []
            for _ in range(3):
                start = time.perf_counter()
                one.predict(*args, api_name=name)
                samples.append(time.perf_counter() - start)
            alone[name] = statistics.median(samples)
        # the clients stand in for visitors on other machines: at the lowest priority, what they cost
        # this CPU comes out of its idle time, not the server's (this process stays niced after)
        os.nice(19)
        results: list = []
        walkers = [Walker(url, calls, i * len(calls) // clients) for i in range(clients)]
        soak_started = time.monotonic()
        deadline = soak_started + seconds
        threads = [threading.Thread(target=w.run, args=(deadline, results)) for w in walkers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(0.5)  # the last calls' lines
    finally:
        server.kill()
        server.wait()
    soak = {name: [t for n, t, err in results if n == name and err is None] for name, _ in calls}
    inside = {name: [t for n, t, at in handled if n == name and at >= soak_started] for name, _ in calls}
    return alone, soak, inside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--only", default="", help="endpoints whose name contains this")
    parser.add_argument("--no-soak", action="store_true")
    args = parser.parse_args()
    calls = [(name, example) for name, example in endpoints() if args.only in name]
    solo = solo_times(calls, args.repeats)
    alone, soak, inside = ({}, {}, {}) if args.no_soak else served_times(calls, args.clients, args.seconds)
    rows = []
    for name, _ in calls:
        p50 = statistics.median(solo[name])
        row = {"endpoint": name, "solo p50 s": p50, "solo p95 s": percentile(solo[name], 0.95)}
        if not args.no_soak:
            soaked = statistics.median(soak[name]) if soak[name] else float("nan")
            handled = statistics.median(inside[name]) if inside[name] else float("nan")
            row |= {"served alone p50 s": alone[name], f"soak ({args.clients} clients) p50 s": soaked,
                    "soak in handler p50 s": handled, "in handler / solo": handled / p50,
                    "soak calls": len(soak[name])}
        rows.append(row)
    print_table(f"Latency at the app's settings ({args.repeats} interleaved solo calls per endpoint)", rows)


if __name__ == "__main__":
    main()
