"""Near-duplicate search on the labelled French set, and query latency at consultation scale.

Run: ``PYTHONPATH=platform python tests/benchmarks/bench_dedup.py``

- recall@5: one index holds every ``b`` of ``tests/data/dedup_pairs_fr.csv`` (each pair's ``b``
  is a distractor for the others); each ``a`` of a duplicate or paraphrase pair is queried and
  counts as found when its ``b`` is in the top 5 (indexed copies of the query text excluded).
- pair AUC: share of (positive pair, unrelated pair) couples where the positive pair scores
  higher (ties count half).
- latency: mean query time on 10,000 synthetic proposals, against an exact linear scan.

Baseline for the quality figures: Jaccard of the raw lowercase words, measured in the same run.
"""

from __future__ import annotations

import csv
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from pnyx.moderation.checks import DUPLICATE_THRESHOLD, DuplicateIndex, proposal_tokens

DATA = Path(__file__).resolve().parents[1] / "data" / "dedup_pairs_fr.csv"
POSITIVE = ("duplicate", "paraphrase")


def load_pairs() -> list[tuple[str, str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return [(row["a"], row["b"], row["label"]) for row in csv.DictReader(handle)]


def raw_words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def jaccard(a: str, b: str) -> float:
    wa, wb = raw_words(a), raw_words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def recall_at5(
    pairs: list[tuple[str, str, str]],
    rank: Callable[[str, int], list[int]],
    labels: tuple[str, ...] = POSITIVE,
) -> float:
    """Share of positive pairs whose ``b`` (id = row number) is in ``rank(a, 5)``."""
    rows = [i for i, (_, _, label) in enumerate(pairs) if label in labels]
    found = sum(1 for i in rows if i in rank(pairs[i][0], 5))
    return found / len(rows)


def pair_auc(
    pairs: list[tuple[str, str, str]],
    score: Callable[[str, str], float],
    labels: tuple[str, ...] = POSITIVE,
) -> float:
    positives = [score(a, b) for a, b, label in pairs if label in labels]
    negatives = [score(a, b) for a, b, label in pairs if label == "unrelated"]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def synthetic_proposals(pairs: list[tuple[str, str, str]], n: int, seed: int = 7) -> list[str]:
    """Plausible "Il faut …" texts recombined from the set's content words."""
    rng = random.Random(seed)
    sentences = [t for a, b, _ in pairs for t in (a, b)]
    words = sorted({w for t in sentences for w in re.findall(r"[\wÀ-ÿ'-]+", t)[2:]})
    out = []
    for _ in range(n):
        base = rng.choice(sentences).split()[2:]
        for _ in range(rng.randint(1, 3)):
            base[rng.randrange(len(base))] = rng.choice(words)
        base += rng.sample(words, rng.randint(0, 3))
        out.append(("Il faut " + " ".join(base))[:140])
    return out


def main() -> None:
    pairs = load_pairs()
    index = DuplicateIndex((i, b) for i, (_, b, _) in enumerate(pairs))

    def copies(text: str) -> set[int]:
        """Indexed entries that are the query itself (the same text as another pair's b)."""
        return {i for i, (_, b, _) in enumerate(pairs) if b == text}

    def rank_index(text: str, k: int) -> list[int]:
        same = copies(text)
        return [i for i, _ in index.similar(text, k + len(same)) if i not in same][:k]

    def rank_jaccard(text: str, k: int) -> list[int]:
        same = copies(text)
        scored = sorted(
            ((jaccard(text, b), i) for i, (_, b, _) in enumerate(pairs) if i not in same),
            key=lambda s: (-s[0], s[1]),
        )
        return [i for _, i in scored[:k]]

    recall = recall_at5(pairs, rank_index)
    recall_base = recall_at5(pairs, rank_jaccard)
    auc = pair_auc(pairs, index.similarity)
    auc_base = pair_auc(pairs, jaccard)
    print(f"bench dedup_recall_at5: {recall:.3f} ratio {recall / recall_base:.2f} vs token_jaccard")
    print(f"bench dedup_pair_auc: {auc:.3f} ratio {auc / auc_base:.2f} vs token_jaccard")
    for label in POSITIVE:
        r = recall_at5(pairs, rank_index, (label,))
        rb = recall_at5(pairs, rank_jaccard, (label,))
        a = pair_auc(pairs, index.similarity, (label,))
        ab = pair_auc(pairs, jaccard, (label,))
        print(f"bench dedup_recall_at5_{label}: {r:.3f} ratio {r / rb:.2f} vs token_jaccard")
        print(f"bench dedup_pair_auc_{label}: {a:.3f} ratio {a / ab:.2f} vs token_jaccard")
    for name, weight in (("words_only", 1.0), ("chars_only", 0.0)):
        variant = DuplicateIndex(((i, b) for i, (_, b, _) in enumerate(pairs)), word_weight=weight)
        a = pair_auc(pairs, variant.similarity)
        print(f"bench dedup_pair_auc_{name}: {a:.3f} ratio {a / auc:.2f} vs blend")

    by_label: dict[str, list[float]] = {}
    for a, b, label in pairs:
        by_label.setdefault(label, []).append(index.similarity(a, b))
    summary = ", ".join(
        f"{label} median {statistics.median(v):.2f} min {min(v):.2f} max {max(v):.2f}"
        for label, v in by_label.items()
    )
    print(f"# similarity by label: {summary}")
    flagged = ", ".join(
        f"{label} {sum(s >= DUPLICATE_THRESHOLD for s in v)}/{len(v)}"
        for label, v in by_label.items()
    )
    print(f"# pairs at or above DUPLICATE_THRESHOLD {DUPLICATE_THRESHOLD}: {flagged}")
    missed = [
        (a, b)
        for i, (a, b, label) in enumerate(pairs)
        if label in POSITIVE and i not in rank_index(a, 5)
    ]
    for a, b in missed:
        print(f"# missed: {a!r} -> {b!r}  tokens {[s for s, _ in proposal_tokens(a)]}")

    corpus = synthetic_proposals(pairs, 10_000)
    started = time.perf_counter()
    big = DuplicateIndex(enumerate(corpus))
    build_s = time.perf_counter() - started
    queries = [a for a, _, _ in pairs]
    started = time.perf_counter()
    for q in queries:
        big.similar(q, 5)
    query_ms = (time.perf_counter() - started) / len(queries) * 1000
    scan_queries = queries[:10]
    started = time.perf_counter()
    agree = 0
    for q in scan_queries:
        exact = big.similar_exact(q, 5)
        agree += [i for i, _ in exact] == [i for i, _ in big.similar(q, 5)]
    scan_ms = (time.perf_counter() - started) / len(scan_queries) * 1000 - query_ms
    print(f"bench dedup_index_build_10k: {build_s:.2f} s")
    print(f"bench dedup_query_10k: {query_ms:.2f} ms ratio {query_ms / scan_ms:.3f} vs exact_scan")
    print(f"# top-5 identical to the exact scan on {agree}/{len(scan_queries)} queries")


if __name__ == "__main__":
    main()
