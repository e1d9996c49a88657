"""Configuration from the environment (12-factor), with an embedded default that needs none.

With no environment at all Pnyx runs on a SQLite file, runs jobs inline, keeps files in a local
folder, bills without Stripe and serves demo tenants on ``*.localhost``. Production sets
``DATABASE_URL`` (PostgreSQL), ``REDIS_URL``, ``S3_BUCKET``, ``STRIPE_API_KEY``, … — the same code
paths run, the kernel picks the backend.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def _default_var_dir() -> Path:
    return Path(os.environ.get("PNYX_VAR_DIR", REPO_ROOT / "var"))


def _persistent_secret(var_dir: Path) -> str:
    """A per-install secret for the embedded default, kept in ``var/secret_key``."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Config:
    """Everything the platform reads from its environment."""

    database_url: str
    # The role that owns the tables and runs migrations. The app itself connects with
    # ``database_url``, a role that owns nothing and cannot bypass row-level security.
    database_owner_url: str
    database_app_role: str | None
    redis_url: str | None
    jobs_mode: str  # "inline" | "sync" (RQ, executed at once on real Redis) | "rq"
    secret_key: str
    platform_domain: str
    var_dir: Path
    storage_root: Path
    s3_bucket: str | None
    s3_endpoint_url: str | None
    s3_public_url: str | None
    stripe_api_key: str | None
    stripe_api_base: str | None
    stripe_webhook_secret: str | None
    smtp_url: str | None
    mail_sender: str
    max_content_length: int
    secure_cookies: bool
    default_locale: str
    default_timezone: str
    host_cache_ttl: float
    store_prefix: str = "pnyx:"
    # Reverse proxies in front of the app (ALB, nginx) whose X-Forwarded-* headers are trusted.
    proxy_hops: int = 0
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql", "postgres"))

    @property
    def embedded(self) -> bool:
        return not self.is_postgres

    @property
    def operator_host(self) -> str:
        return f"admin.{self.platform_domain}"

    def but(self, **changes) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        var_dir = Path(env.get("PNYX_VAR_DIR", _default_var_dir()))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'pnyx.db'}"
        database_url = _sqlalchemy_url(database_url)
        owner_url = _sqlalchemy_url(env.get("DATABASE_OWNER_URL") or database_url)
        redis_url = env.get("REDIS_URL") or None
        jobs_mode = env.get("JOBS_MODE") or ("rq" if redis_url else "inline")
        if jobs_mode not in {"inline", "sync", "rq"}:
            raise ValueError(f"JOBS_MODE must be inline, sync or rq, not {jobs_mode!r}")
        if jobs_mode != "inline" and not redis_url:
            raise ValueError(f"JOBS_MODE={jobs_mode} needs REDIS_URL")
        secret_key = env.get("SECRET_KEY") or _persistent_secret(var_dir)
        return cls(
            database_url=database_url,
            database_owner_url=owner_url,
            database_app_role=env.get("DATABASE_APP_ROLE") or _user_of(database_url, owner_url),
            redis_url=redis_url,
            jobs_mode=jobs_mode,
            secret_key=secret_key,
            platform_domain=(env.get("PLATFORM_DOMAIN") or "localhost").lower(),
            var_dir=var_dir,
            storage_root=Path(env.get("STORAGE_ROOT") or var_dir / "files"),
            s3_bucket=env.get("S3_BUCKET") or None,
            s3_endpoint_url=env.get("S3_ENDPOINT_URL") or None,
            s3_public_url=env.get("S3_PUBLIC_URL") or None,
            stripe_api_key=env.get("STRIPE_API_KEY") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            smtp_url=env.get("SMTP_URL") or None,
            mail_sender=env.get("MAIL_SENDER") or "Pnyx <no-reply@pnyx.localhost>",
            max_content_length=int(env.get("MAX_CONTENT_LENGTH") or 1_000_000),
            secure_cookies=_flag(env.get("SECURE_COOKIES")),
            default_locale=env.get("DEFAULT_LOCALE") or "fr",
            default_timezone=env.get("DEFAULT_TIMEZONE") or "Europe/Paris",
            host_cache_ttl=float(env.get("HOST_CACHE_TTL") or 30),
            store_prefix=env.get("REDIS_PREFIX") or "pnyx:",
            proxy_hops=int(env.get("PROXY_HOPS") or 0),
            testing=_flag(env.get("PNYX_TESTING")),
        )


def _sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _user_of(app_url: str, owner_url: str) -> str | None:
    """The app's role name, when the app and the owner connect as different roles."""
    if app_url == owner_url or not app_url.startswith("postgresql"):
        return None
    from sqlalchemy.engine import make_url

    return make_url(app_url).username
