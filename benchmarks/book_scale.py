"""The book-scale presets (configs/presets/*_256.yaml, *_book.yaml): parameters, and seconds per
optimisation step on this CPU in fp32 and bf16, so a user can tell what a run costs before renting a GPU.

Run:  python -m benchmarks.book_scale [--repeats 3] [--threads 2]

Image models step on batches the project draws (procedural faces at the preset's size and batch): a
step costs the same on any photos of that shape, and the photo tars are not read. Text models read
their data files (../shared/data), which their epochs count. The hours column is the preset's steps at
the fp32 rate of this CPU.
"""

import argparse
import tempfile

import torch
from omegaconf import OmegaConf

from genai_core.config import CONFIG_DIR, apply_overrides
from genai_core.registry import get
from genai_core.train import Trainer

from .common import median_seconds, print_table

# model, preset, overrides that swap the data for drawn data of the same shape
PRESETS = [
    ("cwgan_real_faces", "cwgan_real_faces_256",
     ["data.source=procedural", "data.train_size=128", "data.holdout=8", "data.pseudo_labels=null",
      "eval.referee=null"]),
    ("cyclegan_real_hair", "cyclegan_real_hair_256",
     ["data.source=procedural", "data.train_size=16", "data.holdout=4", "data.parse_hair=false",
      "data.pseudo_labels=null", "eval.referee=null"]),
    ("lstm_anna", "lstm_anna_book", []),
    ("translator", "translator_book", []),
]


def trainer_for(name, preset, data, out_dir, precision):
    spec = get(name)
    cfg = spec.config(data)
    preset_values = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / "presets" / f"{preset}.yaml"))
    cfg = apply_overrides(cfg, preset_values)
    cfg = apply_overrides(cfg, [*data, f"out_dir={out_dir}", f"precision={precision}"])
    return Trainer(spec.task_class(), cfg, resume=False), cfg


def seconds_per_step(trainer, repeats):
    step = iter(range(10**9))

    def one():
        with trainer._autocast():
            trainer.task.train_step(next(step))

    return median_seconds(one, repeats=repeats, warmup=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", nargs="*", help="preset names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, preset, data in PRESETS:
        if args.only and preset not in args.only:
            continue
        timings = {}
        for precision in ("fp32", "bf16"):
            with tempfile.TemporaryDirectory() as out:
                trainer, cfg = trainer_for(name, preset, data, out, precision)
                timings[precision] = seconds_per_step(trainer, args.repeats)
        params = sum(p.numel() for m in trainer.task.modules.values() for p in m.parameters()
                     if p.requires_grad)
        steps = trainer.total_steps
        batch = f"{cfg.max_tokens} tokens" if "max_tokens" in cfg else cfg.batch_size
        rows.append({"preset": preset, "trained params (M)": f"{params / 1e6:.1f}", "batch": batch,
                     "s/step fp32": f"{timings['fp32']:.2f}",
                     "s/step bf16": f"{timings['bf16']:.2f}", "steps": steps,
                     f"hours here ({args.threads} threads)": f"{steps * timings['fp32'] / 3600:.0f}"})
    title = f"Book-scale presets on this CPU ({args.threads} threads, median of {args.repeats} steps)"
    print_table(title, rows)


if __name__ == "__main__":
    main()
