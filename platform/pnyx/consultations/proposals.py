"""Proposals: checked text, submission with a rate limit, decisions, and their author's view."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from pnyx.identity.models import Participant
from pnyx.kernel.db import TenantSession, on_commit
from pnyx.kernel.errors import Conflict, Invalid, NotFound, TooManyRequests
from pnyx.kernel.i18n import N_

from .models import (
    SEGMENTS,
    Consultation,
    Proposal,
    ProposalCounter,
    ProposalStatus,
    ProposalTag,
    Tag,
)
from .signals import proposal_changed

MIN_LENGTH, MAX_LENGTH = 12, 140
# Per author: a burst of 5 in 10 minutes, 30 a day.
RATE_LIMITS = ((timedelta(minutes=10), 5), (timedelta(days=1), 30))
REFUSAL_REASONS = (
    "incomprehensible",
    "off_topic",
    "partisan",
    "illegal",
    "advertising",
    "several_ideas",
    "invalid_language",
    "insulting",
    "test",
    "other",
)
# decision → (the statuses it applies to, the status it gives). Refusing an accepted proposal
# unpublishes it (a late moderation); archiving ends its life in rotation but keeps its results.
DECISIONS = {
    "accept": ((ProposalStatus.pending, ProposalStatus.postponed), ProposalStatus.accepted),
    "refuse": (
        (ProposalStatus.pending, ProposalStatus.postponed, ProposalStatus.accepted),
        ProposalStatus.refused,
    ),
    "postpone": ((ProposalStatus.pending,), ProposalStatus.postponed),
    "archive": ((ProposalStatus.accepted,), ProposalStatus.archived),
}
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_SPACES = re.compile(r"\s+")


def _invalid(code: str, message: str) -> Invalid:
    return Invalid(message, code=code, errors={"content": [message]})


def clean_text(raw: object, prefix: str) -> str:
    """The proposal's text, checked: plain text, 12–140 characters, starting with the prefix."""
    if not isinstance(raw, str) or not raw.strip():
        raise _invalid("proposal_empty", N_("Write your proposal."))
    text = _SPACES.sub(" ", raw).strip()
    if _HTML.search(text) or "<" in text and ">" in text:
        raise _invalid("proposal_html", N_("Plain text only: no HTML."))
    if len(text) < MIN_LENGTH:
        raise _invalid("proposal_too_short", N_("At least %(n)s characters.", n=MIN_LENGTH))
    if len(text) > MAX_LENGTH:
        raise _invalid("proposal_too_long", N_("At most %(n)s characters.", n=MAX_LENGTH))
    if not text.lower().startswith(prefix.lower() + " "):
        raise _invalid("proposal_missing_prefix", N_("Start with “%(prefix)s”.", prefix=prefix))
    return prefix + text[len(prefix) :]


def _check_rate(session: TenantSession, author: Participant, now: datetime) -> None:
    for window, limit in RATE_LIMITS:
        recent = session.scalar(
            select(func.count())
            .select_from(Proposal)
            .where(Proposal.author_id == author.id, Proposal.created_at > now - window)
        )
        if recent >= limit:
            raise TooManyRequests(
                N_("You have proposed %(n)s times recently: try again later.", n=limit),
                code="proposal_rate_limited",
                retry_after=int(window.total_seconds()),
            )


def submit(
    session: TenantSession,
    consultation: Consultation,
    author: Participant,
    content: object,
    now: datetime,
    *,
    rate_limit: bool = True,
) -> Proposal:
    """A new pending proposal (with its counter rows), once the text and the rate allow it.

    ``rate_limit=False`` is for imports and demo seeding, never for a participant's request.
    """
    text = clean_text(content, consultation.proposal_prefix)
    if consultation.status_at(now) != "open":
        raise Conflict(N_("This consultation is not open."), code="consultation_closed")
    if author.account_id is None:
        raise Conflict(N_("Sign up to propose."), code="signup_required")
    if rate_limit:
        _check_rate(session, author, now)
    proposal = Proposal(
        consultation_id=consultation.id,
        author_id=author.id,
        content=text,
        language=consultation.language,
        created_at=now,
    )
    session.add(proposal)
    session.flush()
    session.execute(
        insert(ProposalCounter),
        [
            {
                "tenant_id": consultation.tenant_id,
                "consultation_id": consultation.id,
                "proposal_id": proposal.id,
                "segment": segment,
            }
            for segment in SEGMENTS
        ],
    )
    return proposal


