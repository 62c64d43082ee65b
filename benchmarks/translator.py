"""The English->French Transformer on its held-out test split: BLEU, chrF and latency, with the decoder's
key/value cache and with the loop it replaced (the whole prefix decoded again at every step).

Run: python -m benchmarks.translator [--data ../shared/data/en_fr_pairs.tsv] [--beam-sentences 300]
The test split is the one training held out (same split seed, by English sentence). BLEU counts
every Tatoeba translation of a sentence as a reference; bleu_1ref uses the first one only.
"""

import argparse
import statistics
import time

import torch

from genai_core.config import project_path
from genai_core.data import text as data
from genai_core.metrics.text import bleu_chrf
from genai_core.registry import get

from .common import print_table

BOOK_SENTENCES = ["Today is a beautiful day!", "I don't speak French."]


def test_split(cfg, path):
    pairs = data.read_pairs("tsv", path)
    _, _, test = data.split_pairs(pairs, cfg.data.test_size, cfg.data.val_size, cfg.data.split_seed)
    refs: dict[str, list[str]] = {}
    for en, fr in test:
        refs.setdefault(en, []).append(fr)
    return list(refs), list(refs.values())


@torch.no_grad()
def greedy_without_cache(model, text: str) -> list[int]:
    """The greedy loop before the key/value cache: every step decodes the whole prefix again."""
    net, src = model.transformer, model.encode([text])
    memory, mask = net.encode(src), net.src_mask(src)
    out = torch.tensor([[2]])
    for _ in range(model.max_len - 2):
        next_id = net.decode(out, memory, mask)[0][:, -1].argmax(-1)
        out = torch.cat([out, next_id[:, None]], 1)
        if int(next_id) == 3:
            break
    return [i for i in out[0, 1:].tolist() if i != 3]


def latency(fn, sentences) -> float:
    times = []
    for sentence in sentences:
        start = time.perf_counter()
        fn(sentence)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=str(project_path("../shared/data/en_fr_pairs.tsv")))
    parser.add_argument("--weights", default=str(get("translator").weights_dir))
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--beam-sentences", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = get("translator").pipeline_class().from_pretrained(args.weights)
    sources, refs = test_split(model.cfg, args.data)
    start = time.perf_counter()
    greedy = [h for i in range(0, len(sources), 64) for h in model.translate_batch(sources[i : i + 64])]
    greedy_seconds = time.perf_counter() - start
    subset = slice(0, args.beam_sentences)
    beamed = [model.translate(s, beam=args.beam) for s in sources[subset]]
    rows = [
        {"decoding": "greedy", "sentences": len(sources), **bleu_chrf(greedy, refs)},
        {"decoding": "greedy", "sentences": len(beamed), **bleu_chrf(greedy[subset], refs[subset])},
        {"decoding": f"beam {args.beam}", "sentences": len(beamed), **bleu_chrf(beamed, refs[subset])},
    ]
    print_table("Held-out test split (sacrebleu corpus scores; all references / first reference)", rows)

    probe, beam = sources[:50], args.beam
    same = sum(greedy_without_cache(model, s) == model.translate_ids(s) for s in probe)
    cached = latency(model.translate, probe)
    uncached = latency(lambda s: greedy_without_cache(model, s), probe)
    beamed_s = latency(lambda s: model.translate(s, beam), probe)
    paragraph = latency(model.translate_text, [" ".join(probe[:8])])
    print_table(f"Latency per sentence, {args.threads} thread(s), median of {len(probe)} test sentences", [
        {"decoding": "greedy (key/value cache)", "median_s": cached},
        {"decoding": "greedy, whole prefix each step (before)", "median_s": uncached},
        {"decoding": f"beam {args.beam} (key/value cache)", "median_s": beamed_s},
        {"decoding": "greedy, batches of 64 (throughput)", "median_s": greedy_seconds / len(sources)},
        {"decoding": "greedy, a paragraph of 8 sentences", "median_s": paragraph},
    ])
    print(f"\ncache speed-up (greedy, one sentence): {uncached / cached:.2f}x; "
          f"identical tokens for {same}/{len(probe)} sentences")

    print("\n## The book's sentences\n")
    for sentence in BOOK_SENTENCES:
        print(f"- {sentence} -> greedy: {model.translate(sentence)} | beam {args.beam}: "
              f"{model.translate(sentence, beam=args.beam)}")
    print("\n## First test sentences (greedy | first reference)\n")
    for source, hypothesis, ref in list(zip(sources, greedy, refs, strict=True))[:8]:
        print(f"- {source} -> {hypothesis} | {ref[0]}")


if __name__ == "__main__":
    main()
