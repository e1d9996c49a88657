"""Pre-checks' near-duplicates: the semantic index, one per (tenant, consultation), kept across
refreshes so that a proposal is encoded once per process.

Runs on the embedded default and on PostgreSQL + Redis (row-level security on). The encoder is a
counting stand-in (``embedder=``) except in the paraphrase test, which needs the real one.
"""

from __future__ import annotations

import threading
import zlib
from collections import Counter

import numpy as np
import pytest

from pnyx.consultations.models import Proposal
from pnyx.moderation import prechecks, semantic
from pnyx.moderation.checks import DuplicateIndex
from pnyx.moderation.prechecks import DuplicateIndexes
from tests import factories

needs_model = pytest.mark.skipif(
    not semantic.available(), reason=f"{semantic.MODEL_PACKAGE} is not installed"
)

ACCEPTED = (
    "Il faut rénover les gymnases des collèges",
    "Il faut ouvrir les crèches le samedi",
    "Il faut interdire la chasse le dimanche",
    "Il faut installer des toilettes publiques gratuites",
    "Il faut allonger les horaires d'ouverture des mairies",
    "Il faut protéger les zones humides",
    "Il faut organiser plus de concerts gratuits en plein air",
    "Il faut réparer les trous dans la chaussée des routes communales",
    "Il faut lutter contre les nuisances sonores des deux-roues",
)
TOILETS = 3
# Same idea as ACCEPTED[TOILETS], hardly a word in common:
PARAPHRASE = "Il faut des WC accessibles sans payer dans la rue"


