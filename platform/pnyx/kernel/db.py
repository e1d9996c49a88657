"""Database: the engine, tenant-bound sessions, and the two locks that keep tenants apart.

Lock one (every backend): a session is opened for one tenant (or, for the moderation desk, a
list of tenants). A ``do_orm_execute`` listener adds ``tenant_id`` criteria to every ORM
statement touching a :class:`TenantScoped` model, and a ``before_flush`` listener stamps
``tenant_id`` on new rows and refuses rows of a tenant the session may not write. A session bound
to no tenant sees no tenant-owned row at all.

Lock two (PostgreSQL): row-level security on every table with a ``tenant_id`` column, forced on
the owner too, with a policy on ``current_setting('app.tenant_id')`` /
``current_setting('app.tenant_ids')``. An ``after_begin`` listener sets both per transaction
(``set_config(..., true)``), so a pooled connection never carries a tenant into the next request;
a session of platform staff also sets ``app.staff_id``, which a policy may use to let staff read
their own rows (a moderator's assignments) before the tenant list is known.
The app connects as a role that owns no table and cannot bypass RLS.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    create_engine,
    event,
    exc,
    inspect,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The largest id (or count) either database takes: PostgreSQL's bigint, SQLite's INTEGER. A
# larger number from a request names no row, and must be refused before any query: the
# databases raise on it instead of finding nothing.
ID_MAX = 2**63 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timestamps stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Pnyx stores aware UTC times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        return value if value.tzinfo else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}


class TenantScoped:
    """Mixin of every tenant-owned model: ``tenant_id NOT NULL``, indexed, under RLS."""

    tenant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), index=True, nullable=False
    )


class CrossTenantWrite(RuntimeError):
    """A session tried to write a row of a tenant it is not bound to."""


class TenantSession(Session):
    """A session bound to the tenants it may see (``info['tenant_ids']``)."""

    @property
    def tenant_id(self) -> int | None:
        """The single tenant this session is bound to, if it is bound to exactly one."""
        return self.info.get("tenant_id")

    @property
    def visible_tenants(self) -> tuple[int, ...]:
        return self.info.get("tenant_ids", ())

    def bind_tenant(self, tenant_id: int) -> None:
        """Scope this session to one tenant from now on, inside the open transaction too.

        For the operator's and the workers' code paths that create a tenant or move from one
        tenant to the next: they always work inside one tenant at a time.
        """
        self.bind_tenants((tenant_id,))

    def bind_tenants(self, tenant_ids: Sequence[int]) -> None:
        """Scope this session to a list of tenants from now on, inside the open transaction too
        (the moderation desk, once it has read the moderator's assignments)."""
        visible = tuple(int(t) for t in tenant_ids)
        self.info["tenant_id"] = visible[0] if len(visible) == 1 else None
        self.info["tenant_ids"] = visible
        if self.in_transaction():
            _set_rls_settings(self, None, self.connection())

    def use_generic_plans(self) -> None:
        """Plan this session's statements once per connection (PostgreSQL's generic plans), from
        its next transaction on: for the hot paths (a vote, a sequence), whose few statements
        are prepared on each connection. Left to itself, PostgreSQL plans them again at every
        execution (with row-level security their generic plans look dearer than they are); the
        planning then costs more than the execution. Not for reports and searches, whose plans
        depend on the values."""
        self.info["generic_plans"] = True

    @property
    def staff_id(self) -> int | None:
        return self.info.get("staff_id")

    def bind_staff(self, staff_id: int | None) -> None:
        """Name the platform staff member working through this session, inside the open
        transaction too: on PostgreSQL ``app.staff_id`` is set per transaction, so that a policy
        may let staff read their own rows before any tenant is known (a moderator's
        assignments). It widens no tenant scope by itself."""
        self.info["staff_id"] = int(staff_id) if staff_id is not None else None
        if self.in_transaction():
            _set_rls_settings(self, None, self.connection())


def _scope_to_tenants(execute_state) -> None:
    if not (execute_state.is_select or execute_state.is_update or execute_state.is_delete):
        return
    if execute_state.execution_options.get("_pnyx_scoped"):
        return
    visible = execute_state.session.visible_tenants
    if len(visible) == 1:
        only = visible[0]
        criteria = with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id == only, include_aliases=True
        )
    elif visible:
        criteria = with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id.in_(visible), include_aliases=True
        )
    else:
        # Bound to no tenant: no tenant-owned row exists for this session.
        criteria = with_loader_criteria(
            TenantScoped, lambda cls: cls.tenant_id.is_(None), include_aliases=True
        )
    execute_state.statement = execute_state.statement.options(criteria).execution_options(
        _pnyx_scoped=True
    )


