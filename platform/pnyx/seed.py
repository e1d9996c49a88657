"""Demo data and tenant provisioning shared by the CLI and the tests."""

from __future__ import annotations

import io
import random
import unicodedata
from datetime import UTC, datetime, timedelta

import click
from sqlalchemy import select

from billing import partners as billing_partners
from pnyx.consultations import proposals as proposals_service
from pnyx.consultations import service as consultations_service
from pnyx.consultations import votes as votes_service
from pnyx.consultations.models import QUALIFICATIONS, Consultation
from pnyx.identity.models import Account, StaffUser
from pnyx.identity.participants import (
    new_participant,
    participant_of_account,
    territory_of,
    validate_profile,
)
from pnyx.identity.service import create_account, create_staff, principal_of
from pnyx.kernel.config import Config
from pnyx.kernel.db import Database
from pnyx.kernel.storage import make_storage
from pnyx.moderation.assignments import assign
from tenants import service as tenants_service
from tenants.models import Tenant
from themes.service import set_theme

from .demo_content import DEMO_CITIZENS, DEMO_CONSULTATIONS, DEMO_PARTNERS

DEMO_PASSWORD = "demo-password-2026"
DEMO_TENANTS = (
    ("bretagne", "region", "Région Bretagne", "bretagne"),
    ("lyon", "city", "Ville de Lyon", "lyon"),
    ("acme", "company", "Acme Industries", "acme"),
    ("climat", "grand_cause", "Grande cause Climat", "climat"),
)


def provision_tenant(
    config: Config,
    *,
    slug: str,
    kind: str,
    name: str,
    locale: str = "fr",
    timezone: str = "Europe/Paris",
    theme_pack: str = "default",
    admin_email: str | None = None,
    admin_password: str | None = None,
    database: Database | None = None,
) -> str:
    """Create a tenant, its theme and first admin in one transaction; return its host."""
    database = database or Database(config.database_url)
    with database.scope() as session:
        tenant = tenants_service.create_tenant(
            session,
            slug=slug,
            kind=kind,
            name=name,
            locale=locale,
            timezone=timezone,
            platform_domain=config.platform_domain,
        )
        set_theme(session, pack=theme_pack)
        if admin_email:
            create_account(session, email=admin_email, password=admin_password, role="tenant_admin")
    return tenants_service.platform_host(tenant.slug, config.platform_domain)


# The demo voters' profiles, spread over territories and ages (the voters cycle through them).
VOTER_PROFILES = (
    (1950, "29270"),
    (1962, "35000"),
    (1971, "22100"),
    (1980, "69003"),
    (1988, "56100"),
    (1995, "44000"),
    (2001, "75011"),
    (2005, "13001"),
    (None, None),
    (1977, "31000"),
    (1999, "59000"),
    (1958, "29200"),
)
DEMO_STAFF = (("operator@pnyx.example", "operator"), ("moderator@pnyx.example", "moderator"))
DEMO_VOTERS = 60  # per consultation: about 30 votes per proposal, enough to settle some zones
# How the demo voters lean on a proposal, in turn: the agree, disagree and neutral chances of
# each of the two camps the voters belong to (every other voter), so that the results page has
# a proposal or more in each zone, some that need more votes, and two opinion groups, divided
# on the controversial proposals.
LEANINGS = (
    ((0.82, 0.08, 0.10),) * 2,  # consensus
    ((0.10, 0.80, 0.10),) * 2,  # rejection
    ((0.86, 0.07, 0.07), (0.07, 0.86, 0.07)),  # controversy: the camps disagree
    ((0.62, 0.23, 0.15),) * 2,  # close to the consensus line: needs more votes
    ((0.22, 0.13, 0.65),) * 2,  # limbo
)


