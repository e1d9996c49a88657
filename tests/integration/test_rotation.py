"""Sequences through the real service and store (Redis when REDIS_URL is set)."""

from __future__ import annotations

import threading
import time

import pytest

from pnyx.consultations import cards
from pnyx.rotation.service import POOLS
from tests import factories
from tests.integration.test_api_tenants import problem


@pytest.fixture()
def consultation(world, database):
    POOLS.clear()
    c = factories.consultation(database, world.alpha_id)
    made = [
        factories.proposal(
            database,
            world.alpha_id,
            c.id,
            f"Il faut une proposition numéro {i}",
            author=f"a{i}@alpha.test",
        )
        for i in range(30)
    ]
    return c, made


def sequence(client, consultation_id, **params):
    response = client.get(f"/api/v1/consultations/{consultation_id}/sequence", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def test_a_sequence_has_12_cards_one_per_author(world, consultation):
    c, _ = consultation
    cards_ = sequence(world.client("alpha"), c.id)
    assert len(cards_) == 12
    assert len({card["proposal"]["id"] for card in cards_}) == 12
    assert [card["position"] for card in cards_] == list(range(1, 13))


def test_cards_show_each_proposal_as_the_proposal_api_does(world, consultation):
    """The sequence builds its payload without marshmallow: it must say what CardsSchema says,
    and show each proposal exactly as GET /proposals/<id> (the schema's path) shows it."""
    from pnyx.api.consultations import CardsSchema

    c, _ = consultation
    other = world.client("alpha")
    for card in sequence(other, c.id)[:6]:  # some counts and qualifications to show
        other.put(
            f"/api/v1/proposals/{card['proposal']['id']}/vote",
            json={"key": "agree", "qualifications": ["likeIt"], "card_key": card["card_key"]},
        )
    voter = world.client("alpha")
    response = voter.get(f"/api/v1/consultations/{c.id}/sequence", query_string={"size": 30})
    payload = response.get_json()
    schema = CardsSchema()
    assert schema.dump(schema.load(payload)) == payload
    assert payload["total"] == len(payload["cards"]) > 0
    assert any(card["proposal"]["counts"]["total"] for card in payload["cards"])
    for card in payload["cards"]:
        shown = voter.get(f"/api/v1/proposals/{card['proposal']['id']}").get_json()
        assert card["proposal"] == shown


def test_concurrent_voters_never_get_what_they_voted_on(world, consultation):
    c, _ = consultation
    failures: list[str] = []

    def voter() -> None:
        client = world.client("alpha")
        seen_votes: set[int] = set()
        for _ in range(4):
            for card in sequence(client, c.id, size=6):
                pid = card["proposal"]["id"]
                if pid in seen_votes:
                    failures.append(f"served {pid} again after a vote")
                response = client.put(
                    f"/api/v1/proposals/{pid}/vote",
                    json={"key": "agree", "card_key": card["card_key"]},
                )
                if response.status_code != 200 or not response.get_json()["counted_for_scores"]:
                    failures.append(f"vote {response.status_code} {response.get_json()}")
                seen_votes.add(pid)

    threads = [threading.Thread(target=voter) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_threads_starting_together_build_a_pool_once(world, consultation, database, app):
    """A process's threads all ask for the pool at start: one builds it, the others wait."""
    from pnyx.rotation import service as rotation

    c, _ = consultation
    store = app.extensions["pnyx"].store
    real_load = rotation.load_candidates
    builds: list[int] = []

    def slow_load(session, consultation_id, proposal_ids=None):
        if proposal_ids is None:
            builds.append(consultation_id)
            time.sleep(0.3)  # a build at scale: long enough for every thread to arrive
        return real_load(session, consultation_id, proposal_ids)

    pools, sizes, errors = rotation.Pools(), [], []

    def ask() -> None:
        try:
            with database.scope(tenant_id=world.alpha_id) as session:
                sizes.append(len(pools.pool(session, store, c).candidates))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    from unittest import mock

    with mock.patch.object(rotation, "load_candidates", slow_load):
        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert builds == [c.id]
    assert sizes == [30] * 4


def test_while_a_pool_is_rebuilt_the_old_one_serves(world, consultation, database, app):
    """When the change log is begun anew (a new epoch), one thread rebuilds the pool; the others
    are served the old pool at once instead of waiting seconds for the build."""
    from unittest import mock

    from pnyx.rotation import service as rotation

    c, _ = consultation
    store = app.extensions["pnyx"].store
    pools = rotation.Pools(follow_every=0)
    with database.scope(tenant_id=world.alpha_id) as session:
        old = pools.pool(session, store, c)
    store.set(rotation._log_key(world.alpha_id, c.id) + ":epoch", "a-new-epoch")
    real_load, started, release = rotation.load_candidates, threading.Event(), threading.Event()

    def slow_load(session, consultation_id, proposal_ids=None):
        if proposal_ids is None:
            started.set()
            release.wait(10)  # the rebuild at scale
        return real_load(session, consultation_id, proposal_ids)

    got: dict[str, object] = {}

    def ask(name: str) -> None:
        with database.scope(tenant_id=world.alpha_id) as session:
            got[name] = pools.pool(session, store, c)

    with mock.patch.object(rotation, "load_candidates", slow_load):
        builder = threading.Thread(target=ask, args=("builder",))
        builder.start()
        assert started.wait(10)
        ask("meanwhile")  # in this thread: it must not wait for the build
        assert got["meanwhile"] is old
        release.set()
        builder.join(10)
    assert got["builder"] is not old and got["builder"].epoch == "a-new-epoch"
    with database.scope(tenant_id=world.alpha_id) as session:
        assert pools.pool(session, store, c) is got["builder"]


def test_a_following_pool_never_rebuilds_and_one_left_behind_does(
    world, consultation, database, app, monkeypatch
):
    """The change log keeps its last LOG_KEEP entries: a pool that keeps reading it takes in
    only what changed, however many changes go by; one that fell further behind rebuilds."""
    from pnyx.rotation import service as rotation

    c, made = consultation
    store = app.extensions["pnyx"].store
    monkeypatch.setattr(rotation, "LOG_KEEP", 4)
    builds: list[int] = []
    real_load = rotation.load_candidates

    def counting_load(session, consultation_id, proposal_ids=None):
        if proposal_ids is None:
            builds.append(consultation_id)
        return real_load(session, consultation_id, proposal_ids)

    monkeypatch.setattr(rotation, "load_candidates", counting_load)
    following, behind = rotation.Pools(follow_every=0), rotation.Pools(follow_every=0)
    with database.scope(tenant_id=world.alpha_id) as session:
        start = following.pool(session, store, c).position  # the decisions' entries
        behind.pool(session, store, c)
        assert builds == [c.id, c.id]
        for round_ in range(5):  # 15 changes in all: the log never holds more than 4
            for proposal in made[:3]:
                rotation.note_change(store, world.alpha_id, c.id, proposal.id)
            pool = following.pool(session, store, c)
            assert pool.position == start + 3 * (round_ + 1) and len(pool.candidates) == 30
        assert builds == [c.id, c.id]
        assert behind.pool(session, store, c).position == start + 15
        assert builds == [c.id, c.id, c.id]


def test_a_starting_worker_builds_the_pools_of_open_consultations(
    world, consultation, database, app
):
    """``warm_pools`` (gunicorn's post_worker_init): every tenant's open consultations get their
    pool before the first request, finished ones do not; past its time budget it stops."""
    from datetime import timedelta
    from unittest import mock

    from pnyx.rotation import service as rotation

    c, _ = consultation
    beta = factories.consultation(database, world.beta_id)
    factories.proposal(
        database, world.beta_id, beta.id, "Il faut une proposition de beta", author="b@beta.test"
    )
    over = factories.consultation(
        database,
        world.alpha_id,
        slug="passee",
        starts_at=factories.NOW - timedelta(days=30),
        ends_at=factories.NOW - timedelta(days=1),
    )
    store = app.extensions["pnyx"].store
    assert rotation.warm_pools(database, store, factories.NOW, budget=-1) == 0
    assert rotation.POOLS._pools == {}

    between = mock.Mock()
    assert rotation.warm_pools(database, store, factories.NOW, between=between) == 2
    assert between.call_count == 2
    assert set(rotation.POOLS._pools) == {(world.alpha_id, c.id), (world.beta_id, beta.id)}
    assert (world.alpha_id, over.id) not in rotation.POOLS._pools
    assert len(rotation.POOLS._pools[(world.beta_id, beta.id)].candidates) == 1
    # The first sequence finds its pool built: no build in the request.
    real_load = rotation.load_candidates

    def no_build(session, consultation_id, proposal_ids=None):
        assert proposal_ids is not None, "a pool was built in the request"
        return real_load(session, consultation_id, proposal_ids)

    with mock.patch.object(rotation, "load_candidates", no_build):
        assert len(sequence(world.client("alpha"), c.id)) == 12


def test_refused_after_pooling_is_never_served_and_accepted_enters_at_once(
    world, consultation, database
):
    c, made = consultation
    client = world.client("alpha")
    sequence(client, c.id)  # the pool is built
    admin = world.admin("alpha")
    for p in made[:29]:
        assert (
            admin.post(
                f"/api/v1/proposals/{p.id}/decision",
                json={"decision": "refuse", "reason": "off_topic"},
            ).status_code
            == 200
        )
    served = {card["proposal"]["id"] for card in sequence(world.client("alpha"), c.id)}
    assert served == {made[29].id}
    fresh = factories.proposal(
        database,
        world.alpha_id,
        c.id,
        "Il faut une idée toute neuve",
        author="new@alpha.test",
        status="pending",
    )
    started = time.monotonic()
    admin.post(f"/api/v1/proposals/{fresh.id}/decision", json={"decision": "accept"})
    served = {card["proposal"]["id"] for card in sequence(world.client("alpha"), c.id)}
    assert fresh.id in served and time.monotonic() - started < 5


def test_decisions_made_in_another_process_reach_its_pools_within_their_delay(
    world, consultation, database, monkeypatch
):
    """A process reads the change log at most every FOLLOW_EVERY seconds. A proposal refused
    elsewhere (here: whose signal does not reach this pool) is never served — cards are read only
    if still accepted, and the pool then reads the log and chooses again; one accepted elsewhere
    is served once the delay has passed."""
    from pnyx.rotation import service as rotation

    c, made = consultation
    here, elsewhere = rotation.Pools(follow_every=0.5), rotation.Pools()
    monkeypatch.setattr(rotation, "POOLS", here)
    sequence(world.client("alpha"), c.id)  # this process's pool is built
    admin = world.admin("alpha")
    monkeypatch.setattr(rotation, "POOLS", elsewhere)
    for p in made[:25]:
        admin.post(
            f"/api/v1/proposals/{p.id}/decision", json={"decision": "refuse", "reason": "test"}
        )
    fresh = factories.proposal(
        database,
        world.alpha_id,
        c.id,
        "Il faut une idée venue d'ailleurs",
        author="elsewhere@alpha.test",
        status="pending",
    )
    admin.post(f"/api/v1/proposals/{fresh.id}/decision", json={"decision": "accept"})
    monkeypatch.setattr(rotation, "POOLS", here)
    kept = {p.id for p in made[25:]}
    served = {card["proposal"]["id"] for card in sequence(world.client("alpha"), c.id)}
    assert served - {fresh.id} == kept  # nothing refused, and the five left fill the sequence
    time.sleep(0.6)
    served = {card["proposal"]["id"] for card in sequence(world.client("alpha"), c.id)}
    assert served == kept | {fresh.id}


def test_bad_card_keys_count_raw_only(world, consultation, app):
    c, made = consultation
    voter = world.client("alpha")
    deck = sequence(voter, c.id)
    first, second = deck[0], deck[1]

    def vote(client, card, key):
        response = client.put(
            f"/api/v1/proposals/{card['proposal']['id']}/vote",
            json={"key": "agree", "card_key": key},
        )
        assert response.status_code == 200
        return response.get_json()

    assert vote(voter, first, first["card_key"][:-3] + "abc")["card_key_problem"] == "invalid"
    assert vote(voter, second, first["card_key"])["card_key_problem"] == "mismatch"
    other = world.client("alpha")
    other_deck = sequence(other, c.id)
    assert vote(voter, other_deck[0], other_deck[0]["card_key"])["card_key_problem"] == "mismatch"
    # Expired: this very card's fields, signed two days ago (keys live a day).
    signer = app.extensions["pnyx"].signer
    fields = first["card_key"].split(".")[:4]
    expired = signer.sign_fields(cards.PURPOSE, fields, now=time.time() - 2 * 86400)
    assert vote(voter, first, expired)["card_key_problem"] == "expired"
    # Another tenant's key: valid signature, wrong tenant.
    beta_c = factories.consultation(app.extensions["pnyx"].db, world.beta_id)
    beta_client = world.client("beta")
    factories.proposal(
        app.extensions["pnyx"].db,
        world.beta_id,
        beta_c.id,
        "Il faut une idée beta",
        author="b@beta.test",
    )
    beta_card = sequence(beta_client, beta_c.id)[0]
    assert vote(voter, first, beta_card["card_key"])["card_key_problem"] == "mismatch"
    # Replayed: the vote made with a key is withdrawn, then made again with the same key.
    third = deck[2]
    assert vote(voter, third, third["card_key"])["counted_for_scores"] is True
    assert (
        vote(voter, third, third["card_key"])["counted_for_scores"] is True
    )  # same vote, same card
    voter.delete(f"/api/v1/proposals/{third['proposal']['id']}/vote")
    assert vote(voter, third, third["card_key"])["card_key_problem"] == "replayed"


def test_oversized_sequence_requests(world, consultation):
    c, _ = consultation
    client = world.client("alpha")
    problem(client.get(f"/api/v1/consultations/{c.id}/sequence?size=500"), 422, "sequence_too_long")
    problem(client.get(f"/api/v1/consultations/{c.id}/sequence?size=0"), 422, "sequence_too_long")
    problem(client.get(f"/api/v1/consultations/{c.id}/sequence?size=abc"), 422, "validation_failed")


def test_admin_chooses_the_strategy(world, consultation):
    c, _ = consultation
    admin = world.admin("alpha")
    body = admin.patch(
        f"/api/v1/consultations/{c.id}",
        json={"rotation": {"strategy": "makeorg", "sequence_size": 8}},
    )
    assert body.status_code == 200, body.get_json()
    assert body.get_json()["rotation"]["strategy"] == "makeorg"
    assert len(sequence(world.client("alpha"), c.id)) == 8
    problem(
        admin.patch(f"/api/v1/consultations/{c.id}", json={"rotation": {"strategy": "best"}}),
        422,
        "invalid_rotation",
    )
    problem(
        admin.patch(f"/api/v1/consultations/{c.id}", json={"rotation": {"sequence_size": 99}}),
        422,
        "invalid_rotation",
    )
    # Not a name at all (a list, an object): refused the same, not looked up as one.
    for strategy in (["apt"], {"name": "apt"}):
        body = {"rotation": {"strategy": strategy}}
        answer = problem(
            admin.patch(f"/api/v1/consultations/{c.id}", json=body), 422, "invalid_rotation"
        )
        assert list(answer["errors"]) == ["strategy"]
