"""The sequence service: pools of candidates per consultation, kept fresh, and the cards served.

Pools live in each process's memory, built once from the database, and follow a change log kept
in the shared store (Redis; this process's memory on the embedded default): every committed vote
or moderation decision appends its proposal id (through the consultations signals). A sequence
request reads the log's length — one round trip — and reloads only the proposals changed since
its copy; a newly accepted proposal enters sequences at the next request, in any process. When
the log grows long, it starts a new epoch and every process rebuilds its pool once.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from pnyx.consultations import cards
from pnyx.consultations.models import (
    Consultation,
    Proposal,
    ProposalCounter,
    ProposalStatus,
    ProposalTag,
    Tag,
    Vote,
)
from pnyx.consultations.signals import proposal_changed, vote_changed
from pnyx.identity.models import Participant
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid
from pnyx.kernel.runtime import kernel
from pnyx.kernel.signing import Signer
from pnyx.kernel.store import Store

from .strategies import DEFAULT_STRATEGY, STRATEGIES, Candidate, RotationSettings, Tally

TERRITORY_SEGMENTS = ("rural", "medium", "urban")
MAX_SEQUENCE = 30
DEFAULT_SEQUENCE = 12
SEQUENCE_PLACE = "seq:"  # card keys served in a sequence carry a place starting so
LOG_EPOCH_LENGTH = 50_000  # changes before the log starts over (and pools rebuild)


@dataclass(frozen=True)
class RotationConfig:
    strategy: str = DEFAULT_STRATEGY
    sequence_size: int = DEFAULT_SEQUENCE
    settings: RotationSettings = field(default_factory=RotationSettings)


def config_of(consultation: Consultation) -> RotationConfig:
    """A consultation's rotation settings (``settings["rotation"]``), with the defaults."""
    raw = (consultation.settings or {}).get("rotation") or {}
    return RotationConfig(
        strategy=raw.get("strategy", DEFAULT_STRATEGY),
        sequence_size=int(raw.get("sequence_size", DEFAULT_SEQUENCE)),
        settings=RotationSettings(
            vote_floor=int(raw.get("vote_floor", 10)), vote_cap=int(raw.get("vote_cap", 1500))
        ),
    )


