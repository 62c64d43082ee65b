"""Helpers for benchmark scripts: timing medians and plain-text tables."""

import statistics
import time


def median_seconds(fn, repeats: int = 7, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def print_table(title: str, rows: list[dict]) -> None:
    """Rows of {column: value}; floats shown with 4 significant digits, a column a row lacks as "-"."""
    if not rows:
        return
    columns = list(dict.fromkeys(c for r in rows for c in r))
    values = [[r.get(c, "-") for c in columns] for r in rows]
    cells = [[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row] for row in values]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    print(f"\n## {title}\n")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        print("| " + " | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) + " |")


def real_face_fid_table(n: int, generated: dict) -> list[dict]:
    """The standard FID of generated 64x64 faces (name -> a function of n making n of them) against
    n random held-out test photos (LFW + Celeb1k + real_faces_128, person-disjoint), with the floor of n
    random training photos. One definition of both sets, so every face benchmark shares the cache."""
    import torch

    from genai_core.config import SHARED_DATA
    from genai_core.data.real_faces import load_labelled_photos
    from genai_core.images import to_model_range
    from genai_core.metrics.fid import fid_table

    def pick(split: str, seed: int):
        images = load_labelled_photos(SHARED_DATA, ["lfw", "celeb1k", "interface"], 64, split).images
        order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
        return to_model_range(images[order[:n]])

    return fid_table(f"real faces test, {n} random, 64px", lambda: pick("test", 1),
                     f"real faces train, {n} random, 64px", lambda: pick("train", 0),
                     {name: (lambda f=make: f(n)) for name, make in generated.items()})
