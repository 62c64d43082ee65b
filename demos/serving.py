"""Workarounds for the Gradio server, applied once by app.py.

Gradio (6.31) writes an image output into its cache as <hash of the bytes>/image.png with a plain
write_bytes. Two requests producing the same image (same seed) write the same path at once; one
truncates the file while the other's download is being served, and the client gets "peer closed
connection without sending complete message body" (benchmarks/load_test.py, issue 8; reproduced by
8 clients asking /mnist_gan_grid for the same seed: 27 of 375 calls failed). Gradio already writes
copies of *files* atomically (save_file_to_cache); this does the same for images: write a temporary
file in the same folder, then rename it over the target.
"""

import contextlib
import ctypes
import functools
import inspect
import logging
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
import torch
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


# ---------------------------------------------------------------- bounds for a public deployment

CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _workers() -> int:
    """Model requests computed at once, each on one torch thread: all cores but one, which is left to
    the server's own work for every request (queue, HTTP, encoding the results); the README's "Speed"
    section has what that measured. GENAI_WORKERS sets another number."""
    asked = os.environ.get("GENAI_WORKERS", "").strip()
    if not asked:
        return max(1, CORES - 1)
    if not asked.isdigit() or not 1 <= int(asked) <= CORES:
        raise SystemExit(f"GENAI_WORKERS must be a whole number from 1 to {CORES} (the cores), got {asked!r}")
    return int(asked)


WORKERS = _workers()
# Every model request, and the Train tab's background job, holds one slot while it computes: threads x
# concurrent work never exceeds the cores, whichever tab or job asks (a job and WORKERS requests fit).
WORK_SLOTS = threading.BoundedSemaphore(CORES)
LIGHT_PREFIXES = ("train_",)  # the Train tab's buttons and poll: no model work of their own
MAX_PENDING_PER_VISITOR = int(os.environ.get("GENAI_MAX_PENDING_PER_VISITOR", "8"))
MAX_UPLOAD = "10mb"
CACHE_MAX_AGE_S = 3600
log = logging.getLogger("genai_playground")
_served: list = []  # the Blocks being served, for client_gone()


# How long a Python thread may hold the GIL while another waits for it (Python's default: 5 ms). A
# handler releases the GIL for every torch op; with the server's threads busy encoding and serving
# other visitors, each release could cost it a whole interval before it got the GIL back, so calls
# made of many small ops (a token-by-token loop, a few-millisecond tab) ran several times slower
# under load than alone. A shorter interval hands the GIL back sooner.
GIL_SWITCH_INTERVAL_S = 0.00005


def skip_queue_analytics() -> None:
    """Gradio's queue rebuilds a pandas table of its last 10,000 events after every event, for a
    monitoring dashboard this app never opens: under load that was much of the GIL time of the server's
    own threads, while a model request waited for it (README, "Speed"). Called before app.queue() (the
    queue reads the setting once); a deployment that wants the dashboard sets the variable itself."""
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(2**62))


def configure_threads() -> None:
    """One torch thread per request: WORKERS requests and a training job at once use every core, no more."""
    torch.set_num_threads(1)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def _guarded(fn, slot):
    """fn, computing under `slot` (None: no slot), with errors logged as one line."""
    slot = slot or contextlib.nullcontext()
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args, **kwargs):
            iterator = fn(*args, **kwargs)
            while True:
                with slot, _logged_errors(fn):  # the slot is held while a chunk is computed, not shown
                    try:
                        item = next(iterator)
                    except StopIteration:
                        return
                yield item

        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        with slot, _logged_errors(fn):
            return fn(*args, **kwargs)

    return call


@contextlib.contextmanager
def _logged_errors(fn):
    """A visitor's mistake (gr.Error) is one log line; anything else is a bug: its traceback is logged
    once and the page gets a plain message instead."""
    try:
        yield
    except gr.Error as err:
        if err.print_exception:
            log.info("user error in %s: %s", fn.__name__, str(err.message)[:300])
            err.print_exception = False
        raise
    except Exception:
        log.exception("error in %s", fn.__name__)
        raise gr.Error("Something went wrong on the server (it is logged); try other settings.",
                       print_exception=False) from None


