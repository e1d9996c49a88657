"""Consultations: create, edit, read, who may see them, and their live progress."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from pnyx.identity.models import Participant
from pnyx.identity.service import Principal
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Conflict, Invalid, NotFound
from pnyx.kernel.i18n import N_
from pnyx.kernel.store import Store

from .models import Consultation, Proposal, ProposalCounter, Tag, Visibility, Vote

STEP_KINDS = ("consultation", "results", "workshops", "action_plan")
LANGUAGES = ("fr", "en")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
FIELDS = (
    "slug",
    "question",
    "proposal_prefix",
    "context",
    "language",
    "starts_at",
    "ends_at",
    "visibility",
    "goal_participants",
    "goal_proposals",
    "goal_votes",
    "steps",
)


@dataclass(frozen=True)
class Progress:
    participants: int
    proposals: int
    votes: int

    def share(self, done: int, goal: int) -> float:
        return min(1.0, done / goal) if goal else 0.0


def _aware(value: object, field: str, errors: dict) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            errors[field] = [N_("A date and time such as 2026-12-01T09:00:00+01:00.")]
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    errors[field] = [N_("Required.")]
    return None


def _validate_steps(steps: object, errors: dict) -> list[dict]:
    if steps in (None, ""):
        return []
    if not isinstance(steps, list) or len(steps) > 10:
        errors["steps"] = [N_("A list of at most 10 steps.")]
        return []
    clean = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or step.get("kind") not in STEP_KINDS:
            errors["steps"] = [
                N_(
                    "Step %(n)s: kind is one of %(choices)s.",
                    n=i + 1,
                    choices=", ".join(STEP_KINDS),
                )
            ]
            return []
        title = str(step.get("title") or "").strip()[:120]
        when = step.get("date")
        try:
            when = date.fromisoformat(str(when)).isoformat() if when else None
        except ValueError:
            errors["steps"] = [N_("Step %(n)s: a date such as 2027-01-31.", n=i + 1)]
            return []
        clean.append({"kind": step["kind"], "title": title, "date": when})
    return clean


def validate(data: dict, *, partial: bool = False, current: Consultation | None = None) -> dict:
    """Checked consultation fields; raises Invalid with a message per field."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise Invalid(
            N_("Unknown fields."),
            code="unknown_field",
            errors={f: [N_("Unknown field.")] for f in unknown},
        )
    errors: dict[str, list[str]] = {}
    clean: dict = {}

    def has(field: str) -> bool:
        return field in data or not partial

    if has("slug"):
        slug = str(data.get("slug") or "").strip().lower()
        if not SLUG.match(slug):
            errors["slug"] = [N_("Lower-case letters, digits and hyphens (1 to 80).")]
        clean["slug"] = slug
    if has("question"):
        question = str(data.get("question") or "").strip()
        if not 10 <= len(question) <= 300:
            errors["question"] = [N_("A question of 10 to 300 characters.")]
        clean["question"] = question
    if "proposal_prefix" in data or not partial:
        prefix = str(data.get("proposal_prefix") or "Il faut").strip()
        if not 2 <= len(prefix) <= 40 or "<" in prefix:
            errors["proposal_prefix"] = [N_("A prefix of 2 to 40 characters, such as 'Il faut'.")]
        clean["proposal_prefix"] = prefix
    if "context" in data or not partial:
        context = str(data.get("context") or "")
        if len(context) > 5000:
            errors["context"] = [N_("At most %(n)s characters.", n="5,000")]
        clean["context"] = context
    if "language" in data or not partial:
        language = data.get("language") or "fr"
        if language not in LANGUAGES:
            errors["language"] = [N_("One of %(choices)s.", choices=", ".join(LANGUAGES))]
        clean["language"] = language
    if "visibility" in data or not partial:
        visibility = data.get("visibility") or "public"
        if visibility not in Visibility.__members__:
            errors["visibility"] = [N_("public or restricted.")]
        clean["visibility"] = visibility
    for goal in ("goal_participants", "goal_proposals", "goal_votes"):
        if goal in data or not partial:
            value = data.get(goal) or 0
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10**9:
                errors[goal] = [N_("A whole number from 0.")]
            clean[goal] = value
    for field in ("starts_at", "ends_at"):
        if has(field):
            clean[field] = _aware(data.get(field), field, errors)
    starts = clean.get("starts_at") or (current.starts_at if current else None)
    ends = clean.get("ends_at") or (current.ends_at if current else None)
    if starts and ends and ends <= starts and "ends_at" not in errors:
        errors["ends_at"] = [N_("The end comes after the start.")]
    if "steps" in data or not partial:
        clean["steps"] = _validate_steps(data.get("steps"), errors)
    if errors:
        raise Invalid(N_("Some fields are invalid."), errors=errors)
    return clean


def create_consultation(session: TenantSession, data: dict) -> Consultation:
    clean = validate(data)
    _check_slug_free(session, clean["slug"])
    consultation = Consultation(**clean)
    session.add(consultation)
    session.flush()
    return consultation


def update_consultation(session: TenantSession, consultation_id: int, data: dict) -> Consultation:
    consultation = get_consultation(session, consultation_id)
    clean = validate(data, partial=True, current=consultation)
    if "slug" in clean and clean["slug"] != consultation.slug:
        _check_slug_free(session, clean["slug"])
    for field, value in clean.items():
        setattr(consultation, field, value)
    session.flush()
    return consultation