def _stamp_tenant(session: TenantSession, flush_context, instances) -> None:
    visible = session.visible_tenants
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if session.tenant_id is None:
                raise CrossTenantWrite(
                    f"new {type(obj).__name__} without tenant_id in a session bound to {visible}"
                )
            obj.tenant_id = session.tenant_id
        elif obj.tenant_id not in visible:
            raise CrossTenantWrite(
                f"{type(obj).__name__} of tenant {obj.tenant_id} outside {visible}"
            )
    for obj in session.dirty:
        if isinstance(obj, TenantScoped):
            history = inspect(obj).attrs.tenant_id.history
            if history.deleted and history.deleted[0] is not None:
                raise CrossTenantWrite(f"{type(obj).__name__}: tenant_id cannot change")


def _set_rls_settings(session: TenantSession, transaction, connection) -> None:
    if connection.dialect.name != "postgresql":
        return
    visible = session.visible_tenants
    single = str(visible[0]) if len(visible) == 1 else ""
    listed = ",".join(str(int(t)) for t in visible)
    staff = session.staff_id
    staff = "" if staff is None else str(int(staff))
    generic = bool(session.info.get("generic_plans"))
    if staff == "" and _begin_with_settings(connection, single, listed, generic):
        return
    connection.exec_driver_sql(
        "SELECT set_config('app.tenant_id', %s, true), set_config('app.tenant_ids', %s, true), "
        "set_config('app.staff_id', %s, true)" + (_GENERIC_PLANS if generic else ""),
        (single, listed, staff),
    )


_GENERIC_PLANS = ", set_config('plan_cache_mode', 'force_generic_plan', true)"


def _begin_with_settings(connection, single: str, listed: str, generic: bool = False) -> bool:
    """psycopg 3: BEGIN and the two settings in one round trip instead of two; False if not.

    psycopg starts a transaction with its own round trip (``BEGIN``) before the first statement,
    unless the server already reports one open. So when nothing is open yet, send ``BEGIN;
    SELECT set_config(…)`` as one simple query: psycopg then sees the transaction and sends no
    BEGIN of its own, and COMMIT/ROLLBACK work as usual. The values are integers formatted here
    (``visible_tenants`` holds ints), so inlining them is safe. Anything unusual (another driver,
    autocommit, a connection-level transaction mode, an open transaction) takes the plain path.
    """
    raw = connection.connection.dbapi_connection
    pgconn = getattr(raw, "pgconn", None)
    if (
        pgconn is None
        or getattr(raw, "autocommit", True)
        or getattr(raw, "read_only", None) is not None
        or getattr(raw, "deferrable", None) is not None
        or getattr(raw, "_pipeline", None) is not None
    ):
        return False
    from psycopg import errors, generators, pq

    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    begin = "BEGIN"
    if raw.isolation_level is not None:
        begin += " ISOLATION LEVEL " + raw.isolation_level.name.replace("_", " ")
    if not all(v.isdigit() for v in (single, *listed.split(",")) if v):
        return False
    pgconn.send_query(
        f"{begin}; SELECT set_config('app.tenant_id', '{single}', true), "
        f"set_config('app.tenant_ids', '{listed}', true)"
        f"{_GENERIC_PLANS if generic else ''}".encode()
    )
    for result in raw.wait(generators.execute(pgconn)):
        if result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK):
            raise errors.error_from_result(result, encoding=raw.info.encoding)
    return True


def on_commit(session: Session, callback) -> None:
    """Run ``callback()`` once the session's transaction has committed (dropped on rollback).

    How a service tells other rooms what happened (signals, cache refreshes) without them ever
    seeing work that is later rolled back.
    """
    session.info.setdefault("on_commit", []).append(callback)


def _run_on_commit(session: Session) -> None:
    callbacks = session.info.pop("on_commit", [])
    for callback in callbacks:
        callback()


