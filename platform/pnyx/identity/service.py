"""Accounts, passwords (argon2), and the principals behind sessions and bearer tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from pnyx.kernel.db import TenantSession, utcnow
from pnyx.kernel.errors import Conflict, Invalid, Unauthorized
from pnyx.kernel.i18n import N_
from pnyx.kernel.signing import InvalidToken, Signer

from .models import STAFF_ROLES, TENANT_ROLES, Account, Role, StaffUser

_hasher = PasswordHasher()
# A hash of nothing in particular: verified against when the e-mail is unknown, so that the
# answer takes as long whether or not the account exists.
_DUMMY_HASH = _hasher.hash("pnyx-no-such-account")


def use_cheap_hashing() -> None:
    """Tests only: argon2's cheapest parameters (hashes stay valid argon2id, just fast)."""
    global _hasher, _DUMMY_HASH
    from argon2 import profiles

    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _DUMMY_HASH = _hasher.hash("pnyx-no-such-account")


EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,251}\.[A-Za-z]{2,}$")
TOKEN_MAX_AGE = 30 * 24 * 3600
TOKEN_PURPOSE = "api-token"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a tenant account (``tenant_id`` set) or platform staff (None)."""

    kind: str  # "account" | "staff"
    id: int
    role: str
    tenant_id: int | None
    email: str
    token_version: int

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def has_role(self, *roles: str) -> bool:
        return self.role in roles


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def validate_email(email: str) -> str:
    email = (email or "").strip()
    if not EMAIL.match(email):
        raise Invalid(
            N_("Enter a valid e-mail address."),
            code="invalid_email",
            errors={"email": [N_("Invalid e-mail address.")]},
        )
    local, _, domain = email.rpartition("@")
    return f"{local}@{domain.lower()}"


def validate_password(password: str) -> str:
    if not isinstance(password, str) or not 10 <= len(password) <= 200:
        raise Invalid(
            N_("A password has 10 to 200 characters."),
            code="weak_password",
            errors={"password": [N_("10 to 200 characters.")]},
        )
    return password


def create_account(
    session: TenantSession,
    *,
    email: str,
    password: str | None,
    role: str = Role.participant,
    first_name: str | None = None,
) -> Account:
    """A new account on the session's tenant."""
    if role not in TENANT_ROLES:
        raise Invalid(
            N_("Unknown role %(role)s.", role=repr(role)),
            code="invalid_role",
            errors={"role": [N_("Unknown role.")]},
        )
    email = validate_email(email)
    if session.scalar(
        select(func.count()).select_from(Account).where(func.lower(Account.email) == email.lower())
    ):
        raise Conflict(
            N_("An account with this e-mail exists."),
            code="email_taken",
            errors={"email": [N_("Already registered.")]},
        )
    account = Account(
        email=email,
        password_hash=hash_password(validate_password(password)) if password is not None else None,
        role=str(role),
        first_name=first_name,
    )
    session.add(account)
    session.flush()
    return account


def create_staff(
    session: TenantSession, *, email: str, password: str, role: str, name: str | None = None
) -> StaffUser:
    if role not in STAFF_ROLES:
        raise Invalid(
            N_("Unknown staff role %(role)s.", role=repr(role)),
            code="invalid_role",
            errors={"role": [N_("Unknown role.")]},
        )
    email = validate_email(email)
    if session.scalar(
        select(func.count())
        .select_from(StaffUser)
        .where(func.lower(StaffUser.email) == email.lower())
    ):
        raise Conflict(
            N_("A staff user with this e-mail exists."),
            code="email_taken",
            errors={"email": [N_("Already registered.")]},
        )
    staff = StaffUser(
        email=email,
        password_hash=hash_password(validate_password(password)),
        role=str(role),
        name=name,
    )
    session.add(staff)
    session.flush()
    return staff


def principal_of(user: Account | StaffUser) -> Principal:
    if isinstance(user, StaffUser):
        return Principal("staff", user.id, user.role, None, user.email, user.token_version)
    return Principal("account", user.id, user.role, user.tenant_id, user.email, user.token_version)


def authenticate(
    session: TenantSession, email: str, password: str, *, staff: bool = False
) -> Principal:
    """The principal for these credentials, on the session's tenant (or the platform's staff)."""
    model = StaffUser if staff else Account
    user = session.scalar(
        select(model).where(func.lower(model.email) == (email or "").strip().lower())
    )
    if not _check_password(user.password_hash if user else None, password or ""):
        raise Unauthorized(N_("Wrong e-mail or password."), code="invalid_credentials")
    return record_login(user)


def record_login(user: Account | StaffUser, now: datetime | None = None) -> Principal:
    """The principal of someone who has just logged in (by password, or by signing up): an
    account's ``last_login_at`` is set to ``now``, by default the current time."""
    if isinstance(user, Account):
        user.last_login_at = now or utcnow()
    return principal_of(user)


def load_principal(
    session: TenantSession, kind: str, user_id: int, token_version: int
) -> Principal | None:
    """The principal still behind a session or token, or None if gone or revoked."""
    model = StaffUser if kind == "staff" else Account
    user = session.get(model, user_id)
    if user is None or user.token_version != token_version:
        return None
    return principal_of(user)


def issue_token(signer: Signer, principal: Principal) -> str:
    return signer.sign(
        TOKEN_PURPOSE,
        {
            "k": principal.kind,
            "id": principal.id,
            "t": principal.tenant_id,
            "v": principal.token_version,
        },
    )


def read_token(signer: Signer, token: str) -> dict:
    """The claims of a bearer token; raises Unauthorized with a stable code."""
    try:
        claims = signer.verify(TOKEN_PURPOSE, token, max_age=TOKEN_MAX_AGE)
    except InvalidToken as exc:
        raise Unauthorized(
            N_("The token is %(reason)s.", reason=exc.reason), code=f"token_{exc.reason}"
        ) from exc
    if not isinstance(claims, dict) or claims.get("k") not in {"account", "staff"}:
        raise Unauthorized(N_("The token is invalid."), code="token_invalid")
    return claims


def revoke_tokens(session: TenantSession, principal: Principal) -> None:
    model = StaffUser if principal.is_staff else Account
    user = session.get(model, principal.id)
    if user is not None:
        user.token_version += 1
