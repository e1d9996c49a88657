"""Lock one: the ORM scopes every read to the session's tenant and stamps every write."""

import pytest
from sqlalchemy import func, select

from pnyx.identity.models import Account
from pnyx.kernel.db import CrossTenantWrite


def emails(session):
    return sorted(session.scalars(select(Account.email)))


def test_a_session_sees_only_its_tenant(world, database):
    with database.session(tenant_id=world.alpha_id) as s:
        assert emails(s) == ["admin@alpha.test", "citizen@alpha.test"]
        # Even when asking for the other tenant explicitly, or by primary key.
        assert s.scalars(select(Account).where(Account.tenant_id == world.beta_id)).all() == []
    with database.session(tenant_id=world.beta_id) as s:
        beta_ids = list(s.scalars(select(Account.id)))
    with database.session(tenant_id=world.alpha_id) as s:
        assert all(s.get(Account, i) is None for i in beta_ids)
        assert s.scalar(select(func.count()).select_from(Account)) == 2


def test_an_unbound_session_sees_no_tenant_row(world, database):
    with database.session() as s:
        assert emails(s) == []


def test_a_moderator_style_session_sees_its_list_only(world, database):
    with database.session(tenant_ids=[world.alpha_id, world.beta_id]) as s:
        assert len(emails(s)) == 4
    with database.session(tenant_ids=[world.beta_id]) as s:
        assert emails(s) == ["admin@beta.test", "citizen@beta.test"]


def test_new_rows_are_stamped_and_foreign_rows_refused(world, database):
    with database.scope(tenant_id=world.alpha_id) as s:
        s.add(Account(email="new@alpha.test", password_hash=None))
    with database.session(tenant_id=world.alpha_id) as s:
        row = s.scalar(select(Account).where(Account.email == "new@alpha.test"))
        assert row.tenant_id == world.alpha_id
    with pytest.raises(CrossTenantWrite), database.scope(tenant_id=world.alpha_id) as s:
        s.add(Account(email="x@beta.test", tenant_id=world.beta_id))
    with pytest.raises(CrossTenantWrite), database.scope() as s:
        s.add(Account(email="nobody@x.test"))


def test_bulk_updates_and_deletes_are_scoped(world, database):
    from sqlalchemy import delete, update

    with database.scope(tenant_id=world.alpha_id) as s:
        s.execute(update(Account).values(first_name="Alpha"))
        s.execute(delete(Account).where(Account.email.like("citizen@%")))
    with database.session(tenant_id=world.beta_id) as s:
        rows = s.scalars(select(Account)).all()
        assert len(rows) == 2 and all(r.first_name is None for r in rows)
