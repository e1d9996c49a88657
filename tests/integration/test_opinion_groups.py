"""Opinion groups through the results service, the results page and the API, on two tenants:
published as the results are, and never mixing one tenant's votes into another's."""

from __future__ import annotations

import html
import random
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.conftest import PASSWORD
from tests.integration.test_api_tenants import problem

SHARED = ["Il faut des trains plus fréquents", "Il faut rénover les écoles"]
LEFT = ["Il faut taxer les grandes fortunes", "Il faut plus de services publics"]
RIGHT = ["Il faut baisser les impôts locaux", "Il faut moins de normes pour les entreprises"]
OTHERS = [f"Il faut une idée numéro {i} pour tous" for i in range(4)]


@pytest.fixture()
def polarised(world, database):
    """In alpha, a consultation where 36 voters split into two camps (24 and 12) that agree on
    SHARED and oppose each other on LEFT and RIGHT; in beta, one where everyone agrees with
    RIGHT. Both end up finished unless told otherwise (``finish``)."""
    from pnyx.consultations import service as consultations
    from pnyx.consultations import votes
    from pnyx.identity.participants import new_participant

    now = datetime.now(UTC)
    made = {}
    for slug, tenant_id in (("alpha", world.alpha_id), ("beta", world.beta_id)):
        c = factories.consultation(database, tenant_id, slug="polarise")
        ids = {
            text: factories.proposal(
                database, tenant_id, c.id, text, author=f"author{i}@{slug}.test"
            ).id
            for i, text in enumerate(SHARED + LEFT + RIGHT + OTHERS)
        }
        with database.scope(tenant_id=tenant_id) as s:
            consultation = consultations.get_consultation(s, c.id)
            for v in range(36):
                voter = new_participant(s)
                left = v % 3 != 0 or slug == "beta"  # alpha: 24 left, 12 right
                for text, pid in ids.items():
                    if text in SHARED:
                        key = "agree"
                    elif text in LEFT:
                        key = "agree" if left and slug == "alpha" else "disagree"
                    elif text in RIGHT:
                        key = "disagree" if left and slug == "alpha" else "agree"
                    else:  # noise: nobody's camp, the same whatever ids earlier tests used
                        noise = random.Random(f"{v}:{text}")
                        key = noise.choice(("agree", "neutral", "disagree"))
                    votes.cast(s, consultation, pid, voter, key, [], trusted=True, now=now)
        made[slug] = {"consultation": c.id, "ids": ids}
    return made


def _finish(database, tenant_id, consultation_id):
    from pnyx.consultations import service as consultations

    with database.scope(tenant_id=tenant_id) as s:
        c = consultations.get_consultation(s, consultation_id)
        c.ends_at = datetime.now(UTC) - timedelta(minutes=1)
        # The results day the steps announce has come too (results wait for it).
        c.steps = [step for step in c.steps or [] if step["kind"] != "results"]


def test_the_api_shows_the_groups_once_published(world, database, polarised):
    cid = polarised["alpha"]["consultation"]
    path = f"/api/v1/consultations/{cid}/results/groups"
    problem(world.client("alpha").get(path), 404, "results_not_published")
    early = world.admin("alpha").get(path)
    assert early.status_code == 200 and early.get_json()["provisional"] is True
    _finish(database, world.alpha_id, cid)
    body = world.client("alpha").get(path).get_json()
    assert body["provisional"] is False and body["placed"] == 36
    sizes = [(group["label"], group["voters"]) for group in body["groups"]]
    assert sizes == [("A", 24), ("B", 12)]
    assert {item["content"] for item in body["consensus"][:2]} == set(SHARED)
    assert {item["content"] for item in body["division"][:4]} == set(LEFT + RIGHT)
    a, b = body["groups"]
    assert {item["content"] for item in a["distinctive"]} <= set(LEFT)
    assert {item["content"] for item in b["distinctive"]} <= set(RIGHT)
    # Another tenant's host knows nothing of this consultation.
    problem(world.client("beta").get(path), 404, "consultation_not_found")


def test_the_results_api_waits_for_the_end_too(world, database, polarised):
    cid = polarised["alpha"]["consultation"]
    path = f"/api/v1/consultations/{cid}/results"
    problem(world.client("alpha").get(path), 404, "results_not_published")
    assert world.admin("alpha").get(path).get_json()["provisional"] is True
    _finish(database, world.alpha_id, cid)
    assert world.client("alpha").get(path).get_json()["provisional"] is False


