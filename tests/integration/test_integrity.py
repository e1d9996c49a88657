"""Vote integrity: rate limits (429 per IP, session, account), lockstep groups found, cleared
and kept cleared, results that count a flagged group as one voice, and two tenants apart."""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from pnyx.consultations import votes
from pnyx.consultations.models import SEGMENTS, Consultation, Vote
from pnyx.identity.models import AGE_BANDS, TERRITORIES
from pnyx.identity.participants import new_participant
from pnyx.moderation import integrity
from pnyx.moderation.integrity import RateLimit
from pnyx.moderation.lockstep import voter_weights
from pnyx.results import service as results_service
from tests import factories
from tests.conftest import PASSWORD
from tests.integration.test_api_tenants import problem

PUBLIC_IP = {"REMOTE_ADDR": "203.0.113.7"}
OTHER_IP = {"REMOTE_ADDR": "198.51.100.9"}
HOUR = 3600.0


def use_limits(monkeypatch, *limits: RateLimit) -> None:
    monkeypatch.setattr(integrity, "configured_limits", lambda: limits)


def proposals_of(database, tenant_id, consultation_id, n, author="admin@alpha.test"):
    return [
        factories.proposal(
            database,
            tenant_id,
            consultation_id,
            f"Il faut la proposition numéro {i}",
            author=author,
        ).id
        for i in range(n)
    ]


# --------------------------------------------------------------------------- rate limits


def test_limits_parse_from_the_environment_format():
    limits = {limit.name: limit for limit in integrity.parse_limits("vote_ip=5/10,signup_ip=off")}
    assert limits["vote_ip"].limit == 5 and limits["vote_ip"].window == 10
    assert "signup_ip" not in limits and limits["vote_session"].limit == 120
    assert integrity.parse_limits("off") == ()
    with pytest.raises(ValueError, match="unknown limit"):
        integrity.parse_limits("votes=1/1")


def test_sign_ups_are_limited_per_ip_and_reset_after_the_window(world, monkeypatch):
    use_limits(monkeypatch, RateLimit("signup_ip", "signup", "ip", 2, 1.0))
    client = world.client("alpha").client

    def sign_up(i, ip):
        return client.post(
            "/api/v1/participants",
            base_url="http://alpha.pnyx.test",
            environ_base=ip,
            json={
                "email": f"new{i}@alpha.test",
                "password": PASSWORD,
                "first_name": "Ana",
                "birth_year": 1990,
                "postal_code": "35000",
            },
        )

    time.sleep(1.0 - time.time() % 1.0 + 0.01)  # start at the beginning of a window
    assert [sign_up(i, PUBLIC_IP).status_code for i in range(2)] == [201, 201]
    body = problem(sign_up(2, PUBLIC_IP), 429, "rate_limited")
    assert body["limit"] == "signup_ip" and body["retry_after"] >= 1
    assert sign_up(3, OTHER_IP).status_code == 201  # another address has its own count
    time.sleep(1.05)
    assert sign_up(4, PUBLIC_IP).status_code == 201  # a new window


def test_giving_a_profile_is_limited_per_ip(world, monkeypatch):
    use_limits(monkeypatch, RateLimit("profile_ip", "profile", "ip", 2, 60))
    client = world.client("alpha").client

    def give(ip):
        return client.patch(
            "/api/v1/participants/me",
            base_url="http://alpha.pnyx.test",
            environ_base=ip,
            json={"postal_code": "35000"},
        )

    assert [give(PUBLIC_IP).status_code for _ in range(2)] == [200, 200]
    assert problem(give(PUBLIC_IP), 429, "rate_limited")["limit"] == "profile_ip"
    assert give(OTHER_IP).status_code == 200


def test_votes_are_limited_per_session_and_per_ip(world, database, monkeypatch):
    use_limits(
        monkeypatch,
        RateLimit("vote_session", "vote", "session", 3, 60),
        RateLimit("vote_ip", "vote", "ip", 5, 60),
    )
    c = factories.consultation(database, world.alpha_id)
    ids = proposals_of(database, world.alpha_id, c.id, 6)
    first, second = world.client("alpha"), world.client("alpha")

    def vote(client, pid, ip=PUBLIC_IP):
        return client.put(f"/api/v1/proposals/{pid}/vote", json={"key": "agree"}, environ_base=ip)

    # The first vote has no session yet (only the IP counts it); then three per session.
    assert [vote(first, pid).status_code for pid in ids[:4]] == [200] * 4
    assert problem(vote(first, ids[4]), 429, "rate_limited")["limit"] == "vote_session"
    # A fresh session from the same address: the address's limit (5 attempts) stops it.
    assert problem(vote(second, ids[0]), 429, "rate_limited")["limit"] == "vote_ip"
    # Another address and the machine itself (loopback) are not held by that count.
    assert vote(second, ids[1], OTHER_IP).status_code == 200
    assert vote(world.client("alpha"), ids[2], {"REMOTE_ADDR": "127.0.0.1"}).status_code == 200