def _citizen(session, email: str, first_name: str, birth_year: int, postal_code: str, now):
    """A demo citizen account with its participant profile (created if missing)."""
    account = session.scalar(select(Account).where(Account.email == email))
    if account is None:
        account = create_account(
            session, email=email, password=DEMO_PASSWORD, first_name=first_name
        )
    participant = participant_of_account(session, account)
    profile = validate_profile(birth_year, postal_code, now)
    participant.birth_year = profile.get("birth_year")
    participant.postal_code = profile.get("postal_code")
    participant.territory = territory_of(participant.postal_code)
    return participant


def seed_consultation(
    session,
    spec: dict,
    citizens: list[tuple[str, str, int, str]],
    *,
    email_domain: str,
    now: datetime | None = None,
    voters: int = DEMO_VOTERS,
) -> Consultation:
    """One open consultation from a demo spec, on the session's tenant (idempotent by slug).

    Its themes, its proposals submitted over the past weeks by the demo citizens and accepted
    with their theme, a few left pending for moderation, and votes from ``voters`` demo voters,
    each proposal leaning its own way (``LEANINGS``), so that progress and results show.
    """
    now = now or datetime.now(UTC)
    existing = session.scalar(select(Consultation).where(Consultation.slug == spec["slug"]))
    if existing is not None:
        return existing
    starts = (now - timedelta(days=30)).replace(hour=9, minute=0, second=0, microsecond=0)
    ends = starts + timedelta(days=90)
    goal_participants, goal_proposals, goal_votes = spec["goals"]
    consultation = consultations_service.create_consultation(
        session,
        {
            "slug": spec["slug"],
            "question": spec["question"],
            "context": spec["context"],
            "starts_at": starts,
            "ends_at": ends,
            "visibility": spec["visibility"],
            "goal_participants": goal_participants,
            "goal_proposals": goal_proposals,
            "goal_votes": goal_votes,
            "steps": [
                {"kind": "consultation", "title": "Propositions et votes", "date": starts.date()},
                {
                    "kind": "results",
                    "title": "Publication des résultats",
                    "date": ends.date() + timedelta(days=21),
                },
                {
                    "kind": "workshops",
                    "title": "Ateliers citoyens",
                    "date": ends.date() + timedelta(days=60),
                },
                {
                    "kind": "action_plan",
                    "title": "Plan d'action",
                    "date": ends.date() + timedelta(days=150),
                },
            ],
        },
    )
    tags = {
        slug: consultations_service.add_tag(session, consultation.id, slug, label).id
        for slug, label in spec["tags"]
    }
    authors = [
        _citizen(session, f"{local}@{email_domain}", first, year, code, now)
        for first, local, year, code in citizens
    ]
    # Submitted one every ~18 hours since the start, so that no author hits the rate limit.
    items = [(text, tag) for text, tag in spec["proposals"]] + [(t, None) for t in spec["pending"]]
    step = (now - starts - timedelta(hours=1)) / max(1, len(items))
    accepted = []
    for i, (text, tag) in enumerate(items):
        moment = starts + step * i + timedelta(minutes=5)
        proposal = proposals_service.submit(
            session, consultation, authors[i % len(authors)], text, moment
        )
        if tag is not None:
            proposals_service.decide(
                session,
                proposal.id,
                "accept",
                by="moderation@pnyx.example",
                now=moment + timedelta(hours=2),
                tag_ids=[tags[tag]],
            )
            accepted.append(proposal.id)
    rng = random.Random(spec["slug"])
    leaning = {pid: LEANINGS[i % len(LEANINGS)] for i, pid in enumerate(accepted)}
    for n in range(voters):
        birth_year, postal_code = VOTER_PROFILES[n % len(VOTER_PROFILES)]
        voter = new_participant(session)
        profile = validate_profile(birth_year, postal_code, now)
        voter.birth_year = profile.get("birth_year")
        voter.postal_code = profile.get("postal_code")
        voter.territory = territory_of(voter.postal_code)
        for proposal_id in rng.sample(accepted, k=min(len(accepted), rng.randint(8, 20))):
            chances = leaning[proposal_id][n % 2]
            key = rng.choices(("agree", "disagree", "neutral"), weights=chances)[0]
            qualifications = [q for q in QUALIFICATIONS[key] if rng.random() < 0.3]
            votes_service.cast(
                session,
                consultation,
                proposal_id,
                voter,
                key,
                qualifications,
                trusted=True,
                now=now,
            )
    session.flush()
    return consultation


