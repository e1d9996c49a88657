"""Near-duplicate search on the labelled French set, and query latency at consultation scale.

Run: ``PYTHONPATH=platform python tests/benchmarks/bench_dedup.py``

- recall@5: one index holds every ``b`` of ``tests/data/dedup_pairs_fr.csv`` (each pair's ``b``
  is a distractor for the others); each ``a`` of a duplicate or paraphrase pair is queried and
  counts as found when its ``b`` is in the top 5 (indexed copies of the query text excluded).
- pair AUC: share of (positive pair, unrelated pair) couples where the positive pair scores
  higher (ties count half).
- latency: mean query time on 10,000 synthetic proposals, against an exact linear scan.

Baseline for the quality figures: Jaccard of the raw lowercase words, measured in the same run.

Indexes: ``dedup_*`` figures are the :class:`SemanticDuplicateIndex` (the larger of the
lexical score and the sentence encoder's; lexical only, with a note, when the encoder is not
installed); ``*_lexical`` the lexical :class:`DuplicateIndex` alone, for comparison.
``*_heldout`` are the same figures on ``tests/data/dedup_pairs_fr_heldout.csv``, pairs written
before the settings of the semantic index were chosen (48 before the word-vector version, 42
more before the sentence encoder) and never used to choose them, to catch over-fitting to the
main set.
"""

from __future__ import annotations

import os

# One BLAS thread, as in a multi-worker server: on a loaded machine a multi-threaded
# matrix-vector product is several times slower (set before numpy is imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import csv  # noqa: E402
import random
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from pnyx.moderation import semantic
from pnyx.moderation.checks import DUPLICATE_THRESHOLD, DuplicateIndex, proposal_tokens
from pnyx.moderation.semantic import SemanticDuplicateIndex

DATA = Path(__file__).resolve().parents[1] / "data" / "dedup_pairs_fr.csv"
HELDOUT = DATA.with_name("dedup_pairs_fr_heldout.csv")
POSITIVE = ("duplicate", "paraphrase")


