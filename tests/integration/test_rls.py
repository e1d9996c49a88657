"""Lock two, on PostgreSQL as the app role: row-level security on every tenant table."""

import pytest
from sqlalchemy import create_engine, text

from pnyx.kernel.db import tenant_tables
from pnyx.schema import metadata

pytestmark = pytest.mark.postgres


@pytest.fixture()
def app_engine(config):
    engine = create_engine(config.database_url)
    yield engine
    engine.dispose()


def test_the_app_role_cannot_bypass_rls_and_owns_nothing(app_engine):
    with app_engine.connect() as conn:
        role = conn.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        ).one()
        assert role == (False, False)
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
            )
        ).scalar()
        assert owned == 0


def test_every_table_with_tenant_id_has_forced_rls_and_a_policy(app_engine):
    """The meta-test: read the catalog, not our list, so a forgotten table fails here."""
    with app_engine.connect() as conn:
        tables = conn.execute(
            text(
                "SELECT DISTINCT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "EXISTS (SELECT 1 FROM pg_policies p WHERE p.tablename = c.relname AND p.policyname = 'tenant_isolation') "
                "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE a.attname = 'tenant_id' AND NOT a.attisdropped AND c.relkind IN ('r', 'p') "
                "AND n.nspname = 'public'"
            )
        ).all()
    assert tables, "no table has a tenant_id column?"
    missing = [name for name, rls, forced, policy in tables if not (rls and forced and policy)]
    assert missing == []
    assert sorted(name for name, *_ in tables) == tenant_tables(metadata)


def test_policies_read_their_settings_once_per_statement(app_engine):
    """In scalar subqueries (an InitPlan each), not per row: see ``TENANT_POLICY``."""
    with app_engine.connect() as conn:
        policies = conn.execute(
            text("SELECT tablename, qual FROM pg_policies WHERE policyname = 'tenant_isolation'")
        ).all()
    per_row = [t for t, qual in policies if qual.count("( SELECT") != 2]
    assert policies and per_row == []


def test_raw_select_with_no_tenant_set_returns_no_rows(world, app_engine):
    with app_engine.connect() as conn:
        for table in tenant_tables(metadata):
            if table == "tenant_hosts":
                # Verified hosts are public (routing); unverified ones stay hidden.
                hidden = conn.execute(
                    text("SELECT count(*) FROM tenant_hosts WHERE NOT verified")
                ).scalar()
                assert hidden == 0
                continue
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0, table


def test_raw_select_sees_only_the_tenant_set(world, app_engine):
    with app_engine.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(world.alpha_id)}
        )
        tenants = conn.execute(text("SELECT DISTINCT tenant_id FROM accounts")).scalars().all()
    assert tenants == [world.alpha_id]


def test_the_setting_does_not_leak_to_the_next_transaction(world, app_engine):
    with app_engine.connect() as conn:
        with conn.begin():
            conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(world.alpha_id)}
            )
            assert conn.execute(text("SELECT count(*) FROM accounts")).scalar() == 2
        with conn.begin():
            assert conn.execute(text("SELECT count(*) FROM accounts")).scalar() == 0


def test_rls_refuses_writes_into_another_tenant(world, app_engine):
    from sqlalchemy.exc import ProgrammingError

    with pytest.raises(ProgrammingError, match="row-level security"), app_engine.begin() as conn:
        conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(world.alpha_id)}
        )
        conn.execute(
            text(
                "INSERT INTO accounts (tenant_id, email, role, token_version, created_at) "
                "VALUES (:t, 'intruder@x.test', 'participant', 1, now())"
            ),
            {"t": world.beta_id},
        )


def test_a_session_bound_to_a_tenant_sets_rls_per_transaction(world, database):
    with database.session(tenant_id=world.beta_id) as s:
        rows = s.execute(text("SELECT DISTINCT tenant_id FROM accounts")).scalars().all()
        assert rows == [world.beta_id]