def _visitor(request) -> str:
    """Who sent a request: behind a Space's proxy the last X-Forwarded-For entry (the proxy adds the
    address it saw), elsewhere the peer's address (a header a visitor can forge is ignored)."""
    if request is None:
        return "unknown"
    if os.environ.get("SPACE_ID"):
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"


def limit_per_visitor(queue, limit: int = MAX_PENDING_PER_VISITOR) -> None:
    """At most `limit` requests of one visitor waiting or running: one client cannot fill the queue."""
    push = queue.push

    async def limited_push(body, request, username):
        visitor = _visitor(request)
        waiting = [e for q in queue.event_queue_per_concurrency_id.values() for e in q.queue]
        running = [e for jobs in queue.active_jobs if jobs for e in jobs]
        if sum(_visitor(e.request) == visitor for e in waiting + running) >= limit:
            log.info("refused a request: %s already has %d waiting or running", visitor, limit)
            message = f"You have {limit} requests waiting or running; wait for one to finish."
            return False, message, "queue_full"
        return await push(body, request, username)

    queue.push = limited_push


def client_gone(request) -> bool:
    """True once the page or client that sent `request` has disconnected (its work can stop)."""
    session = getattr(request, "session_hash", None)
    queue = getattr(_served[-1], "_queue", None) if _served else None
    if session is None or queue is None:
        return False
    jobs = [job for job_set in queue.active_jobs if job_set for job in job_set]
    return any(job.session_hash == session and not job.alive for job in jobs)


def sweep_old_files(folder, max_age_s: float = CACHE_MAX_AGE_S) -> int:
    """Delete files older than max_age_s under folder (what an earlier run of the app left behind);
    returns how many were deleted."""
    folder, cutoff, removed = Path(folder), time.time() - max_age_s, 0
    if not folder.is_dir():
        return 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            pass  # removed meanwhile, or not ours to remove
    return removed


def _number_input(component):
    """component.preprocess, refusing what is not a finite number in the component's range with a
    message that names the control (Gradio's own says "Value 64 is greater than maximum value 1.",
    and a string or NaN gets no message at all)."""
    from .common import user_error

    preprocess, label = component.preprocess, component.label or "A number"
    low, high = component.minimum, component.maximum

    def checked(payload):
        if payload is None and isinstance(component, gr.Number):
            return None  # the handler's own check names what is missing
        number = payload if isinstance(payload, (int, float)) and not isinstance(payload, bool) else None
        fits = number is not None and math.isfinite(number)
        fits = fits and (low is None or number >= low) and (high is None or number <= high)
        if not fits:
            span = f" from {low:g} to {high:g}" if low is not None and high is not None else ""
            shown = repr(payload) if len(repr(payload)) <= 40 else repr(payload)[:40] + "..."
            raise user_error(f"{label} must be a number{span}, got {shown}")
        return preprocess(payload)

    return checked


def harden(app: gr.Blocks) -> None:
    """Bound the work of a public app (issue 15): one shared concurrency group and CPU slots for every
    model endpoint, a per-visitor queue limit, one-line logs of visitors' mistakes, no stale cache."""
    for fn in app.fns.values():
        if fn.fn is None:
            continue
        light = (fn.api_name or "").startswith(LIGHT_PREFIXES) or not fn.queue
        fn.fn = _guarded(fn.fn, None if light else WORK_SLOTS)
        if not light and fn.concurrency_limit in ("default", None):
            fn.concurrency_id, fn.concurrency_limit = "models", WORKERS
    for block in app.blocks.values():
        if isinstance(block, (gr.Number, gr.Slider)):
            block.preprocess = _number_input(block)
    limit_per_visitor(app._queue)
    from gradio.utils import get_upload_folder

    from .common import OUTPUT_DIR

    for folder in (get_upload_folder(), OUTPUT_DIR):
        sweep_old_files(folder)
    _served.append(app)