def test_each_tenant_finds_its_own_groups(world, database, polarised):
    from pnyx.results import service as results_service

    with database.session(tenant_id=world.beta_id) as s:
        beta = results_service.opinion_groups(s, polarised["beta"]["consultation"])
    with database.session(tenant_id=world.alpha_id) as s:
        alpha = results_service.opinion_groups(s, polarised["alpha"]["consultation"])
        # Read from alpha's session, beta's consultation has no votes at all.
        assert results_service.opinion_groups(s, polarised["beta"]["consultation"]).placed == 0
    assert alpha.placed == beta.placed == 36
    beta_ids = set(polarised["beta"]["ids"].values())
    assert all(item.proposal_id in beta_ids for item in beta.consensus)
    assert not any(item.proposal_id in beta_ids for item in alpha.consensus + alpha.division)


def test_the_results_page_shows_the_groups(world, database, polarised):
    _finish(database, world.alpha_id, polarised["alpha"]["consultation"])
    page = html.unescape(world.client("alpha").get("/c/polarise/resultats").get_data(as_text=True))
    groups = page[page.index('id="opinion-groups"') :]
    assert "Groupe A\u00a0: 67\u00a0%" in groups and "Groupe B\u00a0: 33\u00a0%" in groups
    agreed = groups[groups.index("Ce sur quoi tous") : groups.index("Ce qui divise")]
    assert all(text in agreed for text in SHARED)
    segment = world.client("alpha").get(
        "/c/polarise/resultats", query_string={"segment": "territory:rural"}
    )
    assert 'id="opinion-groups"' not in segment.get_data(as_text=True)


def test_a_job_computes_the_groups_once_while_readers_wait(world, database, polarised):
    from pnyx.kernel.runtime import kernel
    from pnyx.results import jobs
    from pnyx.results import service as results_service

    class Queue:
        """Jobs left for a worker, as with RQ in production."""

        mode = "rq"

        def __init__(self):
            self.asked = []

        def enqueue(self, name, *, queue="default", **kwargs):
            self.asked.append((name, queue, kwargs))

    queue, store = Queue(), kernel().store
    cid = polarised["alpha"]["consultation"]
    with database.session(tenant_id=world.alpha_id) as s:
        assert results_service.kept_opinion_groups(s, store, queue, cid) is None
        assert results_service.kept_opinion_groups(s, store, queue, cid) is None
    (asked,) = queue.asked  # the second reader did not ask again
    assert asked == (
        "pnyx.results.jobs.refresh_opinion_groups",
        "reports",
        {"tenant_id": world.alpha_id, "consultation_id": cid},
    )
    assert jobs.refresh_opinion_groups(**asked[2]) == 36
    with database.session(tenant_id=world.alpha_id) as s:
        kept = results_service.kept_opinion_groups(s, store, queue, cid)
        assert [group.voters for group in kept.groups] == [24, 12]
        # Stale copies are served while the job recomputes them.
        assert results_service.kept_opinion_groups(s, store, queue, cid, fresh_for=0) == kept
    assert len(queue.asked) == 2
    _finish(database, world.alpha_id, cid)
    computing = world.client("alpha").get(f"/api/v1/consultations/{cid}/results/groups")
    assert computing.get_json()["computing"] is False  # the kept copy


def test_the_report_gathers_participation_zones_segments_themes_and_groups(
    world, database, polarised
):
    client = world.client("alpha")
    early = client.get("/c/polarise/rapport").get_data(as_text=True)
    assert "publié avec les résultats" in early and 'id="report-zones"' not in early
    provisional = world.client("alpha")
    provisional.post_form("/login", data={"email": "admin@alpha.test", "password": PASSWORD})
    assert "Rapport provisoire" in provisional.get("/c/polarise/rapport").get_data(as_text=True)
    _finish(database, world.alpha_id, polarised["alpha"]["consultation"])
    response = client.get("/c/polarise/rapport")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    participation = page[page.index('id="report-participation"') : page.index('id="report-method"')]
    assert re.search(r"Participants</dt><dd>46\b", participation)  # 36 voters, 10 authors
    assert re.search(r"Propositions publiées</dt><dd>10\b", participation)
    assert re.search(r"Votes</dt><dd>360\b", participation)
    zones = page[page.index('id="report-zones"') : page.index('id="report-segments"')]
    consensus = zones[zones.index("<h3>Consensus</h3>") : zones.index("<h3>Controverse</h3>")]
    assert all(text in consensus for text in SHARED)
    segments = page[page.index('id="report-segments"') : page.index('id="report-groups"')]
    assert "Accord par type de territoire et par âge" in segments
    assert all(f'<th scope="row"><span lang="fr">{text}</span> ' in segments for text in SHARED)
    groups = page[page.index('id="report-groups"') :]
    assert "Groupe A\u00a0: 67\u00a0%" in groups and "Il faut taxer les grandes fortunes" in groups
    # The other tenant's consultation of the same name is still open: its report waits.
    beta = world.client("beta").get("/c/polarise/rapport").get_data(as_text=True)
    assert "publié avec les résultats" in beta and 'id="report-zones"' not in beta
