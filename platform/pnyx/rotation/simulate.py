"""The simulator driven through the real service: sequences from the sequence service, votes
cast with their card keys through the vote service, on a real database and store.

The synthetic population (true rates per segment) and the report are those of
:mod:`pnyx.rotation.simulation`; here each simulated voter is a participant of a scratch tenant,
each card comes from :func:`pnyx.rotation.service.sequence` and each vote goes through
:func:`pnyx.consultations.votes.cast` with the trust its card key earns. At the end the
database's trusted counters are checked against the votes the simulator cast.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from pnyx.consultations import proposals as proposals_service
from pnyx.consultations import service as consultations
from pnyx.consultations import votes
from pnyx.consultations.models import ProposalCounter
from pnyx.identity.models import Participant
from pnyx.identity.participants import participant_of_account
from pnyx.identity.service import create_account
from pnyx.kernel.db import Database
from pnyx.kernel.signing import Signer
from pnyx.kernel.store import Store
from tenants.service import create_tenant

from . import service
from .simulation import SimulationReport, make_population, simulate

# The simulator's territory segments are the platform's territory types.
PROPOSAL_TEXT = "Il faut la proposition simulée numéro {}"


class CounterMismatch(AssertionError):
    """The database's counters differ from the votes the simulator cast."""


def run(
    database: Database,
    store: Store,
    signer: Signer,
    *,
    strategy: str,
    n_proposals: int,
    budget_per_proposal: float,
    seed: int,
    platform_domain: str = "localhost",
    on_vote: Callable[[], None] | None = None,
) -> SimulationReport:
    """One seeded simulation through the services, in a scratch tenant of ``database``.

    ``store`` must be the process kernel's (``pnyx.kernel.runtime.kernel().store``): committed
    votes reach the pools through it.
    """
    now = datetime.now(UTC)
    population = make_population(n_proposals, seed)
    with database.scope() as session:
        tenant = create_tenant(
            session,
            slug=f"sim-{seed}-{secrets.token_hex(3)}",
            kind="grand_cause",
            name=f"Simulation {strategy} #{seed}",
            platform_domain=platform_domain,
        )
        tenant_id = tenant.id
        consultation = consultations.create_consultation(
            session,
            {
                "slug": "simulation",
                "question": "Comment améliorer les conditions de vie dans votre territoire ?",
                "starts_at": now - timedelta(days=1),
                "ends_at": now + timedelta(days=30),
            },
        )
        consultation.settings = {"rotation": {"strategy": strategy}}
        authors: dict[int, Participant] = {}
        ids: dict[int, int] = {}  # simulated proposal id → database id
        for true in population.proposals:
            author = authors.get(true.author_id)
            if author is None:
                account = create_account(
                    session, email=f"author-{true.author_id}@simulation.example", password=None
                )
                author = authors[true.author_id] = participant_of_account(session, account)
            proposal = proposals_service.submit(
                session,
                consultation,
                author,
                PROPOSAL_TEXT.format(true.proposal_id),
                now,
                rate_limit=False,
            )
            proposals_service.decide(session, proposal.id, "accept", by="simulator", now=now)
            ids[true.proposal_id] = proposal.id
        consultation_id = consultation.id
    back = {db_id: sim_id for sim_id, db_id in ids.items()}
    rng = random.Random(f"router-{seed}")
    voters: dict[int, int] = {}
    keys: dict[tuple[int, int], str] = {}

    def voter_for(session, voter_id: int, segment: str | None) -> Participant:
        if voter_id not in voters:
            participant = Participant(territory=segment or "unknown")
            session.add(participant)
            session.flush()
            voters[voter_id] = participant.id
        return session.get(Participant, voters[voter_id])

    def router(voter_id: int, segment: str | None, voted, size: int) -> list[int]:
        with database.scope(tenant_id=tenant_id) as session:
            participant = voter_for(session, voter_id, segment)
            c = consultations.get_consultation(session, consultation_id)
            cards = service.sequence(
                session, store, signer, c, participant, now=now, size=size, rng=rng
            )
        for card in cards:
            keys[(voter_id, card.proposal.id)] = card.card_key
        return [back[card.proposal.id] for card in cards]

    def record_vote(voter_id: int, segment: str | None, sim_proposal_id: int, key: str) -> None:
        proposal_id = ids[sim_proposal_id]
        with database.scope(tenant_id=tenant_id) as session:
            participant = voter_for(session, voter_id, segment)
            check = service.check_card(
                store,
                signer,
                keys.pop((voter_id, proposal_id), None),
                tenant_id=tenant_id,
                proposal_id=proposal_id,
                voter_id=participant.id,
                already_trusted=False,
            )
            c = consultations.get_consultation(session, consultation_id)
            votes.cast(
                session, c, proposal_id, participant, key, [], trusted=check.trusted, now=now
            )
        if on_vote is not None:
            on_vote()

    # Simulated voters vote thousands of times a second: the pools follow every vote (a server
    # reads the log at most every FOLLOW_EVERY seconds, a few votes per proposal at most).
    saved, service.POOLS.follow_every = service.POOLS.follow_every, 0.0
    try:
        report = simulate(
            strategy,
            population=population,
            seed=seed,
            budget_per_proposal=budget_per_proposal,
            router=router,
            record_vote=record_vote,
        )
    finally:
        service.POOLS.follow_every = saved
    _check_counters(database, tenant_id, consultation_id, report.votes_spent)
    return report


def _check_counters(database: Database, tenant_id: int, consultation_id: int, spent: int) -> None:
    with database.session(tenant_id=tenant_id) as session:
        trusted = session.scalar(
            select(
                func.sum(
                    ProposalCounter.trusted_agree
                    + ProposalCounter.trusted_disagree
                    + ProposalCounter.trusted_neutral
                )
            ).where(
                ProposalCounter.consultation_id == consultation_id, ProposalCounter.segment == "all"
            )
        )
    if int(trusted or 0) != spent:
        raise CounterMismatch(f"{spent} votes cast, {trusted} trusted votes counted")
