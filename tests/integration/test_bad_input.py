"""Input PostgreSQL cannot take (NUL characters, ids past bigint) is a 4xx, never a 500.

tests/integration/test_api_fuzz.py searches every API operation for more; what it found is
pinned here (or beside the feature it belongs to)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import PASSWORD
from tests.integration.test_api_tenants import problem
from tests.integration.test_citizen_pages import SLUG, csrf, make_consultation, page_login

HUGE = 99999999999999999999  # past 2**63 - 1


@pytest.fixture()
def consultation(world, database):
    return make_consultation(database, world.alpha_id)


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/proposals/{HUGE}",
        f"/api/v1/consultations/{HUGE}",
        f"/api/v1/consultations/{HUGE}/results",
        f"/c/{SLUG}/p/{HUGE}",
    ],
)
def test_ids_past_bigint_name_nothing(world, consultation, path):
    assert world.client("alpha").get(path).status_code == 404


def test_nul_characters_are_refused_wherever_they_come(world, consultation):
    client = world.client("alpha")
    cid = consultation["consultation"]
    problem(client.get(f"/api/v1/consultations/{cid}/proposals?q=%00"), 422, "invalid_characters")
    page = client.get(f"/c/{SLUG}/explorer?q=a%00b")
    assert page.status_code == 422 and "NUL" in page.get_data(as_text=True)
    assert client.get(f"/c/{SLUG}%00").status_code in (404, 422)
    signup = {
        "email": "nul@alpha.test",
        "password": "long-enough-password",
        "first_name": "A\u0000B",
        "birth_year": 1990,
        "postal_code": "35000",
    }
    problem(client.post("/api/v1/participants", json=signup), 422, "invalid_characters")
    form = client.post(
        f"/c/{SLUG}/proposer",
        data={"csrf_token": csrf(client), "content": "Il faut \x00 des trains"},
    )
    assert form.status_code == 422
    # Nothing was written, and ordinary text still goes through.
    problem(client.post("/api/v1/participants", json=signup), 422, "invalid_characters")
    signup["first_name"] = "Anne"
    assert client.post("/api/v1/participants", json=signup).status_code == 201


def test_ids_and_offsets_past_bigint_in_bodies_and_queries_are_refused(world, consultation):
    """Ids in a JSON body or a query string are checked as the ids in paths are: a number past
    2**63 - 1 is refused before any query (the databases raise on it), and nothing changes."""
    admin, operator = world.admin("alpha"), world.operator()
    pending = consultation["pending"]
    decision = {"decision": "accept", "tag_ids": [HUGE]}
    answer = problem(
        admin.post(f"/api/v1/proposals/{pending}/decision", json=decision), 422, "validation_failed"
    )
    assert list(answer["errors"]) == ["tag_ids"]
    desk = {"decision": "accept", "tag_ids": [consultation["tag"], HUGE]}
    problem(
        operator.post(f"/api/v1/moderation/proposals/{pending}/decision", json=desk),
        422,
        "validation_failed",
    )
    for ids in (
        {"staff_id": HUGE, "tenant_id": world.alpha_id},
        {"staff_id": 1, "tenant_id": HUGE},
    ):
        problem(operator.post("/api/v1/moderation/assignments", json=ids), 422, "validation_failed")
        problem(
            operator.delete("/api/v1/moderation/assignments", json=ids), 422, "validation_failed"
        )
    problem(operator.get(f"/api/v1/moderation/next?tenant_id={HUGE}"), 422, "validation_failed")
    problem(operator.get(f"/api/v1/tenants?offset={HUGE}"), 422, "validation_failed")
    # The largest offset both databases take is an empty page, not an error.
    last = operator.get(f"/api/v1/tenants?offset={2**63 - 1}")
    assert last.status_code == 200 and last.get_json()["items"] == []
    assert operator.get("/api/v1/moderation/assignments").get_json() == []
    pending_now = admin.get(
        f"/api/v1/consultations/{consultation['consultation']}/proposals/pending"
    )
    assert [p["id"] for p in pending_now.get_json()] == [pending]


def test_json_that_python_reads_badly_is_refused_at_the_door(world):
    """JSON nested a thousand deep, an integer of 5,000 digits: valid JSON, but Python's
    parser gives up on it with an error of its own. A lone surrogate (``\\ud800``): read into
    text that nothing can store, like a NUL. Each is a 4xx, on every JSON endpoint, and
    nothing is written; an emoji written as a surrogate pair still goes through."""
    client = world.client("alpha")
    signup = {
        "email": "deep@alpha.test",
        "password": "long-enough-password",
        "first_name": "Anne",
        "birth_year": 1990,
        "postal_code": "35000",
    }

    def post(body: bytes):
        return client.post(
            "/api/v1/participants", data=body, headers={"Content-Type": "application/json"}
        )

    deep = problem(post(b"[" * 5_000 + b"]" * 5_000), 400, "invalid_json")
    assert "too deeply" in deep["detail"]
    nested = json.dumps({**signup, "first_name": {"a": {"b": "c"}}})
    problem(post(("[" * 40 + nested + "]" * 40).encode()), 400, "invalid_json")
    long_number = json.dumps(signup).replace("1990", "9" * 5_000).encode()
    assert "too long" in problem(post(long_number), 400, "invalid_json")["detail"]
    for lone in ("\\ud800", "\\udfff", "Anne\\ud83d"):
        body = json.dumps(signup).replace('"Anne"', f'"{lone}"').encode()
        problem(post(body), 422, "invalid_characters")
    operator = world.operator()
    problem(
        operator.post(
            "/api/v1/tenants",
            data=b'{"slug": "gamma", "kind": "city", "name": "\\udc00"}',
            headers={"Content-Type": "application/json"},
        ),
        422,
        "invalid_characters",
    )
    # Nothing was written: the same sign-up, as plain JSON, goes through.
    answer = post(json.dumps(signup).encode())
    assert answer.status_code == 201, answer.get_json()
    # Brackets inside text are only text; an emoji that ensure_ascii writes as a surrogate
    # pair is one character.
    admin = world.admin("alpha")
    charter = admin.put(
        "/api/v1/tenant/charter",
        data=json.dumps({"text": "[[[[" * 20 + " Soyez courtois 😀"}),
        headers={"Content-Type": "application/json"},
    )
    assert "\\ud83d\\ude00" in json.dumps("😀")
    assert charter.status_code == 200, charter.get_json()
    assert charter.get_json()["text"].endswith("courtois 😀")


def test_every_422_has_the_same_title_whoever_refuses_it(world):
    """The schemas (webargs) and the services refuse fields alike: 422, "Invalid input"."""
    admin = world.admin("alpha")
    by_schema = admin.post("/api/v1/partners", json={"name": "A", "tier": "founding", "x": 1})
    by_service = admin.post("/api/v1/partners", json={"name": "", "tier": "founding"})
    for response in (by_schema, by_service):
        assert response.status_code == 422
        assert response.get_json()["title"] == "Invalid input"


# -- page forms: numbers typed as no int() reads them -------------------------------------------
# "²" is a key of its own on French keyboards, and a digit to str.isdigit(): int() refuses it.


def test_superscripts_and_huge_numbers_in_page_forms_are_refused_never_500(world, consultation):
    admin = page_login(world.client("alpha"), "admin@alpha.test")
    partner = admin.post_form(
        "/admin/partners/new", {"name": "Fondation", "tier": "founding", "position": "²"}
    )
    assert partner.status_code == 422 and 'id="position-error"' in partner.get_data(as_text=True)
    for typed in ("²", "9" * 5000):
        goal = admin.post_form(
            "/admin/consultations/new",
            {"question": "Comment ?", "slug": "deux", "goal_votes": typed},
        )
        assert goal.status_code == 422, typed
    for tag_ids in (["²"], [str(HUGE)]):
        decided = admin.post_form(
            f"/admin/consultations/{consultation['consultation']}/proposals/"
            f"{consultation['pending']}/decision",
            {"decision": "accept", "tag_ids": tag_ids},
        )
        assert decided.status_code == 422, tag_ids
    operator = world.client()
    operator.post_form("/login", {"email": "operator@pnyx.test", "password": PASSWORD})
    for tenant_id in ("²", str(HUGE)):
        taken = operator.post_form("/moderation/next", {"tenant_id": tenant_id})
        assert taken.status_code < 500, tenant_id
        assigned = operator.post_form(
            "/moderation/assignments", {"staff_id": "²", "tenant_id": tenant_id}
        )
        assert assigned.status_code == 400, tenant_id


def test_an_error_met_by_a_cards_htmx_request_is_a_card_not_a_page(world, consultation):
    """An expired form (here: no CSRF token) on a vote sent by htmx: htmx swaps the answer into
    the card, so the answer is a card saying what happened, with the way back."""
    client = world.client("alpha")
    client.get(f"/c/{SLUG}/participer")
    answer = client.post(
        f"/c/{SLUG}/p/{consultation['a1']}/vote",
        data={"key": "agree", "stage": "vote", "place": "participer"},
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://alpha.pnyx.test/c/{SLUG}/participer",
        },
    )
    body = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert body.lstrip().startswith('<div id="card"') and "<html" not in body
    assert f'href="/c/{SLUG}/participer"' in body and 'role="alert"' in body
    plain = client.post(f"/c/{SLUG}/p/{consultation['a1']}/vote", data={"key": "agree"})
    assert plain.status_code == 400 and "<html" in plain.get_data(as_text=True)


def test_a_405_says_which_methods_the_address_answers(world, consultation):
    client = world.client("alpha")
    page = client.post(f"/c/{SLUG}")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
    api = client.delete(f"/api/v1/consultations/{consultation['consultation']}")
    assert api.status_code == 405 and "PATCH" in api.headers["Allow"]
    assert api.mimetype == "application/problem+json"
