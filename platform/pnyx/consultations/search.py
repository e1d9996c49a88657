"""Search published proposals: keywords (PostgreSQL French full-text; SQLite FTS5), tag, sort."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, text

from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid
from pnyx.kernel.i18n import N_

from .models import Proposal, ProposalCounter, ProposalStatus, ProposalTag, Tag

SORTS = ("recent", "votes")
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Page:
    items: list[Proposal]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _fts5_query(q: str) -> str | None:
    """Each word as a quoted prefix term (FTS5 has no French stemmer: prefixes catch plurals)."""
    words = [w for w in _WORD.findall(q.lower()) if len(w) > 1][:12]
    return (
        " ".join(f'"{w[:-1] if len(w) > 4 and w.endswith(("s", "x")) else w}"*' for w in words)
        or None
    )


def search(
    session: TenantSession,
    consultation_id: int,
    *,
    q: str | None = None,
    tag: str | None = None,
    sort: str = "recent",
    page: int = 1,
    per_page: int = 20,
) -> Page:
    if sort not in SORTS:
        raise Invalid(
            N_("Sort by recent or votes."),
            code="invalid_sort",
            errors={"sort": [N_("Sort by recent or votes.")]},
        )
    if not 1 <= per_page <= MAX_PER_PAGE or page < 1 or page > MAX_PAGE:
        raise Invalid(
            N_("Page out of range."),
            code="invalid_page",
            errors={"page": [N_("A page number from 1 to %(last)s.", last=MAX_PAGE)]},
        )
    query = select(Proposal).where(
        Proposal.consultation_id == consultation_id, Proposal.status == ProposalStatus.accepted
    )
    q = (q or "").strip()[:200]
    if q:
        if session.get_bind().dialect.name == "postgresql":
            query = query.where(
                func.to_tsvector(text("'french'"), Proposal.content).op("@@")(
                    func.websearch_to_tsquery(text("'french'"), q)
                )
            )
        else:
            match = _fts5_query(q)
            if match is None:
                return Page([], 0, page, per_page)
            query = query.where(
                Proposal.id.in_(
                    select(text("rowid"))
                    .select_from(text("proposals_fts"))
                    .where(text("proposals_fts MATCH :match").bindparams(match=match))
                )
            )
    if tag:
        query = query.where(
            Proposal.id.in_(
                select(ProposalTag.proposal_id)
                .join(Tag, Tag.id == ProposalTag.tag_id)
                .where(Tag.slug == tag, Tag.consultation_id == consultation_id)
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if sort == "votes":
        votes = (
            ProposalCounter.raw_agree + ProposalCounter.raw_disagree + ProposalCounter.raw_neutral
        )
        query = query.join(
            ProposalCounter,
            (ProposalCounter.proposal_id == Proposal.id) & (ProposalCounter.segment == "all"),
        ).order_by(votes.desc(), Proposal.id.desc())
    else:
        query = query.order_by(Proposal.created_at.desc(), Proposal.id.desc())
    items = list(session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items, int(total), page, per_page)
