"""Data-parallel training on torch.distributed, for runs launched by torchrun.

torchrun starts one process per device and sets RANK, LOCAL_RANK and WORLD_SIZE. Every process builds
the same task from the same seed; cfg.batch_size stays the *global* batch, and each process trains on its
share (`share`). Gradients are averaged over the processes as soon as backward accumulates them, which
is what DistributedDataParallel does. The DDP wrapper itself is not used: a family's task calls its
networks' own methods (encode, decode, forward_with_mask), which bypass the wrapper's forward, and the
WGAN-GP's gradient penalty differentiates twice, which DDP does not support. StyleGAN3 all-reduces
its GANs' gradients by hand in its training loop.

Without torchrun (WORLD_SIZE unset or 1) every function here is a no-op and a run is exactly as before.
"""

import contextlib
import datetime
import os

import torch
import torch.distributed as dist

from ..config import ConfigError


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    return rank() == 0


def setup() -> bool:
    """Join the process group torchrun describes (nccl on CUDA, gloo on CPU); False when not launched
    by torchrun. Evaluation on the main process can take minutes, hence the long timeout."""
    if dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend, timeout=datetime.timedelta(hours=2))
    return True


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def device(preferred: torch.device) -> torch.device:
    """This process's own GPU under torchrun; otherwise the device asked for."""
    if preferred.type == "cuda" and preferred.index is None and dist.is_initialized():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return preferred


def local_batch_size(global_batch: int) -> int:
    world = world_size()
    if global_batch % world:
        raise ConfigError(f"batch_size={global_batch} must be a multiple of the {world} processes")
    return global_batch // world


def share(batch):
    """This process's contiguous share of a batch drawn for the whole world (a tensor or a list):
    every process draws the same global batch from the same seed, so together they train on exactly the
    batch one process would have drawn."""
    world = world_size()
    if world == 1:
        return batch
    size = local_batch_size(len(batch))
    return batch[rank() * size : (rank() + 1) * size]


def draw_share(draw, n: int):
    """draw(n x processes), this process's share of it: per-sample noise drawn as one process would
    draw it for the global batch (n is this process's share of the batch)."""
    return share(draw(n * world_size()))


def share_uneven(items: list) -> list:
    """Every world-th item from this rank's position on: for batches whose size is not fixed (token
    batches), so no process gets an empty share while there are at least as many items as processes."""
    return items[rank() :: world_size()]


def rank_seed() -> list[int]:
    """What a per-process seed appends to a run's seed: nothing without torchrun (the same draws as
    always), the rank under it."""
    return [rank()] if world_size() > 1 else []


@contextlib.contextmanager
def main_first():
    """The main process runs the block first (a task writing its tokenizer or a cache into the run
    folder), the others after it, so they read what it wrote instead of writing it again."""
    if not is_main():
        dist.barrier()
    yield
    if is_main() and dist.is_initialized():
        dist.barrier()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def average_gradients(modules) -> list:
    """Average each trained parameter's gradient over the processes whenever backward accumulates it.
    An all-reduce is linear, so a parameter that several backward calls reach before its optimiser
    steps (a GAN's critic judged on real and fake, a penalty term) still ends up with the average of its
    total gradient, before any clipping sees it. Returns the hook handles."""
    world = world_size()
    if world == 1:
        return []

    def hook(param):
        dist.all_reduce(param.grad)
        param.grad.div_(world)

    seen, handles = set(), []
    for module in modules:
        for param in module.parameters():
            if param.requires_grad and id(param) not in seen:
                seen.add(id(param))
                handles.append(param.register_post_accumulate_grad_hook(hook))
    return handles


def broadcast_modules(modules) -> None:
    """Rank 0's parameters and buffers everywhere: all processes start from the same weights."""
    if world_size() == 1:
        return
    with torch.no_grad():
        for module in modules:
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)


def _packed(values, dtype=torch.float32) -> torch.Tensor:
    """Numbers in one tensor on the device the backend reduces on (NCCL reduces on the GPU only)."""
    on = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
    return torch.tensor([float(v) for v in values], dtype=dtype, device=on)


def mean_over_processes(values: dict[str, float]) -> dict[str, float]:
    """Logged numbers averaged over the processes (every process logs the same keys)."""
    if world_size() == 1 or not values:
        return values
    keys = sorted(values)
    packed = _packed([values[k] for k in keys], torch.float64)
    dist.all_reduce(packed)
    return {k: float(v) / world_size() for k, v in zip(keys, packed.tolist(), strict=True)}


def any_process(*flags: bool) -> list[bool]:
    """Each flag, true if it is true on any process: a stop asked for on one process (Ctrl-C, the
    time budget of its CPU clock) stops all of them at the same step."""
    if world_size() == 1:
        return list(flags)
    packed = _packed(flags)
    dist.all_reduce(packed, op=dist.ReduceOp.MAX)
    return [bool(v) for v in packed.tolist()]
