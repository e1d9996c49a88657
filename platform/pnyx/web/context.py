"""Request context shared by the HTTP faces: the request's tenant, session and principal.

Only floor 5 and up import this: services below get their tenant, user and clock as arguments.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import current_app, g, request
from flask import session as cookie_session

from pnyx.identity.service import Principal, load_principal, read_token
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Forbidden, NotFound, Unauthorized
from pnyx.kernel.i18n import N_
from pnyx.kernel.runtime import Kernel
from tenants.service import ResolvedTenant

log = logging.getLogger(__name__)


def now() -> datetime:
    """The request's clock (UTC), passed to the services."""
    return datetime.now(UTC)


def kernel() -> Kernel:
    return current_app.extensions["pnyx"]


def current_tenant() -> ResolvedTenant | None:
    """The tenant of the request's host; None on the operator's host."""
    return g.get("tenant")


def require_tenant() -> ResolvedTenant:
    tenant = current_tenant()
    if tenant is None:
        raise NotFound(N_("Not found on this host."), code="not_found")
    return tenant


def is_operator_host() -> bool:
    return g.get("realm") == "operator"


def db() -> TenantSession:
    """The request's session, bound to the host's tenant (or to none on the operator host)."""
    if "db" not in g:
        tenant = current_tenant()
        g.db = kernel().db.session(tenant_id=tenant.id if tenant else None)
    return g.db


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def note_read_answered(response):
    """After a request: a safe one (GET, HEAD, OPTIONS) answered without error only read, or committed
    what it wrote itself (a new anonymous voter): ``close_db`` may end its transaction with
    COMMIT."""
    if request.method in SAFE_METHODS and response.status_code < 400:
        g.read_answered = True
    return response


def close_db(exc: BaseException | None = None) -> None:
    """End the request's session: a read answered (``note_read_answered``) ends with COMMIT,
    anything else with ROLLBACK (what a view did not commit itself is dropped).

    Why COMMIT for reads, which is the same for a transaction that wrote nothing: psycopg
    forgets every prepared statement of the connection at each ROLLBACK (and deallocates them on
    the server at the next statement), so with reads ending in ROLLBACK the hot paths' statements
    were planned again at nearly every request instead of once per connection.
    """
    session = g.pop("db", None)
    if session is None:
        return
    read_answered = g.pop("read_answered", False)
    try:
        if exc is None and read_answered and session.in_transaction():
            try:
                session.commit()
            except Exception:  # the answer is sent; what was read stays read
                log.warning("could not end a read's transaction with COMMIT", exc_info=True)
                session.rollback()
        elif exc is not None:
            session.rollback()
    finally:
        session.close()


def _claims() -> dict | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(N_("Use 'Authorization: Bearer <token>'."), code="token_invalid")
        return read_token(kernel().signer, token.strip())
    return cookie_session.get("auth")


def current_principal() -> Principal | None:
    """Who is calling, from a bearer token or the session cookie, checked against the host.

    A credential issued on one tenant is worthless on another (Zulip's realm check), and staff
    credentials count only on the operator's host.
    """
    if "principal" in g:
        return g.principal
    claims = _claims()
    principal = None
    if claims:
        tenant = current_tenant()
        kind = claims.get("k")
        realm_ok = (kind == "staff" and tenant is None) or (
            kind == "account" and tenant is not None and claims.get("t") == tenant.id
        )
        if realm_ok:
            principal = load_principal(db(), kind, int(claims["id"]), int(claims["v"]))
        if principal is None and request.headers.get("Authorization"):
            raise Unauthorized(N_("This token is not valid on this host."), code="token_invalid")
    g.principal = principal
    return principal


def require_principal(*roles: str) -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized(N_("Log in first."), code="unauthorized")
    if roles and not principal.has_role(*roles):
        raise Forbidden(N_("Your role does not allow this."), code="forbidden")
    return principal


def require_operator() -> Principal:
    """Operator routes exist only on the operator's host: elsewhere they are a 404."""
    if not is_operator_host():
        raise NotFound(N_("Not found on this host."), code="not_found")
    return require_principal("operator")


def anonymous_voter_id() -> int | None:
    """The participant the session cookie names on this tenant, when the request carries no
    credential (so the participant is that anonymous one); None otherwise.

    Lets a view read that participant together with the rows it loads anyway (one round trip):
    :func:`current_participant` then finds it in the request's session.
    """
    tenant = current_tenant()
    if tenant is None or request.headers.get("Authorization") or cookie_session.get("auth"):
        return None
    anonymous = cookie_session.get("voter")
    if isinstance(anonymous, dict) and anonymous.get("t") == tenant.id:
        return int(anonymous["id"])
    return None


def current_participant(*, create: bool = False):
    """The participant behind this request: the account's, or the anonymous session's.

    An anonymous participant is created on first need (``create=True``, e.g. a first vote) and
    remembered in the host-only session cookie.
    """
    from pnyx.identity.models import Participant
    from pnyx.identity.participants import new_participant, participant_of_account

    if "participant" in g and (g.participant is not None or not create):
        return g.participant
    tenant = require_tenant()
    principal = current_principal()
    participant = None
    if principal is not None and not principal.is_staff:
        participant = participant_of_account(db(), principal.id)
    else:
        anonymous = cookie_session.get("voter")
        if isinstance(anonymous, dict) and anonymous.get("t") == tenant.id:
            participant = db().get(Participant, int(anonymous["id"]))
            if participant is not None and participant.account_id is not None:
                participant = None  # belongs to an account now: log in to use it
        if participant is None and create:
            participant = new_participant(db())
            cookie_session["voter"] = {"t": tenant.id, "id": participant.id}
            cookie_session.permanent = True
    g.participant = participant
    return participant


def log_in(principal: Principal) -> None:
    """Start a cookie session for this principal (pages)."""
    # The sequence in progress survives a sign-up (the anonymous voter becomes the account's);
    # it is bound to its voter, so after logging in as someone else it is simply replaced.
    sequence = cookie_session.get("sequence")
    cookie_session.clear()
    if sequence is not None:
        cookie_session["sequence"] = sequence
    cookie_session["auth"] = {
        "k": principal.kind,
        "id": principal.id,
        "t": principal.tenant_id,
        "v": principal.token_version,
    }
    cookie_session.permanent = True
    g.pop("principal", None)
    g.pop("participant", None)
