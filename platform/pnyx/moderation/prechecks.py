"""The pre-checks shown to a moderator (never deciding alone): personal data, links, insults,
language (``checks.run_checks``), and near-duplicates among the consultation's proposals through a
per-process :class:`~pnyx.moderation.semantic.SemanticDuplicateIndex` (the lexical score and a
sentence encoder's; the lexical index alone when the encoder is not installed).

One index per (tenant, consultation), kept incrementally, so that a proposal is encoded once per
process and not at every refresh:

- each use adds the proposals submitted since the last one (ids above the highest seen);
- every ``max_age`` seconds a use re-reads the ids and texts of the consultation's indexed
  proposals and applies the difference: drops those refused (or gone), re-indexes a corrected
  text, adds what is missing — decisions taken in other processes show up, unchanged proposals
  are neither re-encoded nor re-indexed;
- this process's own decisions are applied at once (:meth:`DuplicateIndexes.update`);
- a proposal is indexed lexically at once; its vector is encoded in the request while few are
  missing (``sync_encode``), otherwise (first use of a large consultation in this process: about
  1 ms a proposal, 10,000 take 9 to 17 s) by a background thread in batches, the queried
  proposal first: meanwhile the proposals not encoded yet score on the lexical similarity alone;
- the query reuses the vector of the proposal under review (it is indexed: pending proposals are);
- memory is bounded: past ``max_proposals`` indexed proposals in all (about 8 KB each: 5.7 KB of
  lexical index, 2 KB of vector), the least recently used consultations are dropped, to be
  rebuilt on their next use.

Thread-safe: a lock for the table, one per index; the encoder runs outside them when warming.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import select

from pnyx.consultations.models import Consultation, Proposal, ProposalStatus
from pnyx.kernel.db import TenantSession

from .checks import CheckReport, run_checks
from .semantic import SemanticDuplicateIndex

log = logging.getLogger(__name__)

INDEXED_STATUSES = (
    ProposalStatus.pending.value,
    ProposalStatus.postponed.value,
    ProposalStatus.accepted.value,
    ProposalStatus.archived.value,
)


@dataclass(eq=False)
class _Entry:
    index: SemanticDuplicateIndex
    max_id: int = 0
    synced: float | None = None  # monotonic time of the last full read; None: never read
    evicted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class DuplicateIndexes:
    """One near-duplicate index per (tenant, consultation), per process (see the module
    docstring). ``embedder`` replaces the sentence encoder (tests count its calls);
    ``use_model=False`` keeps the indexes lexical; ``background=False`` encodes every missing
    vector in the request (tests, scripts)."""

    def __init__(
        self,
        max_age: float = 300.0,
        *,
        max_proposals: int = 30_000,
        sync_encode: int = 256,
        batch: int = 64,
        background: bool = True,
        embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
        use_model: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max_age
        self.max_proposals = max_proposals
        self.sync_encode = sync_encode
        self.batch = batch
        self.background = background
        self.embedder = embedder
        self.use_model = use_model
        self.clock = clock
        self._items: OrderedDict[tuple[int, int], _Entry] = OrderedDict()  # least recent first
        self._lock = threading.Lock()
        self._warm_queue: list[_Entry] = []
        self._warmer: threading.Thread | None = None

    # ------------------------------------------------------------------------ the table

    def clear(self) -> None:
        with self._lock:
            for entry in self._items.values():
                entry.evicted = True
            self._items.clear()
            self._warm_queue.clear()

    def index_of(self, tenant_id: int, consultation_id: int) -> SemanticDuplicateIndex | None:
        """The index held for a consultation, if any (for tests and diagnostics)."""
        entry = self._items.get((tenant_id, consultation_id))
        return entry.index if entry is not None else None

    def indexed(self) -> int:
        """Proposals indexed, all consultations together."""
        return sum(len(entry.index) for entry in list(self._items.values()))

    def _entry(self, key: tuple[int, int]) -> _Entry:
        with self._lock:
            entry = self._items.get(key)
            if entry is not None:
                self._items.move_to_end(key)
                return entry
        # Outside the table's lock: the first index of a process loads the encoder (1.5 s).
        index = SemanticDuplicateIndex(use_model=self.use_model, embedder=self.embedder)
        with self._lock:
            entry = self._items.setdefault(key, _Entry(index))
            self._items.move_to_end(key)
            return entry

    def _evict(self, keep: tuple[int, int]) -> None:
        """Drop the least recently used indexes while over ``max_proposals`` (never ``keep``)."""
        with self._lock:
            total = sum(len(entry.index) for entry in self._items.values())
            for key in list(self._items):
                if total <= self.max_proposals:
                    break
                if key == keep:
                    continue
                entry = self._items.pop(key)
                entry.evicted = True
                total -= len(entry.index)
                log.info("duplicate index of consultation %s dropped (memory bound)", key[1])

    # -------------------------------------------------------------------- keeping in step

    def _sync(self, session: TenantSession, tenant_id: int, consultation_id: int, entry) -> None:
        """Bring the index in step with the database (caller holds ``entry.lock``)."""
        query = select(Proposal.id, Proposal.content).where(
            Proposal.tenant_id == tenant_id,
            Proposal.consultation_id == consultation_id,
            Proposal.status.in_(INDEXED_STATUSES),
        )
        now = self.clock()
        index = entry.index
        full = entry.synced is None or now - entry.synced > self.max_age
        if not full:
            query = query.where(Proposal.id > entry.max_id)
        rows = session.execute(query.order_by(Proposal.id)).all()
        if full:
            present = {proposal_id for proposal_id, _ in rows}
            for gone in [pid for pid in index.ids() if pid not in present]:
                index.remove(gone)
            entry.synced = now
        changed = [
            (proposal_id, content)
            for proposal_id, content in rows
            if proposal_id not in index or index.text(proposal_id) != content
        ]
        index.add_many(changed, encode=False)
        if rows:
            entry.max_id = max(entry.max_id, rows[-1][0])

    def _encode(self, entry: _Entry, proposal_id: int) -> None:
        """Encode what is missing in the request if it is little (the proposal under review in
        any case); hand the rest to the background thread (caller holds ``entry.lock``)."""
        index = entry.index
        if not index.semantic or not index.pending:
            return
        if not self.background or index.pending <= self.sync_encode:
            index.encode_pending()
            return
        if index.waiting(proposal_id):
            index.encode_pending(1, ids=[proposal_id])
        self._schedule(entry)

    def checks(self, session: TenantSession, proposal: Proposal, language: str) -> CheckReport:
        """Run every pre-check on the proposal, near-duplicates among its consultation's."""
        key = (proposal.tenant_id, proposal.consultation_id)
        entry = self._entry(key)
        with entry.lock:
            self._sync(session, proposal.tenant_id, proposal.consultation_id, entry)
            self._encode(entry, proposal.id)
            report = run_checks(
                proposal.content, language=language, index=entry.index, exclude_id=proposal.id
            )
        self._evict(keep=key)
        return report

    def update(self, tenant_id: int, consultation_id: int, proposal_id: int, text: str | None):
        """After a decision of this process: reindex a corrected text, drop a refused one."""
        entry = self._items.get((tenant_id, consultation_id))
        if entry is None:
            return
        with entry.lock:
            index = entry.index
            if proposal_id not in index:
                return
            if text is None:
                index.remove(proposal_id)
            elif index.text(proposal_id) != text:
                index.add_many([(proposal_id, text)], encode=False)
                self._encode(entry, proposal_id)

    # ------------------------------------------------------------------------ warming up

    def _schedule(self, entry: _Entry) -> None:
        with self._lock:
            if entry.evicted:
                return
            if entry not in self._warm_queue:
                self._warm_queue.append(entry)
            if self._warmer is None:
                self._warmer = threading.Thread(
                    target=self._warm, name="pnyx-dedup-warm", daemon=True
                )
                self._warmer.start()

    def _warm(self) -> None:
        """Encode the missing vectors of the queued indexes, a batch at a time, the encoder
        running outside the index's lock (a desk request waits one store, not the encoding)."""
        while True:
            with self._lock:
                if not self._warm_queue:
                    self._warmer = None
                    return
                entry = self._warm_queue[0]
            try:
                while not entry.evicted:
                    with entry.lock:
                        items = entry.index.unencoded(self.batch)
                    if not items:
                        break
                    vectors = entry.index.encode([text for _, text in items])
                    with entry.lock:
                        entry.index.store_vectors(items, vectors)
            except Exception:  # the proposals left score lexically; the next use retries
                log.exception("could not encode proposals for near-duplicate search")
            with self._lock:
                if entry in self._warm_queue:
                    self._warm_queue.remove(entry)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background encoding to finish; True if nothing is left to do."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                warmer = self._warmer
            if warmer is None:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            warmer.join(left)


INDEXES = DuplicateIndexes()


@dataclass(frozen=True)
class Similar:
    proposal_id: int
    similarity: float
    content: str
    status: str


def prechecks(
    session: TenantSession, proposal: Proposal, *, indexes: DuplicateIndexes | None = None
) -> tuple[CheckReport, list[Similar]]:
    """The pre-checks shown to the moderator (never deciding alone), with the 5 most similar
    proposals of the consultation."""
    consultation = session.get(Consultation, proposal.consultation_id)
    report = (INDEXES if indexes is None else indexes).checks(
        session, proposal, consultation.language if consultation else "fr"
    )
    ids = [int(pid) for pid, _ in report.similar]
    found = {}
    if ids:
        rows = session.execute(
            select(Proposal.id, Proposal.content, Proposal.status).where(Proposal.id.in_(ids))
        )
        found = {row.id: row for row in rows}
    similar = [
        Similar(int(pid), float(score), found[int(pid)].content, found[int(pid)].status)
        for pid, score in report.similar
        if int(pid) in found
    ]
    return report, similar