def validate_settings(raw: object) -> dict:
    """Checked ``rotation`` settings for a consultation; raises Invalid per field."""
    if not isinstance(raw, dict):
        raise Invalid(
            "Rotation settings are an object.",
            code="invalid_rotation",
            errors={"rotation": ["An object."]},
        )
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    unknown = set(raw) - {"strategy", "sequence_size", "vote_floor", "vote_cap"}
    for name in unknown:
        errors[name] = ["Unknown field."]
    if "strategy" in raw:
        if raw["strategy"] not in STRATEGIES:
            errors["strategy"] = [f"One of {', '.join(STRATEGIES)}."]
        clean["strategy"] = raw["strategy"]
    for name, low, high in (
        ("sequence_size", 4, MAX_SEQUENCE),
        ("vote_floor", 1, 1000),
        ("vote_cap", 10, 100_000),
    ):
        if name in raw:
            value = raw[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors[name] = [f"A whole number from {low} to {high}."]
            clean[name] = value
    if errors:
        raise Invalid("Invalid rotation settings.", code="invalid_rotation", errors=errors)
    return clean


# --------------------------------------------------------------------------- pools


def _log_key(tenant_id: int, consultation_id: int) -> str:
    return f"rotation:{tenant_id}:{consultation_id}:log"


def _epoch_key(tenant_id: int, consultation_id: int) -> str:
    return f"rotation:{tenant_id}:{consultation_id}:epoch"


def load_candidates(
    session: TenantSession, consultation_id: int, proposal_ids: Iterable[int] | None = None
) -> dict[int, Candidate | None]:
    """Candidates built from the database (all accepted ones, or the given ids: None = gone)."""
    query = select(Proposal.id, Proposal.author_id, Proposal.status, Proposal.created_at).where(
        Proposal.consultation_id == consultation_id
    )
    wanted = None
    if proposal_ids is not None:
        wanted = sorted(set(proposal_ids))
        if not wanted:
            return {}
        query = query.where(Proposal.id.in_(wanted))
    else:
        query = query.where(Proposal.status == ProposalStatus.accepted)
    rows = session.execute(query).all()
    ids = [r.id for r in rows if r.status == ProposalStatus.accepted]
    tallies: dict[int, dict[str, Tally]] = {i: {} for i in ids}
    totals: dict[int, int] = dict.fromkeys(ids, 0)
    tags: dict[int, set[str]] = {i: set() for i in ids}
    if ids:
        segments = ["all", *(f"territory:{s}" for s in TERRITORY_SEGMENTS)]
        counter_rows = session.execute(
            select(
                ProposalCounter.proposal_id,
                ProposalCounter.segment,
                ProposalCounter.trusted_agree,
                ProposalCounter.trusted_disagree,
                ProposalCounter.trusted_neutral,
                ProposalCounter.raw_agree
                + ProposalCounter.raw_disagree
                + ProposalCounter.raw_neutral,
            ).where(
                ProposalCounter.consultation_id == consultation_id,
                ProposalCounter.segment.in_(segments),
                *([ProposalCounter.proposal_id.in_(ids)] if wanted is not None else []),
            )
        )
        for pid, segment, agree, disagree, neutral, raw_total in counter_rows:
            if pid not in tallies:
                continue
            tallies[pid][segment.removeprefix("territory:")] = Tally(agree, disagree, neutral)
            if segment == "all":
                totals[pid] = raw_total
        tag_rows = session.execute(
            select(ProposalTag.proposal_id, Tag.slug)
            .join(Tag, Tag.id == ProposalTag.tag_id)
            .where(Tag.consultation_id == consultation_id)
            .where(*([ProposalTag.proposal_id.in_(ids)] if wanted is not None else []))
        )
        for pid, slug in tag_rows:
            if pid in tags:
                tags[pid].add(slug)
    found: dict[int, Candidate | None] = dict.fromkeys(wanted or [], None)
    for r in rows:
        if r.status != ProposalStatus.accepted:
            continue
        segment_tallies = tallies[r.id]
        found[r.id] = Candidate(
            proposal_id=r.id,
            author_id=r.author_id or -r.id,
            tags=frozenset(tags[r.id]),
            created_order=r.id,
            tally=segment_tallies.pop("all", Tally()),
            segment_tallies=segment_tallies,
            total_votes=totals[r.id],
        )
    return found


@dataclass
class _Pool:
    epoch: str | None
    position: int
    candidates: dict[int, Candidate]
    lock: threading.Lock = field(default_factory=threading.Lock)


class Pools:
    """This process's pools, following the shared change log."""

    def __init__(self) -> None:
        self._pools: dict[tuple[int, int], _Pool] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._pools.clear()

    def candidates(
        self, session: TenantSession, store: Store, consultation: Consultation
    ) -> list[Candidate]:
        key = (consultation.tenant_id, consultation.id)
        log = _log_key(*key)
        epoch = store.get(_epoch_key(*key))
        position = store.llen(log)
        pool = self._pools.get(key)
        if pool is None or pool.epoch != epoch or pool.position > position:
            pool = _Pool(epoch, position, {})
            pool.candidates = {
                pid: c
                for pid, c in load_candidates(session, consultation.id).items()
                if c is not None
            }
            with self._lock:
                self._pools[key] = pool
        elif pool.position < position:
            with pool.lock:
                if pool.position < position:
                    changed = {int(p) for p in store.lrange(log, pool.position, position - 1)}
                    for pid, candidate in load_candidates(
                        session, consultation.id, changed
                    ).items():
                        if candidate is None:
                            pool.candidates.pop(pid, None)
                        else:
                            pool.candidates[pid] = candidate
                    pool.position = position
        return list(pool.candidates.values())


POOLS = Pools()


def note_change(store: Store, tenant_id: int, consultation_id: int, proposal_id: int) -> None:
    """Append a changed proposal to the consultation's log (after its transaction committed)."""
    log = _log_key(tenant_id, consultation_id)
    if store.rpush(log, str(proposal_id)) > LOG_EPOCH_LENGTH:
        store.set(_epoch_key(tenant_id, consultation_id), secrets.token_hex(8))
        store.delete(log)


def _on_change(consultation_id: int, *, tenant_id: int, proposal_id: int, **_kwargs) -> None:
    note_change(kernel().store, tenant_id, consultation_id, proposal_id)


vote_changed.connect(_on_change, weak=False)
proposal_changed.connect(_on_change, weak=False)


# --------------------------------------------------------------------------- sequences


@dataclass(frozen=True)
class Card:
    proposal: Proposal
    card_key: str
    position: int


def voted_ids(session: TenantSession, consultation_id: int, voter: Participant) -> set[int]:
    return set(
        session.scalars(
            select(Vote.proposal_id).where(
                Vote.participant_id == voter.id, Vote.consultation_id == consultation_id
            )
        )
    )


def sequence(
    session: TenantSession,
    store: Store,
    signer: Signer,
    consultation: Consultation,
    voter: Participant,
    *,
    now: datetime,
    size: int | None = None,
    rng: random.Random | None = None,
) -> list[Card]:
    """The next cards for this voter: never one they voted on, each with its signed card key."""
    config = config_of(consultation)
    size = config.sequence_size if size is None else size
    if not 1 <= size <= MAX_SEQUENCE:
        raise Invalid(
            f"A sequence has 1 to {MAX_SEQUENCE} cards.",
            code="sequence_too_long",
            errors={"size": ["Out of range."]},
        )
    if consultation.status_at(now) != "open":
        return []
    candidates = POOLS.candidates(session, store, consultation)
    voted = voted_ids(session, consultation.id, voter)
    segment = voter.territory if voter.territory in TERRITORY_SEGMENTS else None
    strategy = STRATEGIES.get(config.strategy, STRATEGIES[DEFAULT_STRATEGY])
    chosen = strategy(candidates, segment, voted, size, config.settings, rng or random.Random())
    if not chosen:
        return []
    proposals = {
        p.id: p
        for p in session.scalars(
            select(Proposal).where(
                Proposal.id.in_(chosen), Proposal.status == ProposalStatus.accepted
            )
        )
    }
    place = f"{SEQUENCE_PLACE}{secrets.token_hex(6)}"
    served = [pid for pid in chosen if pid in proposals]
    return [
        Card(
            proposals[pid],
            cards.issue(
                signer,
                tenant_id=consultation.tenant_id,
                proposal_id=pid,
                participant_id=voter.id,
                place=place,
            ),
            i + 1,
        )
        for i, pid in enumerate(served)
    ]


def check_card(
    store: Store,
    signer: Signer,
    key: str | None,
    *,
    tenant_id: int,
    proposal_id: int,
    voter_id: int,
    already_trusted: bool,
) -> cards.CardCheck:
    """Verify a card key: only keys served in a sequence make a vote count for scores.

    A key served elsewhere (a proposal's own page) counts raw ("not_in_sequence"); a key already
    spent on a vote that is gone counts raw ("replayed").
    """
    check = cards.verify(
        signer, key, tenant_id=tenant_id, proposal_id=proposal_id, participant_id=voter_id
    )
    if not check.trusted:
        return check
    if not (check.place or "").startswith(SEQUENCE_PLACE):
        return cards.CardCheck(False, "not_in_sequence", check.place)
    first_use = store.set(f"card:{cards.fingerprint(key)}", "1", ttl=cards.MAX_AGE, only_new=True)
    if not first_use and not already_trusted:
        return cards.CardCheck(False, "replayed", check.place)
    return check
