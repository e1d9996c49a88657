"""Download my data: the account and profile (from identity), with its proposals and votes.

Lives here rather than in identity because proposals and votes are a floor above identity. The
session is bound to one tenant, so the export holds that tenant's data only: the same e-mail's
account on another tenant is another person as far as this export goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from pnyx.identity.privacy import export_identity, participant_of
from pnyx.kernel.db import TenantSession

from .models import Consultation, Proposal, ProposalTag, Tag, Vote
from .votes import qualification_names


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _consultation(c: Consultation) -> dict:
    return {"id": c.id, "slug": c.slug, "question": c.question}


def export_account(session: TenantSession, account_id: int) -> dict:
    """Everything the platform holds on this account, JSON-serialisable."""
    data = export_identity(session, account_id)
    participant = participant_of(session, account_id)
    data["proposals"], data["votes"] = [], []
    if participant is None:
        return data
    proposals = session.execute(
        select(Proposal, Consultation)
        .join(Consultation, Consultation.id == Proposal.consultation_id)
        .where(Proposal.author_id == participant.id)
        .order_by(Proposal.created_at, Proposal.id)
    ).all()
    tags: dict[int, list[str]] = {}
    if proposals:
        for proposal_id, label in session.execute(
            select(ProposalTag.proposal_id, Tag.label)
            .join(Tag, Tag.id == ProposalTag.tag_id)
            .where(ProposalTag.proposal_id.in_([p.id for p, _ in proposals]))
            .order_by(Tag.label)
        ):
            tags.setdefault(proposal_id, []).append(label)
    data["proposals"] = [
        {
            "id": p.id,
            "consultation": _consultation(c),
            "content": p.content,
            "original_content": p.original_content,
            "language": p.language,
            "status": p.status,
            "refusal_reason": p.refusal_reason,
            "refusal_note": p.refusal_note,
            "tags": tags.get(p.id, []),
            "created_at": _iso(p.created_at),
            "decided_at": _iso(p.decided_at),
        }
        for p, c in proposals
    ]
    votes = session.execute(
        select(Vote, Proposal.content, Consultation)
        .join(Proposal, Proposal.id == Vote.proposal_id)
        .join(Consultation, Consultation.id == Vote.consultation_id)
        .where(Vote.participant_id == participant.id)
        .order_by(Vote.created_at, Vote.id)
    ).all()
    data["votes"] = [
        {
            "proposal_id": v.proposal_id,
            "proposal": content,
            "consultation": _consultation(c),
            "key": v.key,
            "qualifications": list(qualification_names(v.qualifications)),
            "territory": v.territory,
            "age_band": v.age_band,
            "created_at": _iso(v.created_at),
            "updated_at": _iso(v.updated_at),
        }
        for v, content, c in votes
    ]
    return data
