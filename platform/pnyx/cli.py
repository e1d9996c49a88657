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
@click.option("--strategy", default=None, help="Rotation strategy (default: the platform's).")
@click.option("--proposals", "n_proposals", default=200, show_default=True, type=int)
@click.option("--budget", default=60.0, show_default=True, help="Votes per proposal on average.")
@click.option("--seed", "seeds", multiple=True, type=int, default=(1,), show_default=True)
@click.option(
    "--through-service/--pure",
    default=True,
    show_default=True,
    help="Vote through the real sequence and vote services (a scratch SQLite database unless "
    "DATABASE_URL is set), or in memory with the same strategies.",
)
def simulate(strategy, n_proposals, budget, seeds, through_service) -> None:
    """Simulate a consultation: a synthetic population with known true rates votes through
    rotation; report the zone error against the truth, the vote spread and the votes spent."""
    import os
    import tempfile

    from pnyx.kernel.runtime import Kernel, set_kernel
    from pnyx.rotation import simulate as through
    from pnyx.rotation.simulation import simulate as in_memory
    from pnyx.rotation.strategies import DEFAULT_STRATEGY, STRATEGIES

    strategy = strategy or DEFAULT_STRATEGY
    if strategy not in STRATEGIES:
        raise click.ClickException(f"unknown strategy {strategy!r}: {', '.join(STRATEGIES)}")
    env = dict(os.environ)
    if through_service and not env.get("DATABASE_URL"):
        scratch = tempfile.mkdtemp(prefix="pnyx-sim-")
        env.update(DATABASE_URL=f"sqlite:///{scratch}/sim.db", PNYX_VAR_DIR=scratch)
    config = Config.from_env(env)
    if through_service:
        upgrade(config)
    kernel = Kernel(config) if through_service else None
    if kernel is not None:
        set_kernel(kernel)  # pools follow the change log of this kernel's store
    click.echo(f"strategy {strategy}: {n_proposals} proposals, {budget:g} votes each on average")
    for seed in seeds:
        total = round(n_proposals * budget)
        with click.progressbar(length=total, label=f"seed {seed}", show_pos=True) as bar:
            if through_service:
                report = through.run(
                    kernel.db,
                    kernel.store,
                    kernel.signer,
                    strategy=strategy,
                    n_proposals=n_proposals,
                    budget_per_proposal=budget,
                    seed=seed,
                    on_vote=lambda: bar.update(1),
                )
            else:
                report = in_memory(strategy, n_proposals, budget, seed)
                bar.update(total)
        segments = ", ".join(f"{s} {e:.3f}" for s, e in report.zone_error_by_segment.items())
        click.echo(
            f"seed {seed}: zone error {report.zone_error:.3f} ({segments}); votes spent "
            f"{report.votes_spent} by {report.voters} voters; per proposal min "
            f"{report.votes_min} / median {report.votes_median:g} / max {report.votes_max}; "
            f"floor before 100: {'yes' if report.floor_before_ceiling else 'no'}"
        )


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
    seeded = seed_demo(config, port)
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
