"""Participants: who votes and proposes, with the profile that places their votes in a segment."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select

from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid
from pnyx.kernel.i18n import N_

from .models import Account, Participant
from .territory import InvalidPostalCode, normalise_postal_code, territory_for


class VoterHead(NamedTuple):
    """What the hot paths read of a participant, as plain values (see ``ConsultationHead``)."""

    id: int
    account_id: int | None
    territory: str | None
    birth_year: int | None


MIN_AGE, MAX_AGE = 13, 120


def age_band(birth_year: int | None, now: datetime) -> str:
    """The age band of a year of birth at ``now`` (age = now.year − birth_year)."""
    if birth_year is None:
        return "unknown"
    age = now.year - birth_year
    if age < 25:
        return "under_25"
    if age < 35:
        return "25_34"
    if age < 50:
        return "35_49"
    if age < 65:
        return "50_64"
    return "65_plus"


def validate_profile(
    birth_year: object, postal_code: object, now: datetime, *, required: bool = False
) -> dict[str, object]:
    """Checked profile fields; raises Invalid with a message per field."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, object] = {}
    if birth_year in (None, ""):
        if required:
            errors["birth_year"] = [N_("Enter your year of birth.")]
    else:
        try:
            year = int(str(birth_year).strip())
        except ValueError:
            year = None
        if year is None or not now.year - MAX_AGE <= year <= now.year - MIN_AGE:
            errors["birth_year"] = [
                N_(
                    "A year between %(low)s and %(high)s.",
                    low=now.year - MAX_AGE,
                    high=now.year - MIN_AGE,
                )
            ]
        else:
            clean["birth_year"] = year
    if postal_code in (None, ""):
        if required:
            errors["postal_code"] = [N_("Enter your postal code.")]
    else:
        try:
            code = normalise_postal_code(str(postal_code))
        except InvalidPostalCode:
            errors["postal_code"] = [N_("A French postal code has 5 digits.")]
        else:
            if territory_for(code) is None:
                errors["postal_code"] = [N_("This postal code does not exist.")]
            else:
                clean["postal_code"] = code
    if errors:
        code_name = "invalid_postal_code" if "postal_code" in errors else "invalid_profile"
        raise Invalid(N_("Some profile fields are invalid."), code=code_name, errors=errors)
    return clean


def territory_of(postal_code: str | None) -> str:
    territory = territory_for(postal_code) if postal_code else None
    return territory.type.value if territory else "unknown"


def new_participant(session: TenantSession) -> Participant:
    participant = Participant()
    session.add(participant)
    session.flush()
    return participant


def participant_of_account(session: TenantSession, account: Account | int) -> Participant:
    """The account's participant, created on first use."""
    account_id = account if isinstance(account, int) else account.id
    participant = session.scalar(select(Participant).where(Participant.account_id == account_id))
    if participant is None:
        participant = Participant(account_id=account_id)
        session.add(participant)
        session.flush()
    return participant


def adopt(session: TenantSession, anonymous: Participant | None, account_id: int) -> Participant:
    """At sign-up, the anonymous participant who voted so far becomes the account's."""
    if anonymous is not None and anonymous.account_id is None:
        existing = session.scalar(select(Participant).where(Participant.account_id == account_id))
        if existing is None:
            anonymous.account_id = account_id
            session.flush()
            return anonymous
    return participant_of_account(session, account_id)


def update_profile(
    session: TenantSession,
    participant: Participant,
    now: datetime,
    *,
    birth_year: object = None,
    postal_code: object = None,
) -> Participant:
    clean = validate_profile(birth_year, postal_code, now)
    if "birth_year" in clean:
        participant.birth_year = clean["birth_year"]
    if "postal_code" in clean:
        participant.postal_code = clean["postal_code"]
        participant.territory = territory_of(participant.postal_code)
    session.flush()
    return participant
