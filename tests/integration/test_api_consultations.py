"""Consultations, proposals and votes through the API, with every bad input of the issue."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import factories
from tests.integration.test_api_tenants import problem


@pytest.fixture()
def setup(world, database):
    """Each tenant: one open consultation, accepted proposals, one pending and one refused."""
    made = {}
    for slug, tenant_id in (("alpha", world.alpha_id), ("beta", world.beta_id)):
        c = factories.consultation(database, tenant_id)
        author = f"admin@{slug}.test"
        accepted = [
            factories.proposal(
                database, tenant_id, c.id, f"Il faut {text}", author=f"author{i}@{slug}.test"
            )
            for i, text in enumerate(
                (
                    "plus de bus en zone rurale",
                    "rénover les écoles du quartier",
                    "ouvrir des maisons de santé",
                )
            )
        ]
        pending = factories.proposal(
            database,
            tenant_id,
            c.id,
            "Il faut planter des arbres en ville",
            author=author,
            status="pending",
        )
        refused = factories.proposal(
            database,
            tenant_id,
            c.id,
            "Il faut voter pour mon parti",
            author=author,
            status="refused",
        )
        made[slug] = {
            "consultation": c,
            "accepted": accepted,
            "pending": pending,
            "refused": refused,
        }
    return made


def test_consultation_home_data(world, setup):
    c = setup["alpha"]["consultation"]
    body = world.client("alpha").get(f"/api/v1/consultations/{c.id}").get_json()
    assert body["question"].startswith("Comment améliorer")
    assert body["status"] == "open" and body["proposal_prefix"] == "Il faut"
    assert body["progress"] == {"participants": 4, "proposals": 5, "votes": 0}
    assert [s["kind"] for s in body["steps"]] == ["consultation", "results"]
    listing = world.client("alpha").get("/api/v1/consultations").get_json()["items"]
    assert [x["id"] for x in listing] == [c.id]


def test_admin_creates_and_edits_a_consultation(world):
    admin = world.admin("alpha")
    starts = (factories.NOW + timedelta(days=10)).replace(microsecond=0)  # upcoming, whenever run
    data = {
        "slug": "mobilite",
        "question": "Comment mieux se déplacer au quotidien ?",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=60)).isoformat(),
        "steps": [{"kind": "workshops", "title": "Ateliers", "date": "2027-03-01"}],
    }
    created = admin.post("/api/v1/consultations", json=data)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "upcoming"
    cid = created.get_json()["id"]
    edited = admin.patch(f"/api/v1/consultations/{cid}", json={"goal_votes": 5000})
    assert edited.get_json()["goal_votes"] == 5000
    problem(admin.post("/api/v1/consultations", json=data), 409, "slug_taken")
    problem(
        admin.patch(f"/api/v1/consultations/{cid}", json={"ends_at": "2020-01-01T00:00:00+00:00"}),
        422,
        "validation_failed",
    )
    problem(
        world.participant("alpha").post("/api/v1/consultations", json={**data, "slug": "x2"}),
        403,
        "forbidden",
    )
    problem(
        admin.post(
            "/api/v1/consultations",
            json={**data, "slug": "y", "starts_at": starts.replace(tzinfo=None).isoformat()},
        ),
        422,
        "validation_failed",
    )


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("", "proposal_empty"),
        ("   ", "proposal_empty"),
        ("Il faut abc", "proposal_too_short"),  # 11 characters
        ("Il faut " + "x" * 133, "proposal_too_long"),  # 141 characters
        ("Nous devons créer des pistes cyclables", "proposal_missing_prefix"),
        ("Il faut <b>plus</b> de vélos en ville", "proposal_html"),
        ("Il faut plus de vélos &amp; de bus", "proposal_html"),
    ],
)
def test_bad_proposals(world, setup, content, code):
    c = setup["alpha"]["consultation"]
    citizen = world.participant("alpha")
    problem(
        citizen.post(f"/api/v1/consultations/{c.id}/proposals", json={"content": content}),
        422,
        code,
    )
    assert citizen.get(f"/api/v1/consultations/{c.id}/proposals/mine").get_json() == []


def test_length_boundaries_and_big_bodies(world, setup):
    c = setup["alpha"]["consultation"]
    citizen = world.participant("alpha")
    assert len("Il faut abcd") == 12
    ok = citizen.post(f"/api/v1/consultations/{c.id}/proposals", json={"content": "Il faut abcd"})
    assert ok.status_code == 201 and ok.get_json()["status"] == "pending"
    ok140 = citizen.post(
        f"/api/v1/consultations/{c.id}/proposals", json={"content": "Il faut " + "y" * 132}
    )
    assert ok140.status_code == 201
    huge = '{"content": "Il faut ' + "z" * 5_000_000 + '"}'
    problem(
        citizen.post(
            f"/api/v1/consultations/{c.id}/proposals",
            data=huge,
            headers={"Content-Type": "application/json"},
        ),
        413,
        "payload_too_large",
    )
    assert len(citizen.get(f"/api/v1/consultations/{c.id}/proposals/mine").get_json()) == 2


def test_proposing_needs_an_account_and_is_rate_limited(world, setup):
    c = setup["alpha"]["consultation"]
    problem(
        world.client("alpha").post(
            f"/api/v1/consultations/{c.id}/proposals", json={"content": "Il faut des bancs publics"}
        ),
        401,
        "unauthorized",
    )
    citizen = world.participant("alpha")
    for i in range(5):
        assert (
            citizen.post(
                f"/api/v1/consultations/{c.id}/proposals",
                json={"content": f"Il faut une idée numéro {i}"},
            ).status_code
            == 201
        )
    problem(
        citizen.post(
            f"/api/v1/consultations/{c.id}/proposals", json={"content": "Il faut une idée de trop"}
        ),
        429,
        "proposal_rate_limited",
    )


def test_author_sees_pending_others_do_not(world, setup):
    c = setup["alpha"]["consultation"]
    citizen = world.participant("alpha")
    created = citizen.post(
        f"/api/v1/consultations/{c.id}/proposals", json={"content": "Il faut des fontaines à eau"}
    ).get_json()
    assert citizen.get(f"/api/v1/proposals/{created['id']}").get_json()["mine"] is True
    problem(
        world.client("alpha").get(f"/api/v1/proposals/{created['id']}"), 404, "proposal_not_found"
    )
    listed = world.client("alpha").get(f"/api/v1/consultations/{c.id}/proposals").get_json()
    assert created["id"] not in [p["id"] for p in listed["items"]] and listed["total"] == 3


def test_vote_qualify_change_remove(world, setup):
    p = setup["alpha"]["accepted"][0]
    voter = world.client("alpha")
    first = voter.put(
        f"/api/v1/proposals/{p.id}/vote",
        json={"key": "agree", "qualifications": ["likeIt", "doable"]},
    )
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["vote"] == {
        "key": "agree",
        "qualifications": ["likeIt", "doable"],
        "trusted": False,
    }
    assert body["counted_for_scores"] is False and body["card_key_problem"] == "missing"
    again = voter.put(
        f"/api/v1/proposals/{p.id}/vote",
        json={"key": "agree", "qualifications": ["likeIt", "doable"]},
    )
    assert again.get_json()["changed"] is False
    counts = voter.get(f"/api/v1/proposals/{p.id}").get_json()["counts"]
    assert counts["agree"] == 1 and counts["total"] == 1 and counts["qualifications"]["likeIt"] == 1
    changed = voter.put(
        f"/api/v1/proposals/{p.id}/vote", json={"key": "disagree", "qualifications": ["impossible"]}
    )
    assert changed.get_json()["changed"] is True
    counts = voter.get(f"/api/v1/proposals/{p.id}").get_json()["counts"]
    assert (counts["agree"], counts["disagree"], counts["total"]) == (0, 1, 1)
    assert counts["qualifications"]["likeIt"] == 0 and counts["qualifications"]["impossible"] == 1
    assert voter.delete(f"/api/v1/proposals/{p.id}/vote").get_json()["vote"] is None
    assert voter.get(f"/api/v1/proposals/{p.id}").get_json()["counts"]["total"] == 0


def test_bad_votes(world, setup):
    alpha = setup["alpha"]
    voter = world.client("alpha")
    p = alpha["accepted"][0]
    problem(
        voter.put(f"/api/v1/proposals/{p.id}/vote", json={"key": "love"}), 422, "unknown_vote_key"
    )
    problem(
        voter.put(
            f"/api/v1/proposals/{p.id}/vote", json={"key": "agree", "qualifications": ["noWay"]}
        ),
        422,
        "invalid_qualification",
    )
    problem(
        voter.put(f"/api/v1/proposals/{p.id}/vote", json={"key": "agree", "extra": 1}),
        422,
        "unknown_field",
    )
    problem(
        voter.put(f"/api/v1/proposals/{alpha['pending'].id}/vote", json={"key": "agree"}),
        404,
        "proposal_not_found",
    )
    problem(
        voter.put(f"/api/v1/proposals/{alpha['refused'].id}/vote", json={"key": "agree"}),
        404,
        "proposal_not_found",
    )
    # The author sees their pending proposal, and still cannot vote on it.
    admin = world.admin("alpha")
    problem(
        admin.put(f"/api/v1/proposals/{alpha['pending'].id}/vote", json={"key": "agree"}),
        409,
        "proposal_not_votable",
    )
    # Another tenant's proposal and consultation do not exist here.
    beta = setup["beta"]
    problem(
        voter.put(f"/api/v1/proposals/{beta['accepted'][0].id}/vote", json={"key": "agree"}),
        404,
        "proposal_not_found",
    )
    problem(
        voter.get(f"/api/v1/consultations/{beta['consultation'].id}"), 404, "consultation_not_found"
    )
    assert voter.get(f"/api/v1/proposals/{p.id}").get_json()["counts"]["total"] == 0


def test_votes_on_a_closed_consultation_are_refused(world, setup, database):
    from pnyx.consultations import service

    c = setup["alpha"]["consultation"]
    p = setup["alpha"]["accepted"][0]
    with database.scope(tenant_id=world.alpha_id) as s:
        service.update_consultation(
            s,
            c.id,
            {
                "starts_at": factories.NOW - timedelta(days=30),
                "ends_at": factories.NOW - timedelta(days=1),
            },
        )
    problem(
        world.client("alpha").put(f"/api/v1/proposals/{p.id}/vote", json={"key": "agree"}),
        409,
        "consultation_closed",
    )


def test_card_keys_make_votes_count_for_scores(world, setup):
    c = setup["alpha"]["consultation"]
    voter = world.client("alpha")
    cards = voter.get(f"/api/v1/consultations/{c.id}/sequence").get_json()["cards"]
    assert len(cards) == 3
    first, second = cards[0], cards[1]
    ok = voter.put(
        f"/api/v1/proposals/{first['proposal']['id']}/vote",
        json={"key": "neutral", "card_key": first["card_key"]},
    )
    assert ok.get_json()["counted_for_scores"] is True
    # A key for another proposal, a forged key, another session's key: counted raw only.
    wrong = voter.put(
        f"/api/v1/proposals/{second['proposal']['id']}/vote",
        json={"key": "agree", "card_key": first["card_key"]},
    )
    assert wrong.get_json()["card_key_problem"] == "mismatch"
    forged = voter.put(
        f"/api/v1/proposals/{second['proposal']['id']}/vote",
        json={"key": "agree", "card_key": first["card_key"][:-2] + "xx"},
    )
    assert forged.get_json()["card_key_problem"] == "invalid"
    for not_ascii in ("é", first["card_key"][:-2] + "é", "\U0008ca41åï_{\u0007.´"):
        forged = voter.put(
            f"/api/v1/proposals/{second['proposal']['id']}/vote",
            json={"key": "agree", "card_key": not_ascii},
        )
        assert forged.status_code == 200, forged.get_json()
        assert forged.get_json()["card_key_problem"] == "invalid"
    other = world.client("alpha")
    stolen = other.put(
        f"/api/v1/proposals/{second['proposal']['id']}/vote",
        json={"key": "agree", "card_key": second["card_key"]},
    )
    assert stolen.get_json()["card_key_problem"] == "mismatch"
    # Already voted proposals leave the cards.
    remaining = voter.get(f"/api/v1/consultations/{c.id}/sequence").get_json()["cards"]
    assert first["proposal"]["id"] not in [card["proposal"]["id"] for card in remaining]


def test_admin_accepts_then_it_becomes_votable(world, setup):
    alpha = setup["alpha"]
    admin = world.admin("alpha")
    pending = admin.get(
        f"/api/v1/consultations/{alpha['consultation'].id}/proposals/pending"
    ).get_json()
    assert [p["id"] for p in pending] == [alpha["pending"].id]
    problem(
        world.participant("alpha").post(
            f"/api/v1/proposals/{alpha['pending'].id}/decision", json={"decision": "accept"}
        ),
        404,
        "proposal_not_found",
    )
    problem(
        admin.post(
            f"/api/v1/proposals/{alpha['pending'].id}/decision", json={"decision": "refuse"}
        ),
        422,
        "unknown_reason",
    )
    problem(
        admin.post(
            f"/api/v1/proposals/{alpha['pending'].id}/decision",
            json={"decision": "accept", "tag_ids": [999999]},
        ),
        422,
        "unknown_tag",
    )
    accepted = admin.post(
        f"/api/v1/proposals/{alpha['pending'].id}/decision", json={"decision": "accept"}
    )
    assert accepted.get_json()["status"] == "accepted"
    problem(
        admin.post(
            f"/api/v1/proposals/{alpha['pending'].id}/decision",
            json={"decision": "postpone"},
        ),
        409,
        "already_decided",
    )
    vote = world.client("alpha").put(
        f"/api/v1/proposals/{alpha['pending'].id}/vote", json={"key": "agree"}
    )
    assert vote.status_code == 200


def test_search_by_keyword_tag_and_sort(world, setup, database):
    c = setup["alpha"]["consultation"]
    client = world.client("alpha")
    found = client.get(f"/api/v1/consultations/{c.id}/proposals?q=école").get_json()
    assert [p["content"] for p in found["items"]] == ["Il faut rénover les écoles du quartier"]
    assert client.get(f"/api/v1/consultations/{c.id}/proposals?q=santé").get_json()["total"] == 1
    assert client.get(f"/api/v1/consultations/{c.id}/proposals?q=zzzz").get_json()["total"] == 0
    # Sort by votes.
    target = setup["alpha"]["accepted"][2]
    for _ in range(2):
        world.client("alpha").put(f"/api/v1/proposals/{target.id}/vote", json={"key": "agree"})
    top = client.get(f"/api/v1/consultations/{c.id}/proposals?sort=votes").get_json()["items"][0]
    assert top["id"] == target.id
    problem(
        client.get(f"/api/v1/consultations/{c.id}/proposals?sort=best"), 422, "validation_failed"
    )
    page = client.get(f"/api/v1/consultations/{c.id}/proposals?per_page=2&page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    # By tag.
    admin = world.admin("alpha")
    tag = admin.post(
        f"/api/v1/consultations/{c.id}/tags", json={"slug": "sante", "label": "Santé"}
    ).get_json()
    tagged = factories.proposal(
        database,
        world.alpha_id,
        c.id,
        "Il faut plus de médecins",
        author="admin@alpha.test",
        tags=[tag["id"]],
    )
    by_tag = client.get(f"/api/v1/consultations/{c.id}/proposals?tag=sante").get_json()
    assert [p["id"] for p in by_tag["items"]] == [tagged.id]
    assert by_tag["items"][0]["tags"][0]["label"] == "Santé"


def test_signup_with_postal_code_keeps_anonymous_votes(world, setup):
    p = setup["alpha"]["accepted"][0]
    client = world.client("alpha")
    client.put(f"/api/v1/proposals/{p.id}/vote", json={"key": "agree"})
    signed = client.post(
        "/api/v1/participants",
        json={
            "email": "new@alpha.test",
            "password": "a-long-password",
            "first_name": "Anne",
            "birth_year": 1990,
            "postal_code": "35000",
        },
    )
    assert signed.status_code == 201, signed.get_json()
    assert signed.get_json()["participant"]["territory"] == "urban"
    client.token = signed.get_json()["token"]
    assert client.get(f"/api/v1/proposals/{p.id}").get_json()["my_vote"]["key"] == "agree"
    body = problem(
        world.client("alpha").post(
            "/api/v1/participants",
            json={
                "email": "x@alpha.test",
                "password": "a-long-password",
                "first_name": "X",
                "birth_year": 1990,
                "postal_code": "3500",
            },
        ),
        422,
        "invalid_postal_code",
    )
    assert "postal_code" in body["errors"]
    several = problem(
        world.client("alpha").post(
            "/api/v1/participants",
            json={
                "email": "x",
                "password": "a-long-password",
                "first_name": "",
                "birth_year": 1990,
                "postal_code": "1",
            },
        ),
        422,
        "validation_failed",  # several fields wrong: not the first one's code
    )
    assert {"email", "first_name", "postal_code"} <= set(several["errors"])
    problem(
        world.client("alpha").post(
            "/api/v1/participants",
            json={
                "email": "new@alpha.test",
                "password": "a-long-password",
                "first_name": "Y",
                "birth_year": 1990,
                "postal_code": "35000",
            },
        ),
        409,
        "email_taken",
    )


def test_participants_of_a_large_consultation_are_a_shared_count(world, database, monkeypatch):
    """Counting distinct voters reads every vote (a third of a second at 1,000,000): past
    EXACT_PARTICIPANTS_UNDER votes one count serves every process for PARTICIPANTS_FRESH_FOR
    seconds, then one reader counts again; smaller consultations are counted at every read."""
    from pnyx.consultations import service
    from pnyx.kernel.store import MemoryStore

    c = factories.consultation(database, world.alpha_id)
    proposal = factories.proposal(
        database, world.alpha_id, c.id, "Il faut compter", author="a@a.test"
    )
    store, moment = MemoryStore(), [1000.0]

    def read():
        with database.session(tenant_id=world.alpha_id) as s:
            consultation = service.get_consultation(s, c.id)
            return service.progress(s, consultation, store, clock=lambda: moment[0]).participants

    def new_voter():
        voter = world.client("alpha")
        answer = voter.put(f"/api/v1/proposals/{proposal.id}/vote", json={"key": "agree"})
        assert answer.status_code == 200

    assert read() == 1  # the author, counted: a small consultation
    new_voter()
    assert read() == 2
    monkeypatch.setattr(service, "EXACT_PARTICIPANTS_UNDER", 1)  # now "large"
    assert read() == 2  # counted, then shared
    new_voter()
    moment[0] += service.PARTICIPANTS_FRESH_FOR - 1
    assert read() == 2  # the shared count, still fresh
    moment[0] += 2
    assert read() == 3  # stale: this reader counted again
    new_voter()
    moment[0] += service.PARTICIPANTS_FRESH_FOR + 1
    store.set(f"progress:participants:{world.alpha_id}:{c.id}:counting", "1")  # another counts
    assert read() == 3  # meanwhile, the last count
    with database.session(tenant_id=world.alpha_id) as s:
        assert service.count_participants(s, c.id) == 4


def _raw_counts(database, tenant_id, proposal_id, segment):
    from pnyx.consultations import votes

    with database.session(tenant_id=tenant_id) as s:
        return votes.counters(s, [proposal_id], segment)[proposal_id].counts(trusted=False)


def test_an_anonymous_voter_gives_their_segment_and_earlier_votes_count_in_it(
    world, setup, database
):
    from datetime import UTC, datetime

    from pnyx.identity.participants import age_band

    first, second, third = setup["alpha"]["accepted"]
    alpha = world.alpha_id
    problem(world.client("alpha").get("/api/v1/participants/me"), 401, "unauthorized")
    client = world.client("alpha")
    client.put(f"/api/v1/proposals/{first.id}/vote", json={"key": "agree"})
    client.put(f"/api/v1/proposals/{second.id}/vote", json={"key": "neutral"})
    me = client.get("/api/v1/participants/me").get_json()
    assert me["email"] is None and me["territory"] == "unknown" and me["age_band"] == "unknown"

    problem(
        client.patch("/api/v1/participants/me", json={"postal_code": "3500"}),
        422,
        "invalid_postal_code",
    )
    assert _raw_counts(database, alpha, first.id, "territory:unknown")["agree"] == 1

    placed = client.patch("/api/v1/participants/me", json={"postal_code": "35000"})
    assert placed.status_code == 200 and placed.get_json()["territory"] == "urban"
    assert _raw_counts(database, alpha, first.id, "territory:urban")["agree"] == 1
    assert _raw_counts(database, alpha, first.id, "territory:unknown")["agree"] == 0
    assert _raw_counts(database, alpha, second.id, "territory:urban")["neutral"] == 1
    assert _raw_counts(database, alpha, first.id, "age:unknown")["agree"] == 1

    client.patch("/api/v1/participants/me", json={"birth_year": 1990})
    band = age_band(1990, datetime.now(UTC))
    assert _raw_counts(database, alpha, first.id, f"age:{band}")["agree"] == 1
    assert _raw_counts(database, alpha, first.id, "age:unknown")["agree"] == 0
    assert _raw_counts(database, alpha, first.id, "all")["agree"] == 1

    # Known already: a new postal code places the next votes, not the earlier ones.
    moved = client.patch("/api/v1/participants/me", json={"postal_code": "22100"})
    assert moved.get_json()["territory"] != "urban"
    assert _raw_counts(database, alpha, first.id, "territory:urban")["agree"] == 1
    client.put(f"/api/v1/proposals/{third.id}/vote", json={"key": "disagree"})
    new_territory = f"territory:{moved.get_json()['territory']}"
    assert _raw_counts(database, alpha, third.id, new_territory)["disagree"] == 1
    # The other tenant's counters never moved.
    beta_first = setup["beta"]["accepted"][0]
    assert _raw_counts(database, world.beta_id, beta_first.id, "all")["agree"] == 0


def test_signing_up_places_the_anonymous_votes_in_the_new_segment(world, setup, database):
    p = setup["alpha"]["accepted"][0]
    client = world.client("alpha")
    client.put(f"/api/v1/proposals/{p.id}/vote", json={"key": "disagree"})
    signed = client.post(
        "/api/v1/participants",
        json={
            "email": "placed@alpha.test",
            "password": "a-long-password",
            "first_name": "Paul",
            "birth_year": 1970,
            "postal_code": "35000",
        },
    )
    assert signed.status_code == 201, signed.get_json()
    assert _raw_counts(database, world.alpha_id, p.id, "territory:urban")["disagree"] == 1
    assert _raw_counts(database, world.alpha_id, p.id, "territory:unknown")["disagree"] == 0