def _drop_on_commit(session: Session, *args) -> None:
    session.info.pop("on_commit", None)


event.listen(TenantSession, "after_commit", _run_on_commit)
event.listen(TenantSession, "after_soft_rollback", _drop_on_commit)
event.listen(TenantSession, "do_orm_execute", _scope_to_tenants)
event.listen(TenantSession, "before_flush", _stamp_tenant)
event.listen(TenantSession, "after_begin", _set_rls_settings)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let SQLAlchemy issue BEGIN itself (IMMEDIATE: writers queue instead of deadlocking).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    if url.startswith(("postgresql+psycopg:", "postgresql:")):
        # Server-side prepared statements from a statement's second run on a connection (psycopg
        # waits for five by default): the hot paths' few statements are then parsed and planned
        # once per connection instead of at every request.
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("prepare_threshold", 1)
        kwargs["connect_args"] = connect_args
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


PING_IDLE_AFTER = 10.0  # seconds a pooled connection may rest before it is checked out unchecked


def _ping_when_idle(engine: Engine, idle_after: float = PING_IDLE_AFTER) -> None:
    """Check a pooled connection before use only when it rested more than ``idle_after`` s.

    ``pool_pre_ping`` checks every checkout: one more round trip in every request, a tenth of a
    busy request's time. A connection that served a request a moment ago is alive all but
    always; one that rested may have been closed (server restart, idle timeout, failover) and is
    checked: a dead one is replaced before the request sees it. A connection that dies between
    two close requests fails that request, and SQLAlchemy then recycles the whole pool.
    """

    @event.listens_for(engine, "checkin")
    def _rested_from(dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check_if_rested(dbapi_connection, record, proxy) -> None:
        since = record.info.get("checked_in_at")
        if since is None or time.monotonic() - since < idle_after:
            return  # fresh from connect, or busy a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)  # outside any transaction
        except Exception as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise exc.DisconnectionError(f"pooled connection lost while idle: {error}") from error


class Database:
    """The app's engine and its tenant-bound session factory."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._factory = sessionmaker(bind=self.engine, class_=TenantSession, expire_on_commit=False)

    def session(
        self,
        *,
        tenant_id: int | None = None,
        tenant_ids: Sequence[int] | None = None,
        staff_id: int | None = None,
    ) -> TenantSession:
        """A session that sees one tenant, a list of tenants, or (neither) no tenant-owned row;
        ``staff_id`` names the platform staff member behind it (see ``bind_staff``)."""
        if tenant_id is not None and tenant_ids is not None:
            raise ValueError("give tenant_id or tenant_ids, not both")
        visible = (
            (int(tenant_id),) if tenant_id is not None else tuple(int(t) for t in tenant_ids or ())
        )
        info = {"tenant_id": tenant_id, "tenant_ids": visible}
        if staff_id is not None:
            info["staff_id"] = int(staff_id)
        return self._factory(info=info)

    @contextmanager
    def scope(
        self,
        *,
        tenant_id: int | None = None,
        tenant_ids: Sequence[int] | None = None,
        staff_id: int | None = None,
    ) -> Iterator[TenantSession]:
        """A unit of work: commits on success, rolls back on error, always closes."""
        session = self.session(tenant_id=tenant_id, tenant_ids=tenant_ids, staff_id=staff_id)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def tenant_tables(metadata: MetaData = Base.metadata) -> list[str]:
    """Every table with a ``tenant_id`` column: each must be under row-level security."""
    return sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.columns)


# The settings are read in scalar subqueries: PostgreSQL evaluates them once per statement (an
# InitPlan) instead of once per row — bare, a scan of 200,000 votes spends three times as long
# in the policy as in the scan. The settings hold for the whole transaction, so once is exact.
TENANT_POLICY = (
    "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint) "
    "OR tenant_id = ANY ((SELECT string_to_array("
    "NULLIF(current_setting('app.tenant_ids', true), ''), ',')::bigint[])::bigint[])"
)


def rls_statements(table: str, policy: str = TENANT_POLICY) -> list[str]:
    """DDL putting ``table`` under forced row-level security with the tenant policy."""
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"CREATE POLICY tenant_isolation ON {table} USING ({policy}) WITH CHECK ({policy})",
    ]
