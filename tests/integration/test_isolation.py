"""Every API route, tried from tenant beta with tenant alpha's ids, answers 404.

The routes are read from the app's URL map, so a new route is covered the day it is added; a
route whose id parameter this test cannot fill fails the test until ALPHA_IDS learns it.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from billing import partners
from tenants.models import TenantHost
from tests import factories


def alpha_ids(world, database) -> dict[str, int]:
    """One object of tenant alpha per kind of id a route can take (public and visible ones)."""
    with database.session(tenant_id=world.alpha_id) as s:
        host_id = s.scalar(select(TenantHost.id))
    consultation = factories.consultation(database, world.alpha_id)
    proposal = factories.proposal(
        database, world.alpha_id, consultation.id, "Il faut des navettes", author="admin@alpha.test"
    )
    with database.scope(tenant_id=world.alpha_id) as s:
        group_id = lockstep_group(s, consultation.id, proposal.id)
        partner_id = partners.create_partner(s, {"name": "Fondation", "tier": "founding"}).id
    return {
        "tenant_id": world.alpha_id,
        "host_id": host_id,
        "consultation_id": consultation.id,
        "proposal_id": proposal.id,
        "author_id": proposal.author_id,  # a participant of alpha (the moderation desk)
        "group_id": group_id,  # a flagged lockstep group of alpha (vote integrity)
        "partner_id": partner_id,  # a partner of alpha's coalition
    }


def lockstep_group(session, consultation_id: int, proposal_id: int) -> int:
    """A flagged lockstep group of two anonymous voters, stored by the integrity service."""
    from datetime import UTC, datetime

    from pnyx.consultations.models import Consultation
    from pnyx.identity.participants import new_participant
    from pnyx.moderation import integrity
    from pnyx.moderation.agreement import Agreement
    from pnyx.moderation.lockstep import LockstepGroup

    members = tuple(new_participant(session).id for _ in range(2))
    group = LockstepGroup(members, ((proposal_id, "agree", 2),), 0.0, 60.0, 1, 9.0, 9, 8.0, 8.0)
    integrity.store_groups(
        session,
        session.get(Consultation, consultation_id),
        [(group, Agreement(1, 9, 9, 3.0, 2.0))],
        now=datetime.now(UTC),
        window_seconds=3 * 3600,
    )
    return session.scalar(select(integrity.LockstepGroupRecord.id))


def api_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def fill(rule, ids: dict[str, int]) -> str:
    missing = set(rule.arguments) - set(ids)
    assert not missing, f"{rule.rule}: teach ALPHA_IDS what {sorted(missing)} are"
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), rule.rule)


def test_every_route_with_ids_is_closed_to_the_other_tenant(world, database):
    ids = alpha_ids(world, database)
    routes = list(api_routes(world.app))
    assert len(routes) >= 6
    callers = {
        "beta admin": world.admin("beta"),
        "beta citizen": world.participant("beta"),
        "anonymous": world.client("beta"),
    }
    failures = []
    for rule, method in routes:
        path = fill(rule, ids)
        for who, client in callers.items():
            response = client.open(method, path, json={})
            if response.status_code != 404:
                failures.append(f"{who}: {method} {path} → {response.status_code}")
    assert failures == []


def test_alpha_ids_exist_for_alpha(world, database):
    """The ids above are real: the same routes answer for the right caller (no false pass)."""
    ids = alpha_ids(world, database)
    operator = world.operator()
    assert operator.get(f"/api/v1/tenants/{ids['tenant_id']}").status_code == 200
    alpha = world.client("alpha")
    assert alpha.get(f"/api/v1/consultations/{ids['consultation_id']}").status_code == 200
    assert alpha.get(f"/api/v1/proposals/{ids['proposal_id']}").status_code == 200
    assert alpha.get(f"/api/v1/partners/{ids['partner_id']}").status_code == 200
    hosts = operator.get(f"/api/v1/tenants/{ids['tenant_id']}/hosts").get_json()
    assert [h["id"] for h in hosts] == [ids["host_id"]]
