"""Semantic near-duplicates: a sentence encoder (USE multilingual v3) next to the lexical index."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from pnyx.moderation import semantic
from pnyx.moderation.checks import DuplicateIndex, check_duplicates
from pnyx.moderation.semantic import SemanticDuplicateIndex

needs_model = pytest.mark.skipif(
    not semantic.available(), reason=f"{semantic.MODEL_PACKAGE} is not installed"
)

PROPOSALS = {
    1: "Il faut recruter davantage de professeurs",
    2: "Il faut rénover les gymnases des collèges",
    3: "Il faut ouvrir les crèches le samedi",
    4: "Il faut interdire la chasse le dimanche",
    5: "Il faut encadrer les prix de l'énergie",
    6: "Il faut organiser plus de concerts gratuits en plein air",
    7: "Il faut sanctionner les deux-roues trop bruyants en agglomération",
    8: "Il faut installer des toilettes publiques gratuites",
    9: "Il faut allonger les horaires d'ouverture des mairies",
    10: "Il faut protéger les zones humides",
}


@pytest.fixture(scope="module")
def index() -> SemanticDuplicateIndex:
    return SemanticDuplicateIndex(PROPOSALS.items())


def test_semantic_text_drops_the_shared_opening() -> None:
    assert semantic.semantic_text("Il faut que l’État taxe les jets privés") == (
        "l'État taxe les jets privés"
    )
    assert semantic.semantic_text("  il FAUDRAIT   plus de bus ") == "plus de bus"
    assert semantic.semantic_text("Nous devons ouvrir les crèches") == "ouvrir les crèches"
    assert semantic.semantic_text("On doit fermer la route") == "fermer la route"
    assert semantic.semantic_text("Faut-il des bus ?") == "Faut-il des bus ?"
    assert semantic.semantic_text("Il faut") == semantic.semantic_text("Il faut !") == ""


@needs_model
def test_embeddings_are_unit_rows() -> None:
    vectors = semantic.embed(["Il faut plus de bus", "Il faut", "Il faut davantage d'autobus"])
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(vectors[2]) == pytest.approx(1.0, abs=1e-5)
    assert not vectors[1].any()  # nothing left once the opening is dropped
    assert float(vectors[0] @ vectors[2]) > 0.7


@needs_model
def test_paraphrase_scores_above_unrelated(index: SemanticDuplicateIndex) -> None:
    query = "Il faut réduire le bruit des motos en ville"
    paraphrase, unrelated = PROPOSALS[7], PROPOSALS[5]
    assert index.semantic_similarity(query, paraphrase) > index.semantic_similarity(
        query, unrelated
    )
    assert index.similarity(query, paraphrase) > index.similarity(query, unrelated)
    assert index.similarity(query, query) == pytest.approx(1.0, abs=1e-4)


@needs_model
def test_index_returns_the_paraphrase_in_its_top_5(index: SemanticDuplicateIndex) -> None:
    query = "Il faut réduire le bruit des motos en ville"
    top = index.similar(query, 5)
    assert 7 in [pid for pid, _ in top] and top[0][0] == 7
    assert top == index.similar_exact(query, 5)
    lexical = DuplicateIndex(PROPOSALS.items())
    assert index.similarity(query, PROPOSALS[7]) > lexical.similarity(query, PROPOSALS[7])


@needs_model
def test_similarity_is_never_below_the_lexical_one(index: SemanticDuplicateIndex) -> None:
    query = "Il faut interdire la chasse le samedi"
    for text in PROPOSALS.values():
        assert index.similarity(query, text) >= index.lexical_similarity(query, text)
    semantic_only = SemanticDuplicateIndex(PROPOSALS.items(), semantic_only=True)
    scores = [semantic_only.similarity(query, text) for text in PROPOSALS.values()]
    assert max(scores) == semantic_only.similarity(query, PROPOSALS[4])
    assert semantic_only.similar(query, 3) == semantic_only.similar_exact(query, 3)


@needs_model
def test_add_many_is_one_add_each() -> None:
    items = [*PROPOSALS.items(), (3, "Il faut ouvrir les crèches le dimanche")]  # 3 replaced
    batched = SemanticDuplicateIndex(items)
    one_by_one = SemanticDuplicateIndex()
    for proposal_id, text in items:
        one_by_one.add(proposal_id, text)
    assert len(batched) == len(one_by_one) == len(PROPOSALS)
    assert batched.text(3) == "Il faut ouvrir les crèches le dimanche"
    for query in ("Il faut garder les crèches ouvertes le week-end", PROPOSALS[9]):
        assert batched.similar(query, 5) == one_by_one.similar(query, 5)
    lexical = DuplicateIndex()
    lexical.add_many(items)
    assert len(lexical) == len(PROPOSALS) and lexical.text(3) == items[-1][1]


@needs_model
def test_add_replace_remove_and_exclude() -> None:
    index = SemanticDuplicateIndex(PROPOSALS.items())
    query = "Il faut embaucher plus d'enseignants"
    assert index.similar(query, 1)[0][0] == 1
    assert index.similar(query, 1, exclude=1)[0][0] != 1
    index.remove(1)
    assert 1 not in [pid for pid, _ in index.similar(query, 10)]
    index.add(11, "Il faut embaucher plus d'enseignants")
    index.add(11, "Il faut embaucher plus d'enseignants !")  # replaced, not duplicated
    assert [pid for pid, _ in index.similar(query, 10)].count(11) == 1
    assert index.similar(query, 1)[0][0] == 11
    similar, findings = check_duplicates(query, index)
    assert similar[0][0] == 11 and findings
    assert SemanticDuplicateIndex().similar(query) == []


def test_without_the_model_it_is_the_lexical_index() -> None:
    query = "Il faut réduire le bruit des motos en ville"
    lexical = DuplicateIndex(PROPOSALS.items())
    fallback = SemanticDuplicateIndex(PROPOSALS.items(), use_model=False)
    assert not fallback.semantic
    assert fallback.similar(query, 5) == lexical.similar(query, 5)
    assert fallback.similarity(query, PROPOSALS[7]) == lexical.similarity(query, PROPOSALS[7])


def test_missing_package_logs_a_warning_and_falls_back(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(semantic, "_model", None)
    monkeypatch.setattr(semantic, "_model_failed", False)
    monkeypatch.setattr(semantic, "MODEL_PACKAGE", "no_such_model_package_xyz")
    with caplog.at_level(logging.WARNING, logger=semantic.__name__):
        index = SemanticDuplicateIndex(PROPOSALS.items())
    assert not index.semantic
    assert "lexical only" in caplog.text
    assert index.similar(PROPOSALS[3], 1)[0][0] == 3
    with pytest.raises(RuntimeError):
        semantic.embed(["Il faut plus de bus"])


def test_custom_embedder_is_used() -> None:
    def embedder(texts):
        out = np.zeros((len(texts), 2), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = (1.0, 0.0) if "gymnase" in text or "sport" in text else (0.0, 1.0)
        return out

    index = SemanticDuplicateIndex(PROPOSALS.items(), embedder=embedder, semantic_only=True)
    assert index.semantic
    assert index.similar("Il faut des équipements de sport", 1)[0][0] == 2


class _Recording:
    """A stand-in encoder (hashed bag of words) that records the texts it reads."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, texts):
        self.texts.extend(texts)
        out = np.zeros((len(texts), 32), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, sum(word.encode()) % 32] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_vectors_encoded_later_give_the_same_results() -> None:
    eager = SemanticDuplicateIndex(PROPOSALS.items(), embedder=_Recording())
    recording = _Recording()
    lazy = SemanticDuplicateIndex(embedder=recording)
    recording.texts.clear()  # its probe
    lazy.add_many(PROPOSALS.items(), encode=False)
    assert recording.texts == [] and lazy.pending == len(PROPOSALS)
    query = "Il faut ouvrir les crèches le dimanche"
    assert lazy.similar(query, 5) == DuplicateIndex(PROPOSALS.items()).similar(query, 5)
    assert lazy.waiting(3) and not lazy.waiting(99)
    assert lazy.unencoded(2, ids=[7]) == [(7, PROPOSALS[7]), (1, PROPOSALS[1])]
    assert lazy.encode_pending(1, ids=[3]) == 1 and not lazy.waiting(3)
    items = lazy.unencoded()
    assert len(items) == len(PROPOSALS) - 1
    vectors = lazy.encode([text for _, text in items])
    lazy.add_many([(5, "Il faut encadrer le prix du gaz")], encode=False)  # re-texted meanwhile
    lazy.remove(6)  # and this one gone
    assert lazy.store_vectors(items, vectors) == len(items) - 2
    assert lazy.unencoded() == [(5, "Il faut encadrer le prix du gaz")]
    lazy.encode_pending()
    lazy.add(5, PROPOSALS[5])
    lazy.add(6, PROPOSALS[6])
    assert lazy.pending == 0 and lazy.baseline() == pytest.approx(eager.baseline())
    for text in (query, PROPOSALS[9]):
        assert lazy.similar(text, 5) == eager.similar(text, 5)


def test_an_indexed_proposal_is_not_re_encoded_as_a_query() -> None:
    recording = _Recording()
    index = SemanticDuplicateIndex(PROPOSALS.items(), embedder=recording)
    recording.texts.clear()
    found = index.similar(PROPOSALS[4], 3, exclude=4)
    assert recording.texts == [] and 4 not in [pid for pid, _ in found]
    assert index.similar_exact(PROPOSALS[4], 3, exclude=4) == found
    assert recording.texts == []
    index.similar(PROPOSALS[4] + " !", 3, exclude=4)  # another text: encoded
    assert recording.texts == [PROPOSALS[4] + " !"]
