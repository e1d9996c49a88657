"""A tenant's coalition: its partners by tier, their details and their logos.

Tenant admins add, edit, order and remove partners; every consultation home of the tenant shows
them, founding partners first. A logo is stored as a PNG made from the upload
(:func:`pnyx.kernel.images.normalise_image`) under ``public/<tenant_id>/partners/``, named by its
content, so that its address changes with it and can be cached for good.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sqlalchemy import case, select

from pnyx.kernel.db import TenantSession, on_commit
from pnyx.kernel.errors import Invalid, NotFound
from pnyx.kernel.i18n import N_, Message
from pnyx.kernel.images import normalise_image
from pnyx.kernel.storage import Storage

from .models import TIERS, Partner

NAME_MAX = 120
URL_MAX = 300
POSITION_MAX = 9_999
LOGO_BOX = (480, 240)  # pixels: twice the largest size a home shows, for sharp screens
FIELDS = ("name", "tier", "website_url", "position")
TIER_LABELS = {"founding": N_("Founding partners"), "associate": N_("Associate partners")}
# Characters an address never holds as typed: spaces, quotes, angle brackets, controls.
_NOT_IN_ADDRESS = re.compile(r"[\s\"'<>\\^`{|}\x00-\x1f\x7f]")


def _website_error(url: str) -> Message | None:
    """An http(s) address with a host, international ones too (café.example)."""
    if len(url) > URL_MAX:
        return N_("At most %(max)s characters.", max=URL_MAX)
    wrong = N_("A web address starting with https:// or http://, such as https://www.example.org.")
    if _NOT_IN_ADDRESS.search(url):
        return wrong
    try:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host:
            return wrong
        host.encode("idna")
    except (ValueError, UnicodeError):
        return wrong
    return None


def _position(value) -> int | Message:
    wrong = N_("From 0 (first) to 9,999.")  # POSITION_MAX, as the form's hint says it
    if isinstance(value, bool):
        return wrong
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return 0
        if not value.isdecimal():
            return wrong
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= POSITION_MAX:
        return wrong
    return value


def validate(data: dict, *, partial: bool = False) -> dict:
    """The fields of ``data`` checked and cleaned; ``Invalid`` names every bad one."""
    errors: dict[str, list] = {}
    clean: dict = {}
    for field in sorted(set(data) - set(FIELDS)):
        errors[field] = [N_("Unknown field.")]
    if "name" in data or not partial:
        name = " ".join(str(data.get("name") or "").split())
        if not 1 <= len(name) <= NAME_MAX:
            errors["name"] = [N_("1 to %(max)s characters.", max=NAME_MAX)]
        clean["name"] = name
    if "tier" in data or not partial:
        tier = data.get("tier")
        if tier not in TIERS:
            errors["tier"] = [N_("One of %(choices)s.", choices=", ".join(TIERS))]
        clean["tier"] = tier
    if "website_url" in data:
        url = (data.get("website_url") or "").strip() or None
        problem = _website_error(url) if url else None
        if problem:
            errors["website_url"] = [problem]
        clean["website_url"] = url
    if "position" in data:
        position = _position(data.get("position"))
        if isinstance(position, Message):
            errors["position"] = [position]
        clean["position"] = position
    if errors:
        raise Invalid(N_("Some fields are invalid."), errors=errors)
    return clean


def list_partners(session: TenantSession) -> list[Partner]:
    """The session tenant's partners: founding first, then by position and name."""
    tier_rank = case({tier: rank for rank, tier in enumerate(TIERS)}, value=Partner.tier)
    return list(
        session.scalars(
            select(Partner).order_by(tier_rank, Partner.position, Partner.name, Partner.id)
        )
    )


def coalition(session: TenantSession) -> list[tuple[str, list[Partner]]]:
    """The partners grouped by tier, highest tier first; tiers without partners left out."""
    partners = list_partners(session)
    return [
        (tier, members) for tier in TIERS if (members := [p for p in partners if p.tier == tier])
    ]


def get_partner(session: TenantSession, partner_id: int) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound(N_("No such partner."), code="partner_not_found")
    return partner


def create_partner(session: TenantSession, data: dict) -> Partner:
    partner = Partner(**validate(data))
    session.add(partner)
    session.flush()
    return partner


def update_partner(session: TenantSession, partner_id: int, data: dict) -> Partner:
    partner = get_partner(session, partner_id)
    for field, value in validate(data, partial=True).items():
        setattr(partner, field, value)
    session.flush()
    return partner


def delete_partner(session: TenantSession, storage: Storage, partner_id: int) -> None:
    partner = get_partner(session, partner_id)
    _forget_logo(session, storage, partner.logo_key)
    session.delete(partner)
    session.flush()


def set_logo(session: TenantSession, storage: Storage, partner_id: int, data: bytes) -> Partner:
    """Store the upload as the partner's logo (a PNG fitting ``LOGO_BOX``); the previous file
    is removed once the change is committed."""
    partner = get_partner(session, partner_id)
    image = normalise_image(data, box=LOGO_BOX, field="logo")
    key = f"public/{partner.tenant_id}/partners/{partner.id}-{image.digest}.png"
    storage.put(key, image.data, "image/png")
    if partner.logo_key != key:
        _forget_logo(session, storage, partner.logo_key)
        partner.logo_key = key
    session.flush()
    return partner


def remove_logo(session: TenantSession, storage: Storage, partner_id: int) -> Partner:
    partner = get_partner(session, partner_id)
    _forget_logo(session, storage, partner.logo_key)
    partner.logo_key = None
    session.flush()
    return partner


def _forget_logo(session: TenantSession, storage: Storage, key: str | None) -> None:
    if key:
        on_commit(session, lambda: storage.delete(key))


def logo_url(storage: Storage, partner: Partner) -> str | None:
    return storage.url(partner.logo_key) if partner.logo_key else None
