"""Test data through the real services (no raw inserts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from pnyx.consultations import proposals, service
from pnyx.identity.models import Account
from pnyx.identity.participants import participant_of_account
from pnyx.identity.service import create_account

NOW = datetime.now(UTC)


def create_consultation(session, **overrides):
    """The demo question, its goals and steps, in an open session of one tenant."""
    data = {
        "slug": "territoire",
        "question": "Comment améliorer les conditions de vie dans votre territoire ?",
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=60),
        "goal_participants": 300_000,
        "goal_proposals": 10_000,
        "goal_votes": 1_000_000,
        "steps": [
            {"kind": "consultation", "title": "Consultation", "date": "2026-11-01"},
            {"kind": "results", "title": "Résultats", "date": "2027-01-15"},
        ],
    }
    data.update(overrides)
    return service.create_consultation(session, data)


def consultation(database, tenant_id: int, **overrides):
    with database.scope(tenant_id=tenant_id) as s:
        c = create_consultation(s, **overrides)
    return c


def proposal(
    database,
    tenant_id: int,
    consultation_id: int,
    text: str,
    *,
    author: str,
    status: str = "accepted",
    tags=(),
):
    with database.scope(tenant_id=tenant_id) as s:
        account_id = s.scalar(select(Account.id).where(Account.email == author))
        if account_id is None:
            account_id = create_account(s, email=author, password=None).id
        c = service.get_consultation(s, consultation_id)
        p = proposals.submit(
            s, c, participant_of_account(s, account_id), text, NOW, rate_limit=False
        )
        if status != "pending":
            decision = {"accepted": "accept", "refused": "refuse", "postponed": "postpone"}[status]
            proposals.decide(
                s,
                p.id,
                decision,
                by="test",
                now=NOW,
                reason="off_topic" if status == "refused" else None,
                tag_ids=list(tags),
            )
    return p
