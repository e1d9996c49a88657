"""The ``pnyx`` command: demo, serve, worker, db upgrade, tenants create, staff create."""

from __future__ import annotations

import sys

import click

from pnyx.kernel.config import Config
from pnyx.kernel.migrate import upgrade


@click.group()
def main() -> None:
    """Pnyx: citizen consultations for many tenants."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Migrate the database (as the owner role) to REVISION."""
    config = Config.from_env()
    upgrade(config, revision)
    click.echo(f"database at {revision}: {_safe_url(config.database_owner_url)}")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.group()
def tenants() -> None:
    """Tenants."""


@tenants.command("create")
@click.argument("slug")
@click.option(
    "--kind", type=click.Choice(["region", "city", "company", "grand_cause"]), required=True
)
@click.option("--name", required=True)
@click.option("--locale", default="fr", show_default=True)
@click.option("--timezone", default="Europe/Paris", show_default=True)
@click.option("--theme", "theme_pack", default="default", show_default=True)
@click.option("--admin-email", help="Create the tenant's first admin with this e-mail.")
@click.option("--admin-password", help="Password of that admin (asked for if omitted).")
def tenants_create(
    slug, kind, name, locale, timezone, theme_pack, admin_email, admin_password
) -> None:
    """Create a tenant with its subdomain, theme and (optionally) first admin."""
    from pnyx.kernel.errors import Problem

    from .seed import provision_tenant

    config = Config.from_env()
    if admin_email and not admin_password:
        admin_password = click.prompt("Admin password", hide_input=True, confirmation_prompt=True)
    try:
        host = provision_tenant(
            config,
            slug=slug,
            kind=kind,
            name=name,
            locale=locale,
            timezone=timezone,
            theme_pack=theme_pack,
            admin_email=admin_email,
            admin_password=admin_password,
        )
    except Problem as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail} {exc.errors or ''}".strip()) from exc
    click.echo(f"created {slug}: http://{host}")


@main.group()
def staff() -> None:
    """Platform staff (operators, moderators)."""


@staff.command("create")
@click.argument("email")
@click.option(
    "--role", type=click.Choice(["operator", "moderator"]), default="operator", show_default=True
)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def staff_create(email: str, role: str, password: str) -> None:
    """Create an operator or a moderator."""
    from pnyx.identity.service import create_staff
    from pnyx.kernel.db import Database
    from pnyx.kernel.errors import Problem

    database = Database(Config.from_env().database_url)
    try:
        with database.scope() as session:
            create_staff(session, email=email, password=password, role=role)
    except Problem as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from exc
    click.echo(f"created {role} {email}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--debug", is_flag=True)
def serve(host: str, port: int, debug: bool) -> None:
    """Serve the platform (development server; production runs gunicorn, see infra/)."""
    from werkzeug.serving import run_simple

    from .app import create_app

    run_simple(host, port, create_app(), threaded=True, use_reloader=debug, use_debugger=debug)


@main.command()
@click.option(
    "--queue", "queues", multiple=True, default=("default", "mail", "reports"), show_default=True
)
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
def worker(queues: tuple[str, ...], burst: bool) -> None:
    """Run an RQ worker (needs REDIS_URL)."""
    from redis import Redis
    from rq import Worker

    from pnyx.kernel.runtime import Kernel, set_kernel

    config = Config.from_env()
    if not config.redis_url:
        raise click.ClickException("REDIS_URL is not set: on the embedded default jobs run inline.")
    set_kernel(Kernel(config))
    Worker(list(queues), connection=Redis.from_url(config.redis_url)).work(burst=burst)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Migrate and seed only.")
def demo(host: str, port: int, no_serve: bool) -> None:
    """Migrate, seed the demo tenants (with progress), and serve on http://<slug>.localhost:8000."""
    from .seed import seed_demo

    config = Config.from_env()
    click.echo("migrating…")
    upgrade(config)
    seeded = seed_demo(config)
    click.echo("")
    click.echo("Demo tenants:")
    for line in seeded:
        click.echo(f"  {line}")
    if no_serve:
        return
    click.echo(
        f"\nserving on http://{host}:{port} — open http://bretagne.localhost:{port}/ (Ctrl-C to stop)"
    )
    sys.stdout.flush()
    serve.callback(host=host, port=port, debug=False)


if __name__ == "__main__":
    main()