def get(session: TenantSession, proposal_id: int, consultation_id: int | None = None) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or (
        consultation_id is not None and proposal.consultation_id != consultation_id
    ):
        raise NotFound(N_("No such proposal."), code="proposal_not_found")
    return proposal


def visible(proposal: Proposal, viewer: Participant | None) -> bool:
    """Published proposals are public; the author alone sees their pending or refused ones."""
    if proposal.status in (ProposalStatus.accepted, ProposalStatus.archived):
        return True
    return viewer is not None and proposal.author_id == viewer.id


def of_author(session: TenantSession, consultation_id: int, author: Participant) -> list[Proposal]:
    return list(
        session.scalars(
            select(Proposal)
            .where(Proposal.consultation_id == consultation_id, Proposal.author_id == author.id)
            .order_by(Proposal.created_at.desc())
        )
    )


def pending(session: TenantSession, consultation_id: int, limit: int = 100) -> list[Proposal]:
    return list(
        session.scalars(
            select(Proposal)
            .where(
                Proposal.consultation_id == consultation_id,
                Proposal.status == ProposalStatus.pending,
            )
            .order_by(Proposal.created_at, Proposal.id)
            .limit(limit)
        )
    )


def decide(
    session: TenantSession,
    proposal_id: int,
    decision: str,
    *,
    by: str,
    now: datetime,
    reason: str | None = None,
    note: str | None = None,
    tag_ids: list[int] | None = None,
) -> Proposal:
    """Accept (with tags), refuse (with a reason), postpone or archive a proposal."""
    proposal = get(session, proposal_id)
    if decision not in DECISIONS:
        raise Invalid(
            N_("One of %(choices)s.", choices=", ".join(DECISIONS)),
            code="unknown_decision",
            errors={"decision": [N_("Unknown.")]},
        )
    if proposal.status not in DECISIONS[decision][0]:
        raise Conflict(
            N_("This proposal is already %(status)s.", status=N_(proposal.status)),
            code="already_decided",
        )
    if decision == "refuse":
        if reason not in REFUSAL_REASONS:
            raise Invalid(
                N_("Give a reason for the refusal."),
                code="unknown_reason",
                errors={"reason": [N_("Give a reason for the refusal.")]},
            )
        proposal.refusal_reason, proposal.refusal_note = reason, (note or "")[:500] or None
    if decision == "accept" and tag_ids:
        tags = set(
            session.scalars(
                select(Tag.id).where(
                    Tag.id.in_(tag_ids), Tag.consultation_id == proposal.consultation_id
                )
            )
        )
        if tags != set(tag_ids):
            raise Invalid(
                N_("Unknown tag."), code="unknown_tag", errors={"tag_ids": [N_("Unknown tag.")]}
            )
        session.add_all(ProposalTag(proposal_id=proposal.id, tag_id=t) for t in sorted(tags))
    proposal.status = DECISIONS[decision][1].value
    proposal.decided_at, proposal.decided_by = now, by
    session.flush()
    tenant_id, consultation_id, status = (
        proposal.tenant_id,
        proposal.consultation_id,
        proposal.status,
    )
    on_commit(
        session,
        lambda: proposal_changed.send(
            consultation_id, tenant_id=tenant_id, proposal_id=proposal_id, status=status
        ),
    )
    return proposal


def contents(session: TenantSession, proposal_ids: list[int]) -> dict[int, str]:
    """The texts of these proposals (of the session's tenant), by id."""
    if not proposal_ids:
        return {}
    rows = session.execute(
        select(Proposal.id, Proposal.content).where(Proposal.id.in_(proposal_ids))
    )
    return {proposal_id: content for proposal_id, content in rows}


def tags_by_proposal(session: TenantSession, proposal_ids: list[int]) -> dict[int, list[Tag]]:
    if not proposal_ids:
        return {}
    rows = session.execute(
        select(ProposalTag.proposal_id, Tag)
        .join(Tag, Tag.id == ProposalTag.tag_id)
        .where(ProposalTag.proposal_id.in_(proposal_ids))
        .order_by(Tag.label)
    )
    found: dict[int, list[Tag]] = {}
    for proposal_id, tag in rows:
        found.setdefault(proposal_id, []).append(tag)
    return found