class CountingEmbedder:
    """A stand-in encoder (hashed bag of words, unit rows) that records every text it reads."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, texts):
        with self.lock:
            self.texts.extend(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0.0, 1.0, norms)

    def take(self) -> list[str]:
        """The texts read since the last call."""
        with self.lock:
            texts, self.texts = self.texts, []
        return texts


@pytest.fixture()
def alpha(world, database):
    """A consultation of alpha with ACCEPTED, and the ids of those proposals."""
    prechecks.INDEXES.clear()  # ids start over with each test's fresh tables
    c = factories.consultation(database, world.alpha_id)
    ids = [
        factories.proposal(database, world.alpha_id, c.id, text, author="a@alpha.test").id
        for text in ACCEPTED
    ]
    return c, ids


def submit(database, tenant_id, consultation_id, text, author="new@x.test") -> int:
    proposal = factories.proposal(
        database, tenant_id, consultation_id, text, author=author, status="pending"
    )
    return proposal.id


def check(database, world, indexes, proposal_id):
    """The pre-checks of a proposal, from a session bound to both tenants (as the desk's)."""
    with database.session(tenant_ids=[world.alpha_id, world.beta_id]) as s:
        proposal = s.get(Proposal, proposal_id)
        return prechecks.prechecks(s, proposal, indexes=indexes)


@needs_model
def test_a_paraphrase_of_an_accepted_proposal_is_among_the_duplicates(world, database, alpha):
    c, ids = alpha
    pending_id = submit(database, world.alpha_id, c.id, PARAPHRASE)
    _report, similar = check(database, world, prechecks.INDEXES, pending_id)
    assert prechecks.INDEXES.index_of(world.alpha_id, c.id).semantic
    assert similar[0].proposal_id == ids[TOILETS] and similar[0].status == "accepted"
    assert similar[0].similarity > 0.3
    # Not a lexical near-copy: the lexical index alone leaves it out of its top 5.
    lexical = DuplicateIndex(zip(ids, ACCEPTED, strict=True))
    assert lexical.similarity(PARAPHRASE, ACCEPTED[TOILETS]) < 0.1
    assert ids[TOILETS] not in [pid for pid, _ in lexical.similar(PARAPHRASE, 5)]


def test_a_refresh_encodes_only_new_and_changed_proposals(world, database, alpha):
    c, ids = alpha
    embedder = CountingEmbedder()
    clock = [0.0]
    indexes = DuplicateIndexes(
        max_age=300, embedder=embedder, background=False, clock=lambda: clock[0]
    )
    pending_id = submit(database, world.alpha_id, c.id, PARAPHRASE)
    check(database, world, indexes, pending_id)
    encoded = embedder.take()
    assert Counter(encoded) == Counter(["Il faut", *ACCEPTED, PARAPHRASE])  # "Il faut": its probe

    _report, similar = check(database, world, indexes, pending_id)
    assert embedder.take() == []  # nothing new; the query reuses the indexed vector
    assert similar

    # Changes seen at the next use (a submission) or at the next full read (the others, as
    # when another process decides): a new proposal, a corrected text, a refusal.
    new_id = submit(database, world.alpha_id, c.id, "Il faut des pistes cyclables")
    corrected = "Il faut rénover les gymnases de tous les collèges"
    with database.scope(tenant_id=world.alpha_id) as s:
        s.get(Proposal, ids[0]).content = corrected
        s.get(Proposal, ids[1]).status = "refused"
    check(database, world, indexes, pending_id)
    assert embedder.take() == ["Il faut des pistes cyclables"]
    index = indexes.index_of(world.alpha_id, c.id)
    assert index.text(ids[0]) == ACCEPTED[0] and ids[1] in index  # not re-read yet

    clock[0] = 301.0  # past max_age: the next use reads every id and text again
    check(database, world, indexes, pending_id)
    assert embedder.take() == [corrected]
    assert index is indexes.index_of(world.alpha_id, c.id)  # the same index, brought in step
    assert index.text(ids[0]) == corrected and ids[1] not in index
    assert sorted(index.ids()) == sorted([*ids[:1], *ids[2:], pending_id, new_id])
    assert index.pending == 0


def test_decisions_of_this_process_update_the_index_without_re_encoding(world, database, alpha):
    c, ids = alpha
    embedder = CountingEmbedder()
    indexes = DuplicateIndexes(embedder=embedder, background=False)
    pending_id = submit(database, world.alpha_id, c.id, PARAPHRASE)
    check(database, world, indexes, pending_id)
    embedder.take()
    indexes.update(world.alpha_id, c.id, pending_id, PARAPHRASE)  # accepted as it is
    assert embedder.take() == []
    indexes.update(world.alpha_id, c.id, ids[2], "Il faut interdire la chasse le week-end")
    assert embedder.take() == ["Il faut interdire la chasse le week-end"]
    indexes.update(world.alpha_id, c.id, ids[3], None)  # refused
    assert ids[3] not in indexes.index_of(world.alpha_id, c.id)


def test_tenants_and_consultations_never_share_an_index(world, database, alpha):
    c, ids = alpha
    beta_c = factories.consultation(database, world.beta_id)
    other_c = factories.consultation(database, world.alpha_id, slug="autre")
    text = ACCEPTED[TOILETS]
    beta_ids = [
        factories.proposal(database, world.beta_id, beta_c.id, t, author="b@beta.test").id
        for t in (text, "Il faut un parking pour les vélos")
    ]
    other_id = factories.proposal(database, world.alpha_id, other_c.id, text, author="o@x.test").id
    embedder = CountingEmbedder()
    indexes = DuplicateIndexes(embedder=embedder, background=False)
    beta_pending = submit(database, world.beta_id, beta_c.id, text, author="p@beta.test")
    _report, similar = check(database, world, indexes, beta_pending)
    assert {s.proposal_id for s in similar} == set(beta_ids)  # not alpha's identical text
    _report, similar = check(database, world, indexes, ids[0])
    assert {s.proposal_id for s in similar} <= set(ids)  # not the other consultation's
    assert sorted(indexes.index_of(world.beta_id, beta_c.id).ids()) == [*beta_ids, beta_pending]
    assert sorted(indexes.index_of(world.alpha_id, c.id).ids()) == ids
    assert indexes.index_of(world.alpha_id, other_c.id) is None
    assert other_id not in indexes.index_of(world.alpha_id, c.id)


def test_memory_is_bounded_by_dropping_the_least_recently_used(world, database, alpha):
    c, ids = alpha
    beta_c = factories.consultation(database, world.beta_id)
    beta_ids = [
        factories.proposal(database, world.beta_id, beta_c.id, t, author="b@beta.test").id
        for t in ACCEPTED[:5]
    ]
    indexes = DuplicateIndexes(embedder=CountingEmbedder(), background=False, max_proposals=12)
    check(database, world, indexes, ids[0])
    assert indexes.indexed() == len(ids)
    check(database, world, indexes, beta_ids[0])  # 9 + 5 > 12: alpha's goes
    assert indexes.index_of(world.alpha_id, c.id) is None
    assert indexes.indexed() == 5
    _report, similar = check(database, world, indexes, ids[0])  # rebuilt on its next use
    assert similar and indexes.index_of(world.beta_id, beta_c.id) is None


def test_a_large_backlog_is_encoded_in_the_background(world, database, alpha):
    c, ids = alpha
    embedder = CountingEmbedder()
    indexes = DuplicateIndexes(embedder=embedder, sync_encode=2, batch=3)
    pending_id = submit(database, world.alpha_id, c.id, PARAPHRASE)
    results = []

    def desk():
        results.append(check(database, world, indexes, pending_id))

    threads = [threading.Thread(target=desk) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(similar for _report, similar in results)
    assert indexes.wait(timeout=30)
    index = indexes.index_of(world.alpha_id, c.id)
    assert index.pending == 0
    counts = Counter(embedder.take())
    assert counts == Counter(["Il faut", *ACCEPTED, PARAPHRASE])  # each text once


def test_without_the_encoder_the_prechecks_are_lexical(world, database, alpha):
    c, ids = alpha
    indexes = DuplicateIndexes(use_model=False)
    pending_id = submit(database, world.alpha_id, c.id, "Il faut des toilettes publiques gratuites")
    _report, similar = check(database, world, indexes, pending_id)
    index = indexes.index_of(world.alpha_id, c.id)
    assert not index.semantic and index.pending == 0
    assert similar[0].proposal_id == ids[TOILETS]