def test_proposals_are_limited_per_account_in_the_api_and_on_the_page(world, database, monkeypatch):
    use_limits(monkeypatch, RateLimit("proposal_account", "proposal", "account", 2, 3600))
    c = factories.consultation(database, world.alpha_id)
    citizen = world.participant("alpha")
    sent = [
        citizen.post(
            f"/api/v1/consultations/{c.id}/proposals",
            json={"content": f"Il faut plus de pistes cyclables {i}"},
        ).status_code
        for i in range(2)
    ]
    assert sent == [201, 201]
    body = problem(
        citizen.post(
            f"/api/v1/consultations/{c.id}/proposals",
            json={"content": "Il faut encore plus de pistes"},
        ),
        429,
        "rate_limited",
    )
    assert body["limit"] == "proposal_account"
    # The page says it next to the form and keeps the text.
    page = world.client("alpha")
    page.post_form("/login", data={"email": "citizen@alpha.test", "password": PASSWORD})
    form = page.get(f"/c/{c.slug}/proposer").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    text = "Il faut des bancs dans les parcs"
    answer = page.post(f"/c/{c.slug}/proposer", data={"csrf_token": token, "content": text})
    assert answer.status_code == 429
    assert text in answer.get_data(as_text=True)


# --------------------------------------------------------------------------- lockstep groups


def seed_votes(database, tenant_id, *, honest=120, brigade=12, seed=3):
    """An open consultation of 60 proposals with honest voters (10 votes each) spread over
    three weeks and a brigade voting 20 proposals the same way within an hour. Returns (consultation id, proposal ids, brigade ids,
    honest ids, target ids)."""
    rng = random.Random(seed)
    start = factories.NOW - timedelta(days=25)
    c = factories.consultation(
        database, tenant_id, starts_at=start, ends_at=factories.NOW + timedelta(days=30)
    )
    ids = proposals_of(database, tenant_id, c.id, 60)
    targets = ids[:20]
    brigade_ids, honest_ids = [], []
    with database.scope(tenant_id=tenant_id) as s:
        consultation = s.get(Consultation, c.id)
        for _ in range(honest):
            voter = new_participant(s)
            honest_ids.append(voter.id)
            at = start + timedelta(seconds=rng.uniform(0, 21 * 86_400))
            for pid in rng.sample(ids, 10):
                at += timedelta(seconds=rng.uniform(5, 40))
                key = rng.choice(("agree", "agree", "disagree", "neutral"))
                votes.cast(s, consultation, pid, voter, key, [], trusted=True, now=at)
        burst = start + timedelta(days=10)
        for _ in range(brigade):
            voter = new_participant(s)
            brigade_ids.append(voter.id)
            at = burst + timedelta(seconds=rng.uniform(0, HOUR))
            for i, pid in enumerate(targets):
                at += timedelta(seconds=rng.uniform(5, 40))
                votes.cast(
                    s,
                    consultation,
                    pid,
                    voter,
                    "disagree" if i % 2 else "agree",
                    [],
                    trusted=True,
                    now=at,
                )
    return c.id, ids, set(brigade_ids), set(honest_ids), targets


@pytest.fixture()
def attacked(world, database, monkeypatch):
    monkeypatch.setattr(integrity, "DETECT_EVERY", 10**9)  # detection runs when a test says
    return seed_votes(database, world.alpha_id)


def test_detection_flags_the_brigade_and_not_honest_voters(world, attacked):
    cid, _ids, brigade, honest, targets = attacked
    admin = world.admin("alpha")
    assert admin.post(f"/api/v1/consultations/{cid}/integrity/detect").status_code == 202
    groups = admin.get(f"/api/v1/consultations/{cid}/integrity/groups").get_json()["items"]
    assert len(groups) == 1
    group = groups[0]
    assert set(group["members"]) == brigade and not set(group["members"]) & honest
    assert group["status"] == "flagged" and group["size"] == len(brigade)
    evidence = group["evidence"]
    assert {item["proposal_id"] for item in evidence["shared"]} == set(targets)
    assert all(item["content"].startswith("Il faut") for item in evidence["shared"])
    assert evidence["span_seconds"] <= 2 * HOUR and evidence["kappa"] >= 0.5
    assert evidence["min_covotes"] >= 8
    # Citizens do not see the evidence.
    citizen = world.participant("alpha")
    assert citizen.get(f"/api/v1/consultations/{cid}/integrity/groups").status_code == 403


