"""Each tenant's moderation charter: what its moderators accept and refuse, published on
``/charte`` and edited by the tenant's admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from pnyx.identity.service import Principal
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Forbidden, Invalid
from pnyx.kernel.i18n import N_

from .models import TenantCharter

MAX_LENGTH = 20_000


def charter_of(session: TenantSession) -> TenantCharter | None:
    """The charter of the session's tenant, if it has written one."""
    return session.scalar(select(TenantCharter))


def set_charter(
    session: TenantSession, admin: Principal, text: object, now: datetime
) -> TenantCharter:
    """Write the charter of the session's tenant (its admins only). Plain text, paragraphs
    separated by blank lines; shown escaped."""
    if admin.is_staff or admin.role != "tenant_admin" or admin.tenant_id != session.tenant_id:
        raise Forbidden(N_("Your role does not allow this."), code="forbidden")
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        raise Invalid(
            N_("At most %(n)s characters.", n=MAX_LENGTH),
            code="charter_too_long",
            errors={"text": [N_("At most %(n)s characters.", n=MAX_LENGTH)]},
        )
    charter = charter_of(session)
    if charter is None:
        charter = TenantCharter(text="")
        session.add(charter)
    charter.text = text.replace("\r\n", "\n").strip()
    charter.updated_at, charter.updated_by = now, admin.email
    session.flush()
    return charter
