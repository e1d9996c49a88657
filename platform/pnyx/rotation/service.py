"""The sequence service: pools of candidates per consultation, kept fresh, and the cards served.

Pools live in each process's memory, built once from the database, and follow a change log kept
in the shared store (Redis; this process's memory on the embedded default): every committed vote
or moderation decision appends its proposal id (through the consultations signals). A sequence
request reads the log's length — one round trip — and reloads only the proposals changed since
its copy; a newly accepted proposal enters sequences at the next request, in any process. The
log keeps its last ``LOG_KEEP`` entries: only a process idle for that many changes rebuilds its
pool (as does every process when the log is lost with the store: a new epoch).

With the strategies that read ranked lists (kg, the default, and apt), each pool also keeps its
candidates in the strategy's order, per voter segment and settings (``_Ranking``), updated with
the pool: a sequence then hands the strategy only the heads of the rankings it can possibly read,
instead of every candidate.
"""

from __future__ import annotations

import dataclasses
import random
import secrets
import threading
import time
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    Integer,
    String,
    TextClause,
    bindparam,
    column,
    select,
    text,
)

from pnyx.consultations import cards
from pnyx.consultations.models import (
    COUNTED_KEYS,
    Consultation,
    ConsultationHead,
    ProposalStatus,
    Vote,
    column_name,
)
from pnyx.consultations.signals import proposal_changed, vote_changed
from pnyx.identity.models import Participant
from pnyx.identity.participants import VoterHead
from pnyx.kernel.db import Database, TenantSession, UTCDateTime
from pnyx.kernel.errors import Invalid
from pnyx.kernel.i18n import N_
from pnyx.kernel.runtime import kernel
from pnyx.kernel.signing import Signer
from pnyx.kernel.store import Store
from tenants.models import Tenant, TenantStatus

from .strategies import (
    DEFAULT_STRATEGY,
    IN_ROTATION,
    LOOKAHEAD,
    STRATEGIES,
    UNDER_FLOOR,
    Candidate,
    RotationSettings,
    Tally,
    apt_priority,
    choose_apt,
    choose_kg,
    kg_priority,
    standing,
)

TERRITORY_SEGMENTS = ("rural", "medium", "urban")
MAX_SEQUENCE = 30
DEFAULT_SEQUENCE = 12
SEQUENCE_PLACE = "seq:"  # card keys served in a sequence carry a place starting so
# Entries a consultation's change log keeps: a process that falls further behind (idle that
# long) rebuilds its pool; the others only ever read what is new.
LOG_KEEP = 50_000
# A pool reads the change log at most this often (seconds): under load most requests are then
# served from memory. Votes change tallies only; a decision committed in this process expires
# the pool at once, one committed elsewhere reaches it within this delay — and a card is served
# only if its proposal is still accepted when the cards are read.
FOLLOW_EVERY = 0.25


@dataclass(frozen=True)
class RotationConfig:
    strategy: str = DEFAULT_STRATEGY
    sequence_size: int = DEFAULT_SEQUENCE
    settings: RotationSettings = field(default_factory=RotationSettings)


def config_of(consultation: Consultation) -> RotationConfig:
    """A consultation's rotation settings (``settings["rotation"]``), with the defaults.

    Rotation settles a proposal only once its zone is certain overall and in every territory
    segment, and weighs the segments by their census shares (France, by size of commune: about
    55 % of the population in communes under 20,000 inhabitants, 27 % in towns of
    20,000–100,000, 18 % in cities over 100,000; as in ``pnyx.rotation.simulation``): kg
    post-stratifies its overall estimate on them (``pnyx.results.scores.poststratify``; the raw
    tally when some votes have no known territory), apt weighs a voter's segment by them.
    No budget or horizon is needed: kg's index depends only on each proposal's votes.
    """
    raw = (consultation.settings or {}).get("rotation") or {}
    return RotationConfig(
        strategy=raw.get("strategy", DEFAULT_STRATEGY),
        sequence_size=int(raw.get("sequence_size", DEFAULT_SEQUENCE)),
        settings=RotationSettings(
            vote_floor=int(raw.get("vote_floor", 10)),
            vote_cap=int(raw.get("vote_cap", 1500)),
            segments=TERRITORY_SEGMENTS,
            segment_shares={"rural": 0.55, "medium": 0.27, "urban": 0.18},
        ),
    )