def test_a_cleared_group_stays_cleared_when_detection_runs_again(world, attacked):
    cid, _ids, brigade, _honest, _targets = attacked
    admin = world.admin("alpha")
    integrity.run_detection(world.alpha_id, cid)
    (group,) = admin.get(f"/api/v1/consultations/{cid}/integrity/groups").get_json()["items"]
    cleared = admin.post(f"/api/v1/consultations/{cid}/integrity/groups/{group['id']}/clear")
    assert cleared.status_code == 200
    assert cleared.get_json()["status"] == "cleared"
    assert cleared.get_json()["cleared_by"] == "admin@alpha.test"
    run = integrity.run_detection(world.alpha_id, cid)
    assert (run.found, run.flagged, run.cleared) == (1, 0, 1)
    (again,) = admin.get(f"/api/v1/consultations/{cid}/integrity/groups").get_json()["items"]
    assert again["id"] == group["id"] and again["status"] == "cleared"
    assert set(again["members"]) == brigade
    flagged = admin.get(f"/api/v1/consultations/{cid}/integrity/groups?status=flagged")
    assert flagged.get_json()["items"] == []


def test_every_segment_read_at_once_is_each_segment_read_alone(world, database, attacked):
    """The CSV and the report read every segment's results from one grouped reading of the
    votes: the same weighted counts as one query per segment (history and lockstep weights
    included), and the same published results."""
    cid, _ids, brigade, honest, _targets = attacked
    rng = random.Random(5)
    with database.scope(tenant_id=world.alpha_id) as s:  # segments kept by the votes
        for voter in sorted(brigade | honest):
            s.execute(
                update(Vote)
                .where(Vote.participant_id == voter)
                .values(territory=rng.choice(TERRITORIES), age_band=rng.choice(AGE_BANDS))
            )
    integrity.run_detection(world.alpha_id, cid)
    with database.session(tenant_id=world.alpha_id) as s:
        together = results_service.weighted_counts_by_segment(s, cid)
        assert set(together) == set(SEGMENTS)
        for segment in SEGMENTS:
            alone = results_service.weighted_counts(s, cid, segment)
            assert together[segment] == alone, segment
        assert len(together["territory:urban"]) > 0 and len(together["age:65_plus"]) > 0
        by_segment = results_service.results_by_segment(s, cid)
        for segment in SEGMENTS:
            assert by_segment[segment] == results_service.results(s, cid, segment), segment


def _weights(database, tenant_id, cid, flagged_groups):
    with database.session(tenant_id=tenant_id) as s:
        rows = (
            s.execute(Vote.__table__.select().where(Vote.consultation_id == cid)).mappings().all()
        )
    cast = Counter(row["participant_id"] for row in rows)
    return rows, voter_weights(cast, flagged_groups)


def test_results_count_a_flagged_group_as_one_voice(world, database, attacked):
    cid, _ids, brigade, _honest, targets = attacked
    target = targets[0]  # the brigade agreed on it

    def counts():
        with database.session(tenant_id=world.alpha_id) as s:
            return results_service.weighted_counts(s, cid)

    before = counts()
    integrity.run_detection(world.alpha_id, cid)
    after = counts()
    # Brigade members cast 20 votes each: full history weight.
    member_weight = 1.0
    assert before[target].agree - after[target].agree == pytest.approx(
        len(brigade) * member_weight - member_weight
    )
    # The database's sums are the in-memory arithmetic on the same votes.
    with database.session(tenant_id=world.alpha_id) as s:
        (view,) = integrity.groups_of(s, cid)

    class Group:
        members = tuple(view.members)
        size = len(view.members)

    rows, weights = _weights(database, world.alpha_id, cid, [Group])
    expected = results_service.tally(
        [(r["participant_id"], r["proposal_id"], r["key"]) for r in rows if r["trusted"]],
        weights,
    )
    for pid, value in expected.items():
        assert after[pid].agree == pytest.approx(value.agree)
        assert after[pid].disagree == pytest.approx(value.disagree)
        assert after[pid].neutral == pytest.approx(value.neutral)
    # The API shows the same weighted votes (provisional: to the tenant's admins while the
    # consultation is open), and the segment is checked.
    alpha = world.admin("alpha")
    body = alpha.get(f"/api/v1/consultations/{cid}/results?segment=all").get_json()
    shown = {item["proposal_id"]: item for item in body["proposals"]}
    assert shown[target]["votes"] == pytest.approx(after[target].votes, abs=1e-3)
    assert shown[target]["result"] in (
        "consensus",
        "rejection",
        "limbo",
        "controversy",
        "needs_more_votes",
    )
    problem(
        alpha.get(f"/api/v1/consultations/{cid}/results?segment=mars"), 422, "validation_failed"
    )
    assert (
        alpha.get(f"/api/v1/consultations/{cid}/results?segment=territory:rural").status_code == 200
    )
    # Cleared, the members count again as ordinary voters.
    admin = world.admin("alpha")
    admin.post(f"/api/v1/consultations/{cid}/integrity/groups/{view.record.id}/clear")
    assert counts()[target].agree == pytest.approx(before[target].agree)


