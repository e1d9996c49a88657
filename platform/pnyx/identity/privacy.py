"""A person's rights over their data (GDPR art. 15, 17, 20): what identity holds, and erasure.

The complete export ("download my data") adds proposals and votes, which live a floor up: it is
``pnyx.consultations.privacy.export_account``, built on :func:`export_identity` here.

Erasure deletes the account row and strips its participant of everything personal (the account
link, year of birth, postal code). The participant row itself stays, anonymous: its proposals
keep an author no one can trace, and its votes keep the segment they were counted in, so results
do not move. With the account gone, every bearer token and cookie session of it stops working.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import NotFound, Unauthorized
from pnyx.kernel.i18n import N_
from tenants.models import Tenant

from .models import Account, Participant
from .service import _check_password

log = logging.getLogger(__name__)

EXPORT_FORMAT = "pnyx.account-export/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _account(session: TenantSession, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(N_("No such account."), code="account_not_found")
    return account


def participant_of(session: TenantSession, account_id: int) -> Participant | None:
    """The account's participant, if it ever voted or proposed (never creates one)."""
    return session.scalar(select(Participant).where(Participant.account_id == account_id))


def export_identity(session: TenantSession, account_id: int) -> dict:
    """What identity holds on this account: the account (no password hash) and its profile."""
    account = _account(session, account_id)
    tenant = session.get(Tenant, account.tenant_id)
    participant = participant_of(session, account_id)
    return {
        "format": EXPORT_FORMAT,
        "tenant": {"slug": tenant.slug, "name": tenant.name} if tenant else None,
        "account": {
            "id": account.id,
            "email": account.email,
            "first_name": account.first_name,
            "role": account.role,
            "created_at": _iso(account.created_at),
            "last_login_at": _iso(account.last_login_at),
        },
        "participant": None
        if participant is None
        else {
            "id": participant.id,
            "birth_year": participant.birth_year,
            "postal_code": participant.postal_code,
            "territory": participant.territory,
            "created_at": _iso(participant.created_at),
        },
    }


def confirm_password(session: TenantSession, account_id: int, password: str) -> None:
    """Ask the password again before an irreversible step; Unauthorized ``invalid_credentials``."""
    account = _account(session, account_id)
    if not _check_password(account.password_hash, password or ""):
        raise Unauthorized(N_("Wrong password."), code="invalid_credentials")


def delete_account(session: TenantSession, account_id: int, now: datetime) -> None:
    """Erase the account; its proposals and votes stay, with nothing left to trace them."""
    account = _account(session, account_id)
    for participant in session.scalars(
        select(Participant).where(Participant.account_id == account_id)
    ):
        participant.account_id = None
        participant.birth_year = None
        participant.postal_code = None
        participant.territory = "unknown"
    session.flush()
    session.delete(account)
    session.flush()
    log.info("account %s of tenant %s erased at %s", account_id, account.tenant_id, now.isoformat())