def validate_settings(raw: object) -> dict:
    """Checked ``rotation`` settings for a consultation; raises Invalid per field."""
    if not isinstance(raw, dict):
        raise Invalid(
            N_("Rotation settings are an object."),
            code="invalid_rotation",
            errors={"rotation": [N_("An object.")]},
        )
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    unknown = set(raw) - {"strategy", "sequence_size", "vote_floor", "vote_cap"}
    for name in unknown:
        errors[name] = [N_("Unknown field.")]
    if "strategy" in raw:
        # Not text (a list, an object): no strategy's name, and no key of STRATEGIES either.
        if not isinstance(raw["strategy"], str) or raw["strategy"] not in STRATEGIES:
            errors["strategy"] = [N_("One of %(choices)s.", choices=", ".join(STRATEGIES))]
        clean["strategy"] = raw["strategy"]
    for name, low, high in (
        ("sequence_size", 4, MAX_SEQUENCE),
        ("vote_floor", 1, 1000),
        ("vote_cap", 10, 100_000),
    ):
        if name in raw:
            value = raw[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors[name] = [N_("A whole number from %(low)s to %(high)s.", low=low, high=high)]
            clean[name] = value
    if errors:
        raise Invalid(N_("Invalid rotation settings."), code="invalid_rotation", errors=errors)
    return clean


# --------------------------------------------------------------------------- pools


def _log_key(tenant_id: int, consultation_id: int) -> str:
    return f"rotation:{tenant_id}:{consultation_id}:log"


def _listing(sql: str, *lists: str, types: tuple | None = None) -> dict[str, TextClause]:
    """A statement with list parameters (``{name}`` in ``sql``), per dialect: ``= ANY(:name)``
    with an array on PostgreSQL — one text whatever the lists' lengths, so each connection
    prepares and plans it once — and an expanding ``IN`` elsewhere."""
    on_postgres = text(sql.format(**{name: f"= ANY(:{name})" for name in lists}))
    elsewhere = text(sql.format(**{name: f"IN :{name}" for name in lists})).bindparams(
        *(bindparam(name, expanding=True) for name in lists)
    )
    if types is not None:
        columns = [column(f"c{i}", type_) for i, type_ in enumerate(types)]
        on_postgres, elsewhere = on_postgres.columns(*columns), elsewhere.columns(*columns)
    return {"postgresql": on_postgres, "other": elsewhere}


def _for(session: TenantSession, statements: dict[str, TextClause]) -> TextClause:
    return statements.get(session.get_bind().dialect.name, statements["other"])


_CANDIDATE_COLUMNS = (
    """
SELECT p.id, p.author_id, p.status, c.segment, c.trusted_agree, c.trusted_disagree,
       c.trusted_neutral, c.raw_agree + c.raw_disagree + c.raw_neutral, t.slug
FROM proposals p
LEFT JOIN proposal_counters c
  ON c.proposal_id = p.id AND c.tenant_id = p.tenant_id AND c.segment IN ("""
    + ", ".join(f"'{s}'" for s in ("all", *(f"territory:{t}" for t in TERRITORY_SEGMENTS)))
    + """)
LEFT JOIN proposal_tags pt ON pt.proposal_id = p.id AND pt.tenant_id = p.tenant_id
LEFT JOIN tags t
  ON t.id = pt.tag_id AND t.tenant_id = p.tenant_id AND t.consultation_id = :consultation_id
WHERE p.tenant_id {tenants} AND p.consultation_id = :consultation_id AND """
)
_ALL_CANDIDATES = _listing(_CANDIDATE_COLUMNS + "p.status = :accepted", "tenants")
_SOME_CANDIDATES = _listing(_CANDIDATE_COLUMNS + "p.id {ids}", "tenants", "ids")


def load_candidates(
    session: TenantSession, consultation_id: int, proposal_ids: Iterable[int] | None = None
) -> dict[int, Candidate | None]:
    """Candidates built from the database (all accepted ones, or the given ids: None = gone).

    One query (one round trip, also when a pool follows its log): each proposal with its counter
    rows of the segments rotation reads and its tags, a row per (counter row, tag). Plain SQL,
    as on the vote path: a pool follows its log at nearly every request under load, and the
    ORM's statement handling costs several times the query. Its tenants are explicit (the
    session's), and row-level security checks them again.
    """
    params = {"tenants": list(session.visible_tenants), "consultation_id": consultation_id}
    wanted = None
    if proposal_ids is not None:
        wanted = sorted(set(proposal_ids))
        if not wanted:
            return {}
        statement, params["ids"] = _for(session, _SOME_CANDIDATES), wanted
    else:
        statement = _for(session, _ALL_CANDIDATES)
        params["accepted"] = ProposalStatus.accepted.value
    if not params["tenants"]:  # a session bound to no tenant sees no proposal
        return dict.fromkeys(wanted or [], None)
    rows = session.connection().execute(statement, params)
    authors: dict[int, int] = {}
    tallies: dict[int, dict[str, Tally]] = {}
    totals: dict[int, int] = {}
    tags: dict[int, set[str]] = {}
    for (
        pid,
        author_id,
        status,
        segment,
        agree,
        disagree,
        neutral,
        raw_total,
        slug,
    ) in rows:
        if status != ProposalStatus.accepted:
            continue
        if pid not in authors:
            authors[pid] = author_id or -pid
            tallies[pid], totals[pid], tags[pid] = {}, 0, set()
        if segment is not None:
            tallies[pid][segment.removeprefix("territory:")] = Tally(agree, disagree, neutral)
            if segment == "all":
                totals[pid] = raw_total
        if slug is not None:
            tags[pid].add(slug)
    found: dict[int, Candidate | None] = dict.fromkeys(wanted or [], None)
    for pid, author_id in authors.items():
        segment_tallies = tallies[pid]
        found[pid] = Candidate(
            proposal_id=pid,
            author_id=author_id,
            tags=frozenset(tags[pid]),
            created_order=pid,
            tally=segment_tallies.pop("all", Tally()),
            segment_tallies=segment_tallies,
            total_votes=totals[pid],
        )
    return found


# The strategies that pick from two rankings (``strategies._floor_then_ranked``): those under the
# floor by (votes, age), then those in rotation by a rank key, lowest first, ties at random. Each
# with its rank key for a voter's segment and the settings, as the strategy computes it.
RANKED_STRATEGIES = {
    choose_kg: lambda segment, settings: lambda c: -kg_priority(c, segment, settings),
    choose_apt: lambda segment, settings: lambda c: apt_priority(c, segment, settings),
}


def _settings_key(strategy, segment: str | None, settings: RotationSettings) -> tuple:
    """What a ranking depends on: the strategy, the voter's segment and every setting."""
    values = []
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        values.append(tuple(sorted(value.items())) if isinstance(value, Mapping) else value)
    return (strategy, segment, *values)


class _Ranking:
    """A pool's candidates in the order a ranked strategy reads them, for one voter segment and
    settings.

    Two sorted lists, as in ``strategies._floor_then_ranked``: those under the floor by (votes,
    age), and those in rotation by the strategy's rank key (ties: proposal id, shuffled away when
    served); those out of rotation are left out. Updated as the pool's candidates change (under
    the pool's lock).
    """

    def __init__(self, rank_key, settings: RotationSettings, candidates) -> None:
        self.rank_key = rank_key
        self.settings = settings
        self.keys: dict[int, tuple[int, tuple]] = {}
        self.under: list[tuple] = []
        self.rotation: list[tuple] = []
        for candidate in candidates:
            entry = self._entry(candidate)
            if entry is not None:
                self.keys[candidate.proposal_id] = entry
                self._list(entry[0]).append(entry[1])
        self.under.sort()
        self.rotation.sort()

    def _list(self, kind: int) -> list[tuple]:
        return self.under if kind == UNDER_FLOOR else self.rotation

    def _entry(self, candidate: Candidate) -> tuple[int, tuple] | None:
        kind = standing(candidate, self.settings)
        if kind == UNDER_FLOOR:
            return kind, (
                float(candidate.tally.votes),
                candidate.created_order,
                candidate.proposal_id,
            )
        if kind == IN_ROTATION:
            return kind, (self.rank_key(candidate), candidate.proposal_id)
        return None

    def update(self, proposal_id: int, candidate: Candidate | None) -> None:
        old = self.keys.pop(proposal_id, None)
        if old is not None:
            ranked = self._list(old[0])
            index = bisect_left(ranked, old[1])
            if index < len(ranked) and ranked[index] == old[1]:
                del ranked[index]
            else:  # cannot happen (keys are kept with their entries); stay correct anyway
                ranked.remove(old[1])
        if candidate is not None:
            entry = self._entry(candidate)
            if entry is not None:
                self.keys[proposal_id] = entry
                insort(self._list(entry[0]), entry[1])

    def heads(
        self, candidates: Mapping[int, Candidate], voted: AbstractSet[int], reach: int
    ) -> list[Candidate]:
        """The first ``reach`` candidates of each ranking the voter did not vote on; the ranking
        in rotation goes on to the end of the last group of equal keys (the strategy breaks ties
        at random: it must see the whole group)."""
        head: list[Candidate] = []
        for ranked, ties in ((self.under, False), (self.rotation, True)):
            taken, last = 0, None
            for key in ranked:
                proposal_id = key[-1]
                if proposal_id in voted:
                    continue
                if taken >= reach and (not ties or key[0] != last):
                    break
                head.append(candidates[proposal_id])
                taken, last = taken + 1, key[0]
        return head


MAX_RANKINGS = 32  # per pool: voter segments × settings in use


@dataclass
class _Pool:
    epoch: str | None
    position: int
    candidates: dict[int, Candidate]
    followed_at: float = 0.0  # time.monotonic() of its last reading of the change log
    lock: threading.Lock = field(default_factory=threading.Lock)
    rankings: dict[tuple, _Ranking] = field(default_factory=dict)
    authors: Counter = field(default_factory=Counter)
    _most_by_author: int | None = None

    def __post_init__(self) -> None:
        self.authors.update(c.author_id for c in self.candidates.values())

    def apply(self, changed: Mapping[int, Candidate | None]) -> None:
        """Take in reloaded candidates (None: gone); the caller holds ``lock``."""
        for proposal_id, candidate in changed.items():
            old = self.candidates.pop(proposal_id, None)
            if old is not None:
                self.authors[old.author_id] -= 1
            if candidate is not None:
                self.candidates[proposal_id] = candidate
                self.authors[candidate.author_id] += 1
            for ranking in self.rankings.values():
                ranking.update(proposal_id, candidate)
        self._most_by_author = None

    def most_by_author(self) -> int:
        """The most candidates one author has in this pool; the caller holds ``lock``."""
        if self._most_by_author is None:
            self._most_by_author = max(self.authors.values(), default=0)
        return self._most_by_author

    def heads(
        self,
        strategy,
        segment: str | None,
        settings: RotationSettings,
        voted: AbstractSet[int],
        size: int,
        rng: random.Random,
    ) -> list[Candidate]:
        """The only candidates a ranked strategy can pick for this voter, in random order.

        It reads its two rankings in order, one card per author: from each it reads at most
        ``LOOKAHEAD × size`` candidates it examines, ``size`` more when completing the sequence,
        and those it skips because their author already has a card (at most ``size`` authors ×
        the most candidates of one author). Given that head of each ranking (voted proposals
        left out, ties whole) it picks what it would pick among all the candidates; the random
        order lets it break ties of priority at random as it does among all of them.
        """
        key = _settings_key(strategy, segment, settings)
        reach = LOOKAHEAD * size + size
        with self.lock:
            ranking = self.rankings.get(key)
            if ranking is None:
                if len(self.rankings) >= MAX_RANKINGS:
                    self.rankings.clear()
                rank_key = RANKED_STRATEGIES[strategy](segment, settings)
                ranking = self.rankings[key] = _Ranking(
                    rank_key, settings, self.candidates.values()
                )
            reach += size * self.most_by_author()
            head = ranking.heads(self.candidates, voted, reach)
        rng.shuffle(head)
        return head


class Pools:
    """This process's pools, following the shared change log.

    No lock is held while reading the database: on the embedded default (SQLite) a transaction
    holds the database's one write lock, and a request may have one open when it gets here; a
    thread waiting for it while holding a lock another such request wants would deadlock. So
    builds and reloads read first and lock only to take in what they read: two threads may then
    read the same changes, and each takes in only the entries past what the pool already has
    (its data for them was read after the log was, so is at least as fresh as they are).

    A build reads every accepted proposal with its counters (a second or more at 10,000
    proposals): when a process starts, all its threads would build the same pool at once. So one
    builds while the others wait for it — a bounded wait (``BUILD_WAIT``), never a lock held
    across the read: past it, a waiting thread builds too, as it would have without waiting.
    """

    BUILD_WAIT = 10.0  # seconds a thread waits for another's build of the same pool

    def __init__(self, follow_every: float = FOLLOW_EVERY) -> None:
        self._pools: dict[tuple[int, int], _Pool] = {}
        self._lock = threading.Lock()
        self._building: dict[tuple[int, int], threading.Event] = {}
        self._expired: set[tuple[int, int]] = set()
        self.follow_every = follow_every

    def expire(self, tenant_id: int, consultation_id: int) -> None:
        """Read the change log at the next request (a decision was committed here)."""
        self._expired.add((tenant_id, consultation_id))

    def clear(self) -> None:
        with self._lock:
            self._pools.clear()

    def pool(self, session: TenantSession, store: Store, consultation: Consultation) -> _Pool:
        """The consultation's pool, brought up to date with the change log."""
        key = (consultation.tenant_id, consultation.id)
        log = _log_key(*key)
        pool = self._pools.get(key)
        moment = time.monotonic()
        if (
            pool is not None
            and key not in self._expired
            and moment - pool.followed_at < self.follow_every
        ):
            return pool
        self._expired.discard(
            key
        )  # before reading: a decision committed meanwhile expires it again
        start = pool.position if pool is not None else None
        # The log's changes since this pool's position come with its position.
        epoch, position, entries = store.log_read(log, start)
        if (
            pool is None
            or pool.epoch != epoch
            or pool.position > position  # the log was lost and begun anew
            or entries is None  # this pool fell so far behind that the log no longer has it
        ):
            built = self._build(session, consultation.id, key, pool, epoch, position)
            if built is pool:  # another thread builds the new one: this one serves meanwhile
                return pool
            pool = built
        first = pool.position
        if first < position:
            if entries is not None and start is not None and start <= first:
                news = entries[first - start : position - start]
            else:  # another thread's pool, built before this thread's read of the log
                again = store.log_read(log, first)
                if again.entries is None or again.epoch != epoch:
                    pool.followed_at = moment  # changed meanwhile: the next read rebuilds
                    return pool
                news = again.entries[: position - first]
            changed = load_candidates(session, consultation.id, {int(p) for p in news})
            with pool.lock:
                if pool.position < position:
                    if pool.position > first:  # others took in the first ones meanwhile
                        past = {int(p) for p in news[pool.position - first :]}
                        changed = {p: c for p, c in changed.items() if p in past}
                    pool.apply(changed)
                    pool.position = position
        pool.followed_at = moment
        return pool

    def _build(self, session, consultation_id, key, seen, epoch, position) -> _Pool:
        """A new pool for ``key`` (which holds ``seen``), or the one another thread built
        meanwhile (brought up to date by the caller); ``seen`` itself while another thread
        builds its successor (the log was lost, or no longer holds what ``seen`` missed): the
        old pool serves until the new one is in — seconds at 10,000 proposals, which every
        sequence of the process would otherwise wait — and a card whose proposal is no longer
        accepted is never served either way."""
        with self._lock:
            building = self._building.get(key)
            if building is None:
                building = self._building[key] = threading.Event()
                mine = True
            else:
                mine = False
        if not mine:
            if seen is not None:
                return seen
            building.wait(self.BUILD_WAIT)
            pool = self._pools.get(key)
            if pool is not None and pool is not seen:
                return pool
        try:
            candidates = load_candidates(session, consultation_id)
            built = _Pool(epoch, position, {p: c for p, c in candidates.items() if c is not None})
            with self._lock:
                pool = self._pools.get(key)
                if pool is seen:  # nobody built it meanwhile (else: theirs, brought up to date)
                    pool = self._pools[key] = built
            return pool
        finally:
            if mine:
                with self._lock:
                    self._building.pop(key, None)
                building.set()

    def candidates(
        self, session: TenantSession, store: Store, consultation: Consultation
    ) -> list[Candidate]:
        return list(self.pool(session, store, consultation).candidates.values())


POOLS = Pools()


def warm_pools(
    database: Database,
    store: Store,
    now: datetime,
    *,
    budget: float = 10.0,
    between: Callable[[], None] | None = None,
) -> int:
    """Build this process's pools of the open consultations (most recently opened first),
    before it serves: a web worker calls it as it starts (``infra/gunicorn.conf.py``), so that
    its first sequences do not wait the seconds a build takes. Stops starting builds after
    ``budget`` seconds (a pool not built here is built at its first sequence, as without
    warming); ``between`` runs after each build (the worker tells its master it is alive).
    Returns how many pools were built."""
    started = time.monotonic()
    with database.session() as session:
        tenant_ids = list(
            session.scalars(select(Tenant.id).where(Tenant.status == TenantStatus.active.value))
        )
    if not tenant_ids:
        return 0
    with database.session(tenant_ids=tenant_ids) as session:
        opened = session.scalars(
            select(Consultation)
            .where(Consultation.starts_at <= now, Consultation.ends_at > now)
            .order_by(Consultation.starts_at.desc(), Consultation.id.desc())
        ).all()
    built = 0
    for consultation in opened:
        if time.monotonic() - started > budget:
            break
        with database.session(tenant_id=consultation.tenant_id) as session:
            POOLS.pool(session, store, consultation)
        built += 1
        if between is not None:
            between()
    return built


def note_change(store: Store, tenant_id: int, consultation_id: int, proposal_id: int) -> None:
    """Append a changed proposal to the consultation's log (after its transaction committed)."""
    store.log_append(_log_key(tenant_id, consultation_id), str(proposal_id), keep=LOG_KEEP)


def _on_change(consultation_id: int, *, tenant_id: int, proposal_id: int, **_kwargs) -> None:
    note_change(kernel().store, tenant_id, consultation_id, proposal_id)


def _on_decision(consultation_id: int, *, tenant_id: int, proposal_id: int, **_kwargs) -> None:
    note_change(kernel().store, tenant_id, consultation_id, proposal_id)
    POOLS.expire(tenant_id, consultation_id)


vote_changed.connect(_on_change, weak=False)
proposal_changed.connect(_on_decision, weak=False)


# --------------------------------------------------------------------------- sequences


class CardProposal(NamedTuple):
    """A served card's proposal, as plain values (the fields its payload shows)."""

    id: int
    consultation_id: int
    author_id: int | None
    content: str
    status: str
    refusal_reason: str | None
    created_at: datetime


class CardTag(NamedTuple):
    id: int
    slug: str
    label: str


@dataclass(frozen=True)
class Card:
    proposal: CardProposal
    card_key: str
    position: int
    counts: Mapping[str, int] | None = None  # raw counts of the proposal's votes (all voters)
    tags: tuple[CardTag, ...] | None = None  # the proposal's tags, by label


def voted_ids(session: TenantSession, consultation_id: int, voter: Participant) -> set[int]:
    return set(
        session.scalars(
            select(Vote.proposal_id).where(
                Vote.participant_id == voter.id, Vote.consultation_id == consultation_id
            )
        )
    )


class SequenceContext(NamedTuple):
    """What a sequence request needs besides the pool: the consultation, the voter (None: not
    found, or the session's participant belongs to an account now) and what they voted on."""

    consultation: ConsultationHead
    voter: VoterHead | None
    voted: frozenset[int]


# Plain SQL, as the rest of this path (see load_candidates); the tenant is explicit.
_CONTEXT_SQL = """
SELECT c.id, c.tenant_id, c.visibility, c.starts_at, c.ends_at, c.settings,
       pa.id, pa.account_id, pa.territory, pa.birth_year, v.proposal_id
FROM consultations c
LEFT JOIN participants pa ON pa.{voter_column} = :voter AND pa.tenant_id = c.tenant_id
LEFT JOIN votes v
  ON v.participant_id = pa.id AND v.consultation_id = c.id AND v.tenant_id = c.tenant_id
WHERE c.id = :consultation_id AND c.tenant_id = :tenant_id
"""
_CONTEXT_TYPES = (
    *(BigInteger(), BigInteger(), String(), UTCDateTime(), UTCDateTime(), JSON()),
    *(BigInteger(), BigInteger(), String(), Integer(), BigInteger()),
)


def _typed(sql: str, types: tuple) -> TextClause:
    """Result columns typed by position (UTC datetimes, JSON and booleans on every backend)."""
    return text(sql).columns(*(column(f"c{i}", type_) for i, type_ in enumerate(types)))


_CONTEXT_BY_PARTICIPANT = _typed(_CONTEXT_SQL.format(voter_column="id"), _CONTEXT_TYPES)
_CONTEXT_BY_ACCOUNT = _typed(_CONTEXT_SQL.format(voter_column="account_id"), _CONTEXT_TYPES)


def read_context(
    session: TenantSession,
    consultation_id: int,
    *,
    participant_id: int | None = None,
    account_id: int | None = None,
) -> SequenceContext | None:
    """The consultation (None: not in this session's tenant), the voter — the anonymous
    participant ``participant_id`` or the participant of ``account_id`` — and the proposals
    they voted on, in one round trip."""
    tenant_id = session.tenant_id
    if tenant_id is None:
        return None
    if account_id is not None:
        statement, voter = _CONTEXT_BY_ACCOUNT, account_id
    else:
        statement, voter = _CONTEXT_BY_PARTICIPANT, participant_id
    rows = (
        session.connection()
        .execute(
            statement,
            {"consultation_id": consultation_id, "tenant_id": tenant_id, "voter": voter},
        )
        .all()
    )
    if not rows:
        return None
    first = rows[0]
    consultation = ConsultationHead(*first[:6])
    found = None
    if first[6] is not None:
        found = VoterHead(*first[6:10])
        if account_id is None and found.account_id is not None:
            return SequenceContext(consultation, None, frozenset())  # log in to use it
    return SequenceContext(consultation, found, frozenset(r[10] for r in rows if r[10] is not None))


_RAW_COLUMNS = [column_name(key, False) for key in COUNTED_KEYS]
_CARDS = _listing(
    f"""
SELECT p.id, p.consultation_id, p.author_id, p.content, p.status, p.refusal_reason,
       p.created_at, t.id, t.slug, t.label, {", ".join("c." + name for name in _RAW_COLUMNS)}
FROM proposals p
LEFT JOIN proposal_counters c
  ON c.proposal_id = p.id AND c.tenant_id = p.tenant_id AND c.segment = 'all'
LEFT JOIN proposal_tags pt ON pt.proposal_id = p.id AND pt.tenant_id = p.tenant_id
LEFT JOIN tags t ON t.id = pt.tag_id AND t.tenant_id = p.tenant_id
WHERE p.tenant_id = :tenant_id AND p.id {{ids}} AND p.status = :accepted
""",
    "ids",
    types=(
        *(BigInteger(), BigInteger(), BigInteger(), String(), String(), String()),
        *(UTCDateTime(), BigInteger(), String(), String()),
        *(Integer() for _ in _RAW_COLUMNS),
    ),
)


def _cards(
    session: TenantSession, tenant_id: int, chosen: list[int]
) -> tuple[dict[int, CardProposal], dict[int, dict[str, int]], dict[int, list[CardTag]]]:
    """The chosen proposals still accepted, with their raw counts and their tags, in one query."""
    proposals: dict[int, CardProposal] = {}
    counts: dict[int, dict[str, int]] = {}
    tags: dict[int, list[CardTag]] = {}
    rows = session.connection().execute(
        _for(session, _CARDS),
        {"tenant_id": tenant_id, "ids": list(chosen), "accepted": ProposalStatus.accepted.value},
    )
    for row in rows:
        pid = row[0]
        if pid not in proposals:
            proposals[pid] = CardProposal(*row[:7])
            raw = row[10:]
            counts[pid] = dict(zip(COUNTED_KEYS, raw, strict=True)) if raw[0] is not None else {}
            tags[pid] = []
        if row[7] is not None:
            tags[pid].append(CardTag(*row[7:10]))
    return proposals, counts, tags


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
    voted: AbstractSet[int] | None = None,
) -> list[Card]:
    """The next cards for this voter: never one they voted on, each with its signed card key.

    ``voted``: what the voter voted on in this consultation, when the caller just read it.
    """
    config = config_of(consultation)
    size = config.sequence_size if size is None else size
    if not 1 <= size <= MAX_SEQUENCE:
        raise Invalid(
            N_("A sequence has 1 to %(n)s cards.", n=MAX_SEQUENCE),
            code="sequence_too_long",
            errors={"size": [N_("Out of range.")]},
        )
    if consultation.status_at(now) != "open":
        return []
    rng = rng or random.Random()
    if voted is None:
        voted = voted_ids(session, consultation.id, voter)
    segment = voter.territory if voter.territory in TERRITORY_SEGMENTS else None
    strategy = STRATEGIES.get(config.strategy, STRATEGIES[DEFAULT_STRATEGY])
    for _attempt in range(2):
        pool = POOLS.pool(session, store, consultation)
        if strategy in RANKED_STRATEGIES:
            candidates = pool.heads(strategy, segment, config.settings, voted, size, rng)
        else:
            candidates = list(pool.candidates.values())
        chosen = strategy(candidates, segment, voted, size, config.settings, rng)
        if not chosen:
            return []
        proposals, counts, tags = _cards(session, consultation.tenant_id, chosen)
        if len(proposals) == len(set(chosen)):
            break
        # Some were decided meanwhile in another process, whose change this pool has not read
        # yet: read the log now and choose again (once).
        POOLS.expire(consultation.tenant_id, consultation.id)
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
            counts[pid],
            tuple(sorted(tags[pid], key=lambda tag: tag.label)),
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