def test_the_admin_page_shows_the_evidence_and_clears_a_group(world, attacked):
    cid, _ids, brigade, _honest, _targets = attacked
    integrity.run_detection(world.alpha_id, cid)
    page = world.client("alpha")
    page.post_form("/login", data={"email": "admin@alpha.test", "password": PASSWORD})
    html = page.get("/admin/c/territoire/integrite").get_data(as_text=True)
    assert f"{len(brigade)}" in html and "Il faut la proposition numéro" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    action = re.search(r'action="(/admin/c/territoire/integrite/\d+/clear)"', html).group(1)
    assert page.post(action, data={"x": "1"}).status_code == 400  # no CSRF token
    done = page.post(action, data={"csrf_token": token})
    assert done.status_code == 303
    html = page.get(done.headers["Location"]).get_data(as_text=True)
    assert 'action="/admin/c/territoire/integrite/' + "" in html
    assert not re.search(r'action="/admin/c/territoire/integrite/\d+/clear"', html)
    citizen = world.client("alpha")
    citizen.post_form("/login", data={"email": "citizen@alpha.test", "password": PASSWORD})
    assert citizen.get("/admin/c/territoire/integrite").status_code == 403


def test_groups_are_kept_apart_between_tenants(world, database, attacked):
    cid, _ids, _brigade, _honest, _targets = attacked
    integrity.run_detection(world.alpha_id, cid)
    alpha_admin = world.admin("alpha")
    (group,) = alpha_admin.get(f"/api/v1/consultations/{cid}/integrity/groups").get_json()["items"]
    beta_c = factories.consultation(database, world.beta_id)
    beta_admin = world.admin("beta")
    problem(
        beta_admin.get(f"/api/v1/consultations/{cid}/integrity/groups"),
        404,
        "consultation_not_found",
    )
    problem(
        beta_admin.post(f"/api/v1/consultations/{beta_c.id}/integrity/groups/{group['id']}/clear"),
        404,
        "group_not_found",
    )
    assert beta_admin.get(f"/api/v1/consultations/{beta_c.id}/integrity/groups").get_json() == {
        "items": []
    }
    run = integrity.run_detection(world.beta_id, beta_c.id)
    assert run.votes == 0 and run.found == 0
    # Beta's admin page for the same slug shows beta's (empty) list.
    page = world.client("beta")
    page.post_form("/login", data={"email": "admin@beta.test", "password": PASSWORD})
    html = page.get("/admin/c/territoire/integrite").get_data(as_text=True)
    assert "/integrite/" + str(group["id"]) not in html
    with database.session(tenant_id=world.beta_id) as s:
        assert integrity.groups_of(s, cid) == []


def test_votes_trigger_detection_every_so_many_votes(world, database, monkeypatch):
    from collections import Counter

    calls = []
    monkeypatch.setattr(integrity, "DETECT_EVERY", 3)
    monkeypatch.setattr(integrity, "_votes_seen", Counter())  # this process's count, from 0
    monkeypatch.setattr(integrity, "request_detection", lambda t, c: calls.append((t, c)))
    c = factories.consultation(database, world.alpha_id)
    ids = proposals_of(database, world.alpha_id, c.id, 7)
    voter = world.client("alpha")
    for pid in ids:
        assert voter.put(f"/api/v1/proposals/{pid}/vote", json={"key": "agree"}).status_code == 200
    assert calls == [(world.alpha_id, c.id)]  # at the 3rd vote; the 6th is within the interval
