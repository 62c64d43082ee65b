"""The Anna Karenina LSTM: held-out perplexity, generation speed, and the book's generation loop.

Run: python -m benchmarks.lstm_anna [--data ../shared/data/anna_karenina.txt] [--weights weights/lstm_anna]
(about a minute on one core). Perplexity is on Part Eight, which training never saw.
"""

import argparse
import math
import time
from collections import Counter

import torch

from genai_core.checkpoint import load_config, load_weights
from genai_core.config import project_path
from genai_core.pipelines.lstm import WordLSTMPipeline, sample_next
from genai_core.registry import get
from genai_core.seed import get_device
from genai_core.train.lstm import WordLSTMTask

from .common import print_table


def held_out_metrics(folder, data_path) -> dict:
    """The training task's own evaluation, run on the shipped (float16-stored) weights."""
    cfg = load_config(folder)
    cfg.out_dir, cfg.data.path, cfg.data.source = str(folder), str(data_path), "text"
    task = WordLSTMTask(cfg, get_device("cpu"))  # reads vocab.json from the weights folder
    load_weights(folder, task.modules)
    task.train(False)
    with torch.no_grad():
        metrics = task.evaluate()
    # context: a unigram model (word frequencies of the training part, <unk> for the rest)
    counts = Counter(task.train_ids.tolist())
    total = sum(counts.values())
    nll = -sum(math.log(counts.get(i, 0.5) / total) for i in task.val_ids.tolist()) / len(task.val_ids)
    return {**metrics, "unigram_perplexity": math.exp(nll), "val_tokens": len(task.val_ids)}


@torch.no_grad()
def book_generation(lstm: WordLSTMPipeline, prompt: str, length: int, seed: int) -> float:
    """The book's loop: every step re-feeds the whole prefix *and* the carried state. Returns s."""
    generator = [torch.Generator().manual_seed(seed)]
    ids = lstm.vocab.encode(lstm.prompt_tokens(prompt))
    state = None
    start = time.perf_counter()
    for _ in range(length):
        logits, state = lstm.lstm(torch.tensor([ids]), state)
        ids.append(int(sample_next(logits[:, -1], 1.0, 0, 1.0, generator)[0]))
    return time.perf_counter() - start


def timed(fn, repeats=3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(project_path("../shared/data/anna_karenina.txt")))
    parser.add_argument("--weights", default=str(get("lstm_anna").weights_dir))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    metrics = held_out_metrics(args.weights, args.data)
    print_table("Held-out perplexity (Part Eight, state carried across 48-token windows)", [
        {"model": "word LSTM (shipped)", "perplexity": metrics["val_perplexity"],
         "unk_rate": metrics["val_unk_rate"], "tokens": metrics["val_tokens"]},
        {"model": "unigram baseline", "perplexity": metrics["unigram_perplexity"], "unk_rate": "",
         "tokens": metrics["val_tokens"]},
    ])

    lstm = WordLSTMPipeline.from_pretrained(args.weights)
    prompt, length = "Anna and Vronsky", 200
    rows = []
    for n in (1, 4):
        seconds = timed(lambda n=n: lstm.generate(prompt, length, temperature=1.0, top_k=40, n=n, seed=0))
        rows.append({"generation": f"carried state, {n} sample(s)", "tokens": n * length,
                     "seconds": seconds, "tokens_per_s": n * length / seconds})
    seconds = timed(lambda: book_generation(lstm, prompt, length, 0), repeats=1)
    rows.append({"generation": "book's loop (re-feeds prefix), 1 sample", "tokens": length,
                 "seconds": seconds, "tokens_per_s": length / seconds})
    print_table(f"Generation speed, {args.threads} thread(s), {length} tokens after '{prompt}'", rows)
    speedup = rows[0]["tokens_per_s"] / rows[2]["tokens_per_s"]
    print(f"\ncarried state is {speedup:.1f}x faster than the book's loop")

    print("\n## Samples (seed 0, top-K 40)\n")
    for temperature in (0.0, 0.5, 1.0, 1.5):
        text = lstm.generate("Anna and Vronsky", 40, temperature=temperature, top_k=40, seed=0)[0]
        print(f"- T={temperature}: {text}")


if __name__ == "__main__":
    main()
