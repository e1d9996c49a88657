"""How a request's database session ends: a safe request answered without error ends with
COMMIT (on PostgreSQL, the connection's prepared statements then survive the request), anything
else with ROLLBACK (what the view did not commit itself is dropped)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from pnyx.identity.models import Participant
from pnyx.identity.participants import new_participant
from pnyx.kernel.errors import Invalid
from pnyx.web.context import db
from tests import factories


@pytest.fixture()
def writing_routes(app):
    """Two GET routes that write a participant without committing: one answers, one fails."""

    def write_and_answer():
        new_participant(db())
        return {"ok": True}

    def write_and_fail():
        new_participant(db())
        raise Invalid("Refused after writing.", code="refused_after_writing")

    app.add_url_rule("/_test/write-and-answer", view_func=write_and_answer)
    app.add_url_rule("/_test/write-and-fail", view_func=write_and_fail)
    return app


def participants(database, tenant_id: int) -> int:
    with database.session(tenant_id=tenant_id) as s:
        return s.scalar(select(func.count()).select_from(Participant))


def test_a_failed_request_drops_what_it_did_not_commit(world, database, writing_routes):
    before = participants(database, world.alpha_id)
    client = world.client("alpha")
    assert client.get("/_test/write-and-fail").status_code == 422
    assert client.post("/_test/write-and-answer").status_code == 405  # not a safe request
    assert participants(database, world.alpha_id) == before
    assert client.get("/_test/write-and-answer").status_code == 200
    assert participants(database, world.alpha_id) == before + 1


@pytest.mark.postgres
def test_prepared_statements_outlive_read_requests(world, database, app):
    """psycopg forgets (and deallocates) a connection's prepared statements at each ROLLBACK:
    reads that ended so planned their statements again at every request."""
    c = factories.consultation(database, world.alpha_id)
    for i in range(3):
        factories.proposal(
            database, world.alpha_id, c.id, f"Il faut une proposition {i}", author=f"a{i}@a.test"
        )
    voter = world.client("alpha")
    for _ in range(3):  # the hot statements are prepared from their second run
        assert voter.get(f"/api/v1/consultations/{c.id}/sequence").status_code == 200
    engine = app.extensions["pnyx"].db.engine
    assert engine.pool.checkedin() == 1  # the requests' one connection, back in the pool
    with engine.connect() as conn:
        prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
    assert prepared >= 2