def _check_slug_free(session: TenantSession, slug: str) -> None:
    if session.scalar(select(Consultation.id).where(Consultation.slug == slug)):
        raise Conflict(
            N_("This slug is taken."), code="slug_taken", errors={"slug": [N_("Taken.")]}
        )


def get_consultation(session: TenantSession, consultation_id: int) -> Consultation:
    consultation = session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    return consultation


def by_slug(session: TenantSession, slug: str) -> Consultation:
    consultation = session.scalar(select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    return consultation


def can_see(consultation: Consultation, principal: Principal | None) -> bool:
    """Restricted consultations admit only the tenant's signed-in members."""
    if consultation.visibility == Visibility.public:
        return True
    return principal is not None and principal.tenant_id == consultation.tenant_id


def visible_consultation(
    session: TenantSession, consultation_id: int, principal: Principal | None
) -> Consultation:
    """The consultation if this caller may see it; otherwise it does not exist for them."""
    consultation = get_consultation(session, consultation_id)
    if not can_see(consultation, principal):
        raise NotFound(N_("No such consultation."), code="consultation_not_found")
    return consultation


def list_consultations(session: TenantSession, principal: Principal | None) -> list[Consultation]:
    rows = session.scalars(select(Consultation).order_by(Consultation.starts_at.desc()))
    return [c for c in rows if can_see(c, principal)]


def count_members_only(session: TenantSession) -> int:
    """How many of the tenant's consultations are for its signed-in members (to tell visitors
    there is something behind the login, never what)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Consultation)
            .where(Consultation.visibility == Visibility.restricted)
        )
        or 0
    )


# Participants are distinct voters and authors: a count over every vote, a third of a second at
# 1,000,000 votes. Under this many votes it is counted at every read; past it, one count is
# shared by every process for PARTICIPANTS_FRESH_FOR seconds, then one reader counts again while
# the others show the last count.
EXACT_PARTICIPANTS_UNDER = 20_000
PARTICIPANTS_FRESH_FOR = 60.0


def progress(
    session: TenantSession,
    consultation: Consultation,
    store: Store | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Progress:
    """Participants (distinct voters or authors), proposals (all submitted), votes (raw).

    With a ``store``, a large consultation's participants come from the shared count (at most
    PARTICIPANTS_FRESH_FOR seconds old); without one, they are counted."""
    proposals = session.scalar(
        select(func.count())
        .select_from(Proposal)
        .where(Proposal.consultation_id == consultation.id)
    )
    raw_votes = sum(
        getattr(ProposalCounter, f"raw_{key}") for key in ("agree", "disagree", "neutral")
    )
    votes = int(
        session.scalar(
            select(func.coalesce(func.sum(raw_votes), 0)).where(
                ProposalCounter.consultation_id == consultation.id,
                ProposalCounter.segment == "all",
            )
        )
        or 0
    )
    if store is None or votes < EXACT_PARTICIPANTS_UNDER:
        participants = count_participants(session, consultation.id)
    else:
        participants = _shared_participants(session, store, consultation, clock)
    return Progress(participants, int(proposals or 0), votes)


def count_participants(session: TenantSession, consultation_id: int) -> int:
    voters = select(Vote.participant_id).where(Vote.consultation_id == consultation_id)
    authors = select(Proposal.author_id).where(
        Proposal.consultation_id == consultation_id, Proposal.author_id.is_not(None)
    )
    return int(
        session.scalar(select(func.count()).select_from(voters.union(authors).subquery())) or 0
    )


def _shared_participants(
    session: TenantSession, store: Store, consultation: Consultation, clock: Callable[[], float]
) -> int:
    key = f"progress:participants:{consultation.tenant_id}:{consultation.id}"
    cached = store.get(key)
    if cached is not None:
        count, _, counted_at = cached.partition(":")
        if clock() - float(counted_at) < PARTICIPANTS_FRESH_FOR:
            return int(count)
        # Stale: one reader counts again (the others show this count meanwhile).
        if not store.set(key + ":counting", "1", ttl=PARTICIPANTS_FRESH_FOR, only_new=True):
            return int(count)
    count = count_participants(session, consultation.id)
    store.set(key, f"{count}:{clock()}", ttl=24 * 3600.0)
    return count


def add_tag(session: TenantSession, consultation_id: int, slug: str, label: str) -> Tag:
    get_consultation(session, consultation_id)
    slug = (slug or "").strip().lower()
    label = (label or "").strip()
    errors = {}
    if not SLUG.match(slug) or len(slug) > 60:
        errors["slug"] = [N_("Lower-case letters, digits and hyphens.")]
    if not 1 <= len(label) <= 100:
        errors["label"] = [N_("1 to 100 characters.")]
    if errors:
        raise Invalid(N_("Some fields are invalid."), errors=errors)
    if session.scalar(
        select(Tag.id).where(Tag.consultation_id == consultation_id, Tag.slug == slug)
    ):
        raise Conflict(N_("This tag exists."), code="tag_exists", errors={"slug": [N_("Taken.")]})
    tag = Tag(consultation_id=consultation_id, slug=slug, label=label)
    session.add(tag)
    session.flush()
    return tag


def tags_of(session: TenantSession, consultation_id: int) -> list[Tag]:
    return list(
        session.scalars(
            select(Tag).where(Tag.consultation_id == consultation_id).order_by(Tag.label)
        )
    )


def participant_count(session: TenantSession) -> int:
    return int(session.scalar(select(func.count()).select_from(Participant)) or 0)
