"""Command line: python -m genai_core list | train MODEL [key=value ...] | sample MODEL ... | export RUN |
promote MODEL"""

import argparse
import signal
import sys
from pathlib import Path

from PIL import Image


def cmd_list(args) -> None:
    from .registry import REGISTRY

    print(f"{'model':<18} {'weights':<8} {'tab':<20} title")
    for spec in REGISTRY.values():
        shipped = "yes" if (spec.weights_dir / "model.safetensors").is_file() else "no"
        print(f"{spec.name:<18} {shipped:<8} {spec.demo or '-':<20} {spec.title}")


def cmd_train(args) -> None:
    from .registry import get
    from .train import Trainer, distributed
    from .train.callbacks import TqdmProgress

    spec = get(args.model)
    overrides = list(args.overrides)
    if args.tiny:
        overrides = [*spec.tiny, *overrides]
    if args.data:
        overrides.append(f"data.path={args.data}")
        if spec.data_source not in ("procedural",):
            overrides.append(f"data.source={spec.data_source}")
    if args.out:
        overrides.append(f"out_dir={args.out}")
    cfg = spec.config(overrides)
    if args.preset:
        from omegaconf import OmegaConf

        from .config import apply_overrides

        cfg = apply_overrides(cfg, OmegaConf.to_container(OmegaConf.load(args.preset)))
        cfg = apply_overrides(cfg, overrides)  # the command line still has the last word
    trainer = Trainer(spec.task_class(), cfg, callbacks=[TqdmProgress()], resume=not args.fresh)
    # Ctrl-C or a kill finishes the current step and writes a resumable checkpoint first.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: trainer.request_stop())
    try:
        reason = trainer.fit()
    finally:
        distributed.cleanup()  # under torchrun: leave the process group (a no-op otherwise)
    if trainer.is_main:
        print(
            f"{reason} at step {trainer.step}/{trainer.total_steps} in {trainer.wall_time:.1f} s; "
            f"weights in {cfg.out_dir}"
        )


def cmd_sample(args) -> None:
    from .registry import get

    spec = get(args.model)
    pipeline = spec.load_pipeline(args.weights)
    image = pipeline.sample_image(n=args.n, seed=args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(args.out)
    print(f"wrote {args.out}")


def cmd_export(args) -> None:
    from .train.trainer import export_checkpoint

    out = export_checkpoint(args.run, args.out)
    print(f"exported {args.run} to {out}")


def cmd_promote(args) -> None:
    from .checkpoint import promote
    from .registry import get

    spec = get(args.model)
    run_dir = args.run or f"runs/{spec.name}"
    target = promote(run_dir, spec.weights_dir, overwrite=args.overwrite)
    print(f"promoted {run_dir} to {target}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genai_core", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="registered models and whether weights are shipped")

    train = commands.add_parser("train", help="train a model (resumes from out_dir if a checkpoint is there)")
    train.add_argument("model")
    train.add_argument("overrides", nargs="*", help="config overrides such as epochs=3 batch_size=64")
    train.add_argument("--data", help="dataset file or folder, e.g. ../shared/data/mnist.npz")
    train.add_argument("--out", help="run folder (default runs/MODEL)")
    train.add_argument("--preset", help="extra YAML of overrides, e.g. configs/presets/...")
    train.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    train.add_argument("--tiny", action="store_true", help="a seconds-long run on generated data")

    sample = commands.add_parser("sample", help="write a sample image from shipped (or given) weights")
    sample.add_argument("model")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--n", type=int, default=16, help="how many samples")
    sample.add_argument("--out", required=True, help="PNG file to write")
    sample.add_argument("--weights", help="weights folder (default weights/MODEL)")
    export = commands.add_parser("export", help="write a run's model from its last training checkpoint")
    export.add_argument("run", help="run folder holding checkpoint.safetensors")
    export.add_argument("--out", help="folder to write (default: the run folder)")
    promote = commands.add_parser("promote", help="copy a run's exported model into weights/MODEL")
    promote.add_argument("model")
    promote.add_argument("run", nargs="?", help="run folder (default runs/MODEL)")
    promote.add_argument("--overwrite", action="store_true", help="replace the shipped weights")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    # key=value overrides may come after options too, which plain parse_args refuses
    args, extra = parser.parse_known_args(argv)
    unknown = [item for item in extra if args.command != "train" or "=" not in item or item.startswith("-")]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "train":
        args.overrides = [*args.overrides, *extra]
    handlers = {"list": cmd_list, "train": cmd_train, "sample": cmd_sample, "export": cmd_export,
                "promote": cmd_promote}
    try:
        handlers[args.command](args)
    except KeyboardInterrupt:
        print("interrupted; the last checkpoint is intact", file=sys.stderr)
        return 130
    except (KeyError, ValueError, RuntimeError, OSError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
