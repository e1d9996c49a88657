"""Citizens' accounts: sign-up with the profile that places their votes in a segment."""

from __future__ import annotations

from datetime import datetime

from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid
from pnyx.kernel.i18n import N_

from .models import Account, Participant
from .participants import adopt, territory_of, validate_profile
from .service import create_account, record_login, validate_email, validate_password


def signup(
    session: TenantSession,
    *,
    email: object,
    password: object,
    first_name: object,
    birth_year: object,
    postal_code: object,
    now: datetime,
    anonymous: Participant | None = None,
) -> tuple[Account, Participant]:
    """A participant account on the session's tenant; the anonymous voter so far becomes it.

    Signing up logs the person in: the login is recorded at ``now``, as a login by password is.

    Every field is checked before anything is written, and all errors come back at once (one
    message per field), so a form can show each beside its field.
    """
    errors: dict[str, list[str]] = {}
    codes: list[str] = []
    name = str(first_name or "").strip()
    if not 1 <= len(name) <= 100:
        errors["first_name"] = [N_("Enter your first name (up to 100 characters).")]
        codes.append("invalid_first_name")
    for check, value in ((validate_email, email), (validate_password, password)):
        try:
            check(value if isinstance(value, str) else "")
        except Invalid as exc:
            errors.update(exc.errors)
            codes.append(exc.code)
    try:
        profile = validate_profile(birth_year, postal_code, now, required=True)
    except Invalid as exc:
        errors.update(exc.errors)
        codes.append(exc.code)
        profile = {}
    if errors:  # one field wrong: its own code; several: the general one, as elsewhere
        code = codes[0] if len(codes) == 1 else "validation_failed"
        raise Invalid(N_("Some fields are invalid."), code=code, errors=errors)
    account = create_account(session, email=str(email), password=str(password), first_name=name)
    participant = adopt(session, anonymous, account.id)
    participant.birth_year = profile["birth_year"]
    participant.postal_code = profile["postal_code"]
    participant.territory = territory_of(participant.postal_code)
    record_login(account, now)
    session.flush()
    return account, participant