DEMO_LOGO_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"  # Debian: fonts-dejavu


def demo_logo(name: str, colour: str) -> bytes:
    """A stand-in logo for a fictional partner: its name in white on a banner of its colour."""
    from PIL import Image, ImageDraw, ImageFont

    try:
        font = ImageFont.truetype(DEMO_LOGO_FONT, 28)
    except OSError:  # no DejaVu here: Pillow's own font, which has no accents
        font = ImageFont.load_default(size=28)
        name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    left, top, right, bottom = font.getbbox(name)
    image = Image.new("RGB", (right - left + 48, 88), colour)
    ImageDraw.Draw(image).text((24 - left, (88 - bottom - top) // 2), name, "white", font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_partners(session, storage, partners: list) -> None:
    """The demo coalition, once: a tenant that has partners already is left as it is."""
    if billing_partners.list_partners(session):
        return
    for position, (name, tier, website, colour) in enumerate(partners):
        partner = billing_partners.create_partner(
            session, {"name": name, "tier": tier, "website_url": website, "position": position}
        )
        billing_partners.set_logo(session, storage, partner.id, demo_logo(name, colour))


def seed_demo(config: Config, port: int = 8000) -> list[str]:
    """Idempotent: creates what is missing of the demo, with a progress bar; a line per tenant,
    one for the operator and one for the moderator, with the address served on ``port``."""
    database = Database(config.database_url)
    storage = make_storage(config)
    lines = []
    with click.progressbar(
        DEMO_TENANTS, label="seeding demo tenants and consultations", show_pos=True
    ) as bar:
        for slug, kind, name, pack in bar:
            with database.session() as session:
                exists = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            if not exists:
                provision_tenant(
                    config,
                    slug=slug,
                    kind=kind,
                    name=name,
                    theme_pack=pack,
                    admin_email=f"admin@{slug}.example",
                    admin_password=DEMO_PASSWORD,
                    database=database,
                )
            with database.session() as session:
                tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
            with database.scope(tenant_id=tenant_id) as session:
                seed_consultation(
                    session,
                    DEMO_CONSULTATIONS[slug],
                    DEMO_CITIZENS[slug],
                    email_domain=f"{slug}.example",
                )
                seed_partners(session, storage, DEMO_PARTNERS[slug])
            host = tenants_service.platform_host(slug, config.platform_domain)
            lines.append(
                f"{name:<24} http://{host}:{port}/   admin: admin@{slug}.example / {DEMO_PASSWORD}"
            )
    staff_ids = {}
    with database.scope() as session:
        for email, role in DEMO_STAFF:
            member = session.scalar(select(StaffUser).where(StaffUser.email == email))
            if member is None:
                member = create_staff(session, email=email, password=DEMO_PASSWORD, role=role)
                session.flush()
            staff_ids[role] = member.id
        operator = principal_of(session.get(StaffUser, staff_ids["operator"]))
        tenant_ids = list(
            session.scalars(
                select(Tenant.id).where(Tenant.slug.in_([slug for slug, *_ in DEMO_TENANTS]))
            )
        )
    # Both work the moderation queues of every demo tenant (assign is idempotent).
    for staff_id in staff_ids.values():
        for tenant_id in tenant_ids:
            with database.scope() as session:
                assign(session, operator, staff_id, tenant_id, datetime.now(UTC))
    lines.append(
        f"{'Operator console':<24} http://{config.operator_host}:{port}/"
        f"   operator@pnyx.example / {DEMO_PASSWORD}"
    )
    lines.append(
        f"{'Moderation desk':<24} http://{config.operator_host}:{port}/moderation/"
        f"   moderator@pnyx.example / {DEMO_PASSWORD}"
    )
    database.dispose()
    return lines
