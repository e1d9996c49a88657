"""Input PostgreSQL cannot take (NUL characters, ids past bigint) is a 4xx, never a 500."""

from __future__ import annotations

import pytest

from tests.integration.test_api_tenants import problem
from tests.integration.test_citizen_pages import SLUG, csrf, make_consultation

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
