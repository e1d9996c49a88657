"""Password reset by e-mail: a signed, one-hour, single-use link.

The token carries the account, its tenant, when it was issued, and a fingerprint of the current
password hash. Setting a new password changes the hash, so a used token no longer verifies:
single use without a table of used tokens. Asking for a reset answers the same whether or not the
e-mail has an account (no enumeration); the link is minted and mailed by a job.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select

from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Unauthorized
from pnyx.kernel.i18n import N_
from pnyx.kernel.jobs import Jobs
from pnyx.kernel.signing import InvalidToken, Signer

from .models import Account
from .service import hash_password, validate_password

RESET_PURPOSE = "password-reset"
RESET_MAX_AGE = 3600  # seconds
RESET_JOB = "pnyx.identity.jobs.send_password_reset"


def password_fingerprint(password_hash: str | None) -> str:
    """Changes whenever the password does; reveals nothing of the hash."""
    return hashlib.sha256(f"pnyx-reset:{password_hash or ''}".encode()).hexdigest()[:32]


def issue_reset_token(signer: Signer, account: Account, now: datetime) -> str:
    return signer.sign(
        RESET_PURPOSE,
        {
            "a": account.id,
            "t": account.tenant_id,
            "f": password_fingerprint(account.password_hash),
            "iat": int(now.timestamp()),
        },
    )


def reset_url(reset_url_base: str, token: str) -> str:
    return reset_url_base.rstrip("/") + "/" + token


def request_reset(session: TenantSession, jobs: Jobs, email: str, *, reset_url_base: str) -> None:
    """Mail a reset link to this e-mail's account on the session's tenant, if there is one.

    Returns nothing either way, so the caller cannot tell whether the account exists. The
    session's transaction ends before the job is enqueued (an inline job opens its own).
    """
    wanted = (email or "").strip().lower()
    account_id = (
        session.scalar(select(Account.id).where(func.lower(Account.email) == wanted))
        if wanted and len(wanted) <= 254
        else None
    )
    tenant_id = session.tenant_id
    session.commit()
    if account_id is not None and tenant_id is not None:
        jobs.enqueue(
            RESET_JOB,
            queue="mail",
            tenant_id=tenant_id,
            account_id=account_id,
            reset_url_base=reset_url_base,
        )


def _invalid(detail: str = N_("This reset link is not valid (any more).")) -> Unauthorized:
    return Unauthorized(detail, code="reset_token_invalid")


def _expired() -> Unauthorized:
    return Unauthorized(
        N_("This reset link has expired: ask for a new one."), code="reset_token_expired"
    )


def check_reset_token(session: TenantSession, signer: Signer, token: str, now: datetime) -> Account:
    """The account a reset link is for, while the link is still good: shown before the form
    (a used or expired link says so instead), checked again when the new password comes.

    Raises Unauthorized ``reset_token_invalid`` / ``reset_token_expired``.
    """
    try:
        claims = signer.verify(RESET_PURPOSE, token or "", max_age=RESET_MAX_AGE)
    except InvalidToken as exc:
        raise (_expired() if exc.reason == "expired" else _invalid()) from exc
    if not isinstance(claims, dict) or not all(
        isinstance(claims.get(k), int) for k in ("a", "t", "iat")
    ):
        raise _invalid()
    age = now.timestamp() - claims["iat"]
    if age > RESET_MAX_AGE:
        raise _expired()
    if claims["t"] != session.tenant_id or age < -300:
        raise _invalid()
    account = session.get(Account, claims["a"])
    if account is None or claims.get("f") != password_fingerprint(account.password_hash):
        raise _invalid()  # used already: the password it was issued for has changed
    return account


def reset_password(
    session: TenantSession, signer: Signer, token: str, new_password: str, now: datetime
) -> Account:
    """Set a new password with a reset token; every session and token of the account ends.

    Raises Unauthorized ``reset_token_invalid`` / ``reset_token_expired``, Invalid
    ``weak_password``.
    """
    account = check_reset_token(session, signer, token, now)
    account.password_hash = hash_password(validate_password(new_password))
    account.token_version += 1
    session.flush()
    return account