def load_pairs(path: Path = DATA) -> list[tuple[str, str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
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


def ranker(
    pairs: list[tuple[str, str, str]], index: DuplicateIndex
) -> Callable[[str, int], list[int]]:
    """Top-k row numbers of ``index`` (holding every ``b``), the query's own copies excluded."""

    def rank(text: str, k: int) -> list[int]:
        same = {i for i, (_, b, _) in enumerate(pairs) if b == text}
        return [i for i, _ in index.similar(text, k + len(same)) if i not in same][:k]

    return rank


def jaccard_ranker(pairs: list[tuple[str, str, str]]) -> Callable[[str, int], list[int]]:
    def rank(text: str, k: int) -> list[int]:
        scored = sorted(
            ((jaccard(text, b), i) for i, (_, b, _) in enumerate(pairs) if b != text),
            key=lambda s: (-s[0], s[1]),
        )
        return [i for _, i in scored[:k]]

    return rank


def quality(
    pairs: list[tuple[str, str, str]], index: DuplicateIndex, suffix: str = ""
) -> tuple[float, float]:
    """Print recall@5 and pair AUC (overall, then per label) of ``index`` against the token
    Jaccard baseline; returns the overall (recall, auc)."""
    rank, rank_base = ranker(pairs, index), jaccard_ranker(pairs)
    recall, recall_base = recall_at5(pairs, rank), recall_at5(pairs, rank_base)
    auc, auc_base = pair_auc(pairs, index.similarity), pair_auc(pairs, jaccard)
    print(
        f"bench dedup_recall_at5{suffix}: {recall:.3f} ratio {recall / recall_base:.2f} vs token_jaccard"
    )
    print(f"bench dedup_pair_auc{suffix}: {auc:.3f} ratio {auc / auc_base:.2f} vs token_jaccard")
    for label in POSITIVE:
        r = recall_at5(pairs, rank, (label,))
        rb = recall_at5(pairs, rank_base, (label,))
        a = pair_auc(pairs, index.similarity, (label,))
        ab = pair_auc(pairs, jaccard, (label,))
        print(
            f"bench dedup_recall_at5{suffix}_{label}: {r:.3f} ratio {r / rb:.2f} vs token_jaccard"
        )
        print(f"bench dedup_pair_auc{suffix}_{label}: {a:.3f} ratio {a / ab:.2f} vs token_jaccard")
    return recall, auc


def describe(pairs: list[tuple[str, str, str]], index: DuplicateIndex, name: str) -> None:
    by_label: dict[str, list[float]] = {}
    for a, b, label in pairs:
        by_label.setdefault(label, []).append(index.similarity(a, b))
    summary = ", ".join(
        f"{label} median {statistics.median(v):.2f} min {min(v):.2f} max {max(v):.2f}"
        for label, v in by_label.items()
    )
    print(f"# {name} similarity by label: {summary}")
    flagged = ", ".join(
        f"{label} {sum(s >= DUPLICATE_THRESHOLD for s in v)}/{len(v)}"
        for label, v in by_label.items()
    )
    print(f"# {name} pairs at or above DUPLICATE_THRESHOLD {DUPLICATE_THRESHOLD}: {flagged}")
    rank = ranker(pairs, index)
    for i, (a, b, label) in enumerate(pairs):
        if label in POSITIVE and i not in rank(a, 5):
            print(f"# {name} missed: {a!r} -> {b!r}  tokens {[s for s, _ in proposal_tokens(a)]}")


def main() -> None:
    pairs = load_pairs()
    heldout = load_pairs(HELDOUT)
    started = time.perf_counter()
    semantic.available()
    print(f"bench dedup_model_load: {time.perf_counter() - started:.2f} s")
    index = SemanticDuplicateIndex((i, b) for i, (_, b, _) in enumerate(pairs))
    if not index.semantic:
        print(f"# {semantic.MODEL_PACKAGE} not installed: the blended figures are lexical only")
    lexical = DuplicateIndex((i, b) for i, (_, b, _) in enumerate(pairs))

    recall, auc = quality(pairs, index)
    recall_lex, auc_lex = quality(pairs, lexical, "_lexical")
    print(
        f"# blended vs lexical: recall@5 {recall:.3f} vs {recall_lex:.3f}, AUC {auc:.3f} vs {auc_lex:.3f}"
    )
    for name, weight in (("words_only", 1.0), ("chars_only", 0.0)):
        variant = DuplicateIndex(((i, b) for i, (_, b, _) in enumerate(pairs)), word_weight=weight)
        a = pair_auc(pairs, variant.similarity)
        print(f"bench dedup_pair_auc_lexical_{name}: {a:.3f} ratio {a / auc_lex:.2f} vs lexical")
    if index.semantic:
        semantic_only = SemanticDuplicateIndex(
            ((i, b) for i, (_, b, _) in enumerate(pairs)), semantic_only=True
        )
        a = pair_auc(pairs, semantic_only.similarity)
        print(f"bench dedup_pair_auc_semantic_only: {a:.3f} ratio {a / auc:.2f} vs blend")

    held_index = SemanticDuplicateIndex((i, b) for i, (_, b, _) in enumerate(heldout))
    held_lexical = DuplicateIndex((i, b) for i, (_, b, _) in enumerate(heldout))
    quality(heldout, held_index, "_heldout")
    quality(heldout, held_lexical, "_heldout_lexical")

    describe(pairs, index, "blend")
    describe(pairs, lexical, "lexical")
    describe(heldout, held_index, "heldout blend")

    corpus = synthetic_proposals(pairs, 10_000)
    started = time.perf_counter()
    big = SemanticDuplicateIndex(enumerate(corpus))
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
    big_lexical = DuplicateIndex(enumerate(corpus))
    started = time.perf_counter()
    for q in queries:
        big_lexical.similar(q, 5)
    lexical_ms = (time.perf_counter() - started) / len(queries) * 1000
    print(f"bench dedup_query_10k_lexical: {lexical_ms:.2f} ms")


if __name__ == "__main__":
    main()
