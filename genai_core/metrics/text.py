"""Translation quality with sacrebleu: corpus BLEU and chrF, with every known reference."""

import math


def bleu_chrf(hypotheses: list[str], references: list[list[str]]) -> dict[str, float]:
    """references[i] holds every French translation of sentence i (Tatoeba often has several).

    sacrebleu wants one stream per reference slot; missing slots are None, which it skips.
    Also reports BLEU against the first reference alone, the stricter single-reference number.
    """
    import sacrebleu

    if len(hypotheses) != len(references) or not hypotheses:
        raise ValueError("need one non-empty reference list per hypothesis")
    slots = max(len(r) for r in references)
    streams = [[r[i] if i < len(r) else None for r in references] for i in range(slots)]
    return {
        "bleu": sacrebleu.corpus_bleu(hypotheses, streams).score,
        "chrf": sacrebleu.corpus_chrf(hypotheses, streams).score,
        "bleu_1ref": sacrebleu.corpus_bleu(hypotheses, [[r[0] for r in references]]).score,
    }


def perplexity(mean_nll: float) -> float:
    return float(math.exp(min(mean_nll, 50.0)))
