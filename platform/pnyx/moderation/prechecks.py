"""The pre-checks shown to a moderator (never deciding alone): personal data, links, insults,
language (``checks.run_checks``), and near-duplicates among the consultation's proposals through a
per-process, lazily refreshed :class:`~pnyx.moderation.checks.DuplicateIndex`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from pnyx.consultations.models import Consultation, Proposal, ProposalStatus
from pnyx.kernel.db import TenantSession

from .checks import CheckReport, DuplicateIndex, run_checks


@dataclass
class _CachedIndex:
    index: DuplicateIndex
    max_id: int
    built: float
    lock: threading.Lock = field(default_factory=threading.Lock)


INDEXED_STATUSES = (
    ProposalStatus.pending.value,
    ProposalStatus.postponed.value,
    ProposalStatus.accepted.value,
    ProposalStatus.archived.value,
)


class DuplicateIndexes:
    """One :class:`DuplicateIndex` per consultation, per process: built on first use, topped up
    with newer proposals on each use, rebuilt from scratch after ``max_age`` seconds (so that
    decisions taken in other processes show up), and kept in step with this process's own."""

    def __init__(self, max_age: float = 300.0) -> None:
        self.max_age = max_age
        self._items: dict[tuple[int, int], _CachedIndex] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def _rows(self, session: TenantSession, consultation_id: int, after_id: int):
        return session.execute(
            select(Proposal.id, Proposal.content)
            .where(
                Proposal.consultation_id == consultation_id,
                Proposal.status.in_(INDEXED_STATUSES),
                Proposal.id > after_id,
            )
            .order_by(Proposal.id)
        ).all()

    def checks(self, session: TenantSession, proposal: Proposal, language: str) -> CheckReport:
        """Run every pre-check on the proposal, near-duplicates among its consultation's."""
        key = (proposal.tenant_id, proposal.consultation_id)
        with self._lock:
            cached = self._items.get(key)
            if cached is None or time.monotonic() - cached.built > self.max_age:
                cached = self._items[key] = _CachedIndex(DuplicateIndex(), 0, time.monotonic())
        with cached.lock:
            rows = self._rows(session, proposal.consultation_id, cached.max_id)
            cached.index.add_many((proposal_id, content) for proposal_id, content in rows)
            if rows:
                cached.max_id = max(cached.max_id, rows[-1][0])
            return run_checks(
                proposal.content, language=language, index=cached.index, exclude_id=proposal.id
            )

    def update(self, tenant_id: int, consultation_id: int, proposal_id: int, text: str | None):
        """After a decision of this process: reindex a corrected text, drop a refused one."""
        cached = self._items.get((tenant_id, consultation_id))
        if cached is None:
            return
        with cached.lock:
            if text is None:
                if proposal_id in cached.index:
                    cached.index.remove(proposal_id)
            elif proposal_id in cached.index:
                cached.index.add(proposal_id, text)


INDEXES = DuplicateIndexes()


@dataclass(frozen=True)
class Similar:
    proposal_id: int
    similarity: float
    content: str
    status: str


def prechecks(session: TenantSession, proposal: Proposal) -> tuple[CheckReport, list[Similar]]:
    """The pre-checks shown to the moderator (never deciding alone), with the 5 most similar
    proposals of the consultation."""
    consultation = session.get(Consultation, proposal.consultation_id)
    report = INDEXES.checks(session, proposal, consultation.language if consultation else "fr")
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
