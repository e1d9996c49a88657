"""Fixtures: the app on PostgreSQL + Redis when the environment names them, else the embedded
default; every test starts from empty tables and builds (at least) two tenants."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pnyx.kernel.config import Config
from pnyx.kernel.db import Database
from pnyx.kernel.migrate import upgrade

PLATFORM_DOMAIN = "pnyx.test"
OPERATOR_HOST = f"admin.{PLATFORM_DOMAIN}"
PASSWORD = "correct-horse-battery"
REQUIRE_SERVICES = os.environ.get("PNYX_REQUIRE_SERVICES") == "1"


def pytest_configure(config):
    from pnyx.identity.service import use_cheap_hashing

    use_cheap_hashing()


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests skip on the embedded default — unless CI requires the services."""
    on_postgres = (os.environ.get("DATABASE_URL") or "").startswith("postgres")
    on_redis = bool(os.environ.get("REDIS_URL"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            if REQUIRE_SERVICES:
                raise pytest.UsageError(
                    "PNYX_REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL"
                )
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL)"))
        if "redis" in item.keywords and not on_redis:
            if REQUIRE_SERVICES:
                raise pytest.UsageError("PNYX_REQUIRE_SERVICES=1 but REDIS_URL is not set")
            item.add_marker(pytest.mark.skip(reason="needs Redis (REDIS_URL)"))


@pytest.fixture(scope="session")
def config(tmp_path_factory) -> Config:
    var_dir: Path = tmp_path_factory.mktemp("var")
    env = {
        "PNYX_VAR_DIR": str(var_dir),
        "SECRET_KEY": "test-secret-key",
        "PLATFORM_DOMAIN": PLATFORM_DOMAIN,
        "PNYX_TESTING": "1",
        "MAX_CONTENT_LENGTH": str(1_000_000),
    }
    for name in ("DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if env.get("REDIS_URL"):
        env["JOBS_MODE"] = "sync"
    config = Config.from_env(env)
    upgrade(config)
    return config


@pytest.fixture(scope="session")
def owner_engine(config):
    engine = create_engine(config.database_owner_url)
    yield engine
    engine.dispose()


def _truncate(engine, config) -> None:
    from pnyx.schema import metadata

    tables = [t.name for t in metadata.sorted_tables]
    with engine.begin() as conn:
        if config.is_postgres:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture()
def app(config, owner_engine):
    from pnyx.app import create_app

    _truncate(owner_engine, config)
    app = create_app(config)
    if config.redis_url:
        from redis import Redis

        Redis.from_url(config.redis_url).flushdb()
    yield app
    app.extensions["pnyx"].close()


@pytest.fixture()
def database(app) -> Database:
    return app.extensions["pnyx"].db


class HostClient:
    """Flask's test client, on a given Host (Python cannot resolve *.localhost names)."""

    def __init__(self, app, host: str) -> None:
        self.client = app.test_client()
        self.host = host
        self.token: str | None = None

    def open(self, method: str, path: str, **kwargs):
        headers = dict(kwargs.pop("headers", {}) or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.client.open(
            path, method=method, base_url=f"http://{self.host}", headers=headers, **kwargs
        )

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def put(self, path, **kw):
        return self.open("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.open("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)

    def post_form(self, path: str, data: dict, **kw):
        """POST a page form with the session's CSRF token, as the page would have carried it."""
        with self.client.session_transaction(base_url=f"http://{self.host}") as session:
            token = session.setdefault("csrf", "test-csrf-token")
        return self.post(path, data={"csrf_token": token, **data}, **kw)

    def login(self, email: str, password: str = PASSWORD) -> HostClient:
        response = self.post("/api/v1/auth/token", json={"email": email, "password": password})
        assert response.status_code == 201, response.get_json()
        self.token = response.get_json()["token"]
        return self


@dataclass
class World:
    """Two tenants (alpha, beta) with an admin and a participant each, and an operator."""

    app: object
    alpha_id: int
    beta_id: int

    def client(self, slug: str | None = None) -> HostClient:
        host = f"{slug}.{PLATFORM_DOMAIN}" if slug else OPERATOR_HOST
        return HostClient(self.app, host)

    def operator(self) -> HostClient:
        return self.client().login("operator@pnyx.test")

    def admin(self, slug: str) -> HostClient:
        return self.client(slug).login(f"admin@{slug}.test")

    def participant(self, slug: str) -> HostClient:
        return self.client(slug).login(f"citizen@{slug}.test")


@pytest.fixture()
def world(app, config, database) -> World:
    from pnyx.identity.service import create_account, create_staff
    from pnyx.seed import provision_tenant
    from tenants.models import Tenant

    ids = {}
    for slug, kind, pack in (("alpha", "region", "bretagne"), ("beta", "company", "acme")):
        provision_tenant(
            config,
            slug=slug,
            kind=kind,
            name=f"Tenant {slug.title()}",
            theme_pack=pack,
            admin_email=f"admin@{slug}.test",
            admin_password=PASSWORD,
            database=database,
        )
        with database.session() as s:
            ids[slug] = s.query(Tenant.id).filter_by(slug=slug).scalar()
        with database.scope(tenant_id=ids[slug]) as s:
            create_account(s, email=f"citizen@{slug}.test", password=PASSWORD)
    with database.scope() as s:
        create_staff(s, email="operator@pnyx.test", password=PASSWORD, role="operator")
    return World(app, ids["alpha"], ids["beta"])


# --- Mail: a real SMTP server (aiosmtpd) on 127.0.0.1, and an app that sends through it ---


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        message = message_from_bytes(envelope.content, policy=default)
        message.envelope_to = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server():
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture()
def mailbox(smtp_server) -> Mailbox:
    """The SMTP server's messages, emptied for each test."""
    smtp_server.handler.messages.clear()
    return smtp_server.handler


@pytest.fixture()
def smtp_app(config, owner_engine, smtp_server):
    """Like ``app``, with SMTP_URL pointing at the local SMTP server (override ``app`` with it)."""
    from pnyx.app import create_app

    _truncate(owner_engine, config)
    app = create_app(config.but(smtp_url=f"smtp://127.0.0.1:{smtp_server.port}"))
    if config.redis_url:
        from redis import Redis

        Redis.from_url(config.redis_url).flushdb()
    yield app
    app.extensions["pnyx"].close()


# --- S3: a local server speaking its wire format, for boto3 to talk to ---


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def s3_endpoint(monkeypatch):
    """A local HTTP server speaking S3's wire format (moto's server), for boto3 to talk to."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "eu-west-3",
    }.items():
        monkeypatch.setenv(name, value)
    yield f"http://127.0.0.1:{port}"
    server.stop()
