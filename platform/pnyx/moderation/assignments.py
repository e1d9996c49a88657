"""Who works which tenant's queue, and the desk session bound to those tenants.

A moderator's assignments are read before the desk knows which tenants to open: the session
names its staff member (``TenantSession.bind_staff`` → ``app.staff_id``), and the
``own_assignments`` policy shows that member's rows, read-only. The session is then bound to that
list of tenants (ORM criteria + RLS on ``app.tenant_ids``): it sees nothing else.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from pnyx.identity.models import STAFF_ROLES, Role, StaffUser
from pnyx.identity.service import Principal
from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Forbidden, NotFound
from pnyx.kernel.i18n import N_
from tenants.models import Tenant

from .models import ModeratorAssignment

DESK_ROLES = (Role.moderator.value, Role.operator.value)


def require_desk(staff: Principal) -> None:
    if not (staff.is_staff and staff.role in DESK_ROLES):
        raise Forbidden(N_("The moderation desk is for moderators."), code="forbidden")


def require_operator(staff: Principal) -> None:
    if not (staff.is_staff and staff.role == Role.operator):
        raise Forbidden(N_("Operators only."), code="forbidden")


# ----------------------------------------------------------------------------- assignments


_ASSIGNED = ModeratorAssignment.__table__


def assigned_tenant_ids(session: TenantSession, staff_id: int) -> list[int]:
    """The tenants a staff member is assigned to (the session must name that staff member on
    PostgreSQL: the ``own_assignments`` policy shows these rows and no others)."""
    rows = session.execute(
        select(_ASSIGNED.c.tenant_id)
        .where(_ASSIGNED.c.staff_id == staff_id)
        .order_by(_ASSIGNED.c.tenant_id)
    )
    return [int(t) for t in rows.scalars()]


def open_desk(
    session: TenantSession, staff: Principal, *, tenant_id: int | None = None
) -> tuple[int, ...]:
    """Bind the session to the staff member's tenants (or to one of them); returns them.

    A tenant the member is not assigned to is a 404, as if it did not exist.
    """
    require_desk(staff)
    session.bind_staff(staff.id)
    tenant_ids = assigned_tenant_ids(session, staff.id)
    if tenant_id is not None:
        if tenant_id not in tenant_ids:
            raise NotFound(N_("No such tenant."), code="tenant_not_found")
        tenant_ids = [tenant_id]
    session.bind_tenants(tenant_ids)
    return tuple(tenant_ids)


def open_all_tenants(session: TenantSession, operator: Principal) -> tuple[int, ...]:
    """Operators: bind the session to every tenant (the console's overview)."""
    require_operator(operator)
    tenant_ids = tuple(session.scalars(select(Tenant.id).order_by(Tenant.id)))
    session.bind_tenants(tenant_ids)
    return tenant_ids


def _desk_staff(session: TenantSession, staff_id: int) -> StaffUser:
    staff = session.get(StaffUser, staff_id)
    if staff is None or staff.role not in STAFF_ROLES:
        raise NotFound(N_("No such moderator."), code="staff_not_found")
    return staff


def _tenant(session: TenantSession, tenant_id: int) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise NotFound(N_("No such tenant."), code="tenant_not_found")
    return tenant


def assign(
    session: TenantSession, operator: Principal, staff_id: int, tenant_id: int, now: datetime
) -> ModeratorAssignment:
    """Let a staff member work a tenant's queue (idempotent). Binds the session to the tenant."""
    require_operator(operator)
    _desk_staff(session, staff_id)
    _tenant(session, tenant_id)
    session.bind_tenant(tenant_id)
    existing = session.scalar(
        select(ModeratorAssignment).where(ModeratorAssignment.staff_id == staff_id)
    )
    if existing is not None:
        return existing
    assignment = ModeratorAssignment(
        tenant_id=tenant_id, staff_id=staff_id, created_at=now, created_by=operator.email
    )
    session.add(assignment)
    session.flush()
    return assignment


def unassign(session: TenantSession, operator: Principal, staff_id: int, tenant_id: int) -> None:
    """Take a tenant from a staff member's desk (a 404 if there was no such assignment)."""
    require_operator(operator)
    _tenant(session, tenant_id)
    session.bind_tenant(tenant_id)
    gone = session.execute(
        delete(ModeratorAssignment).where(ModeratorAssignment.staff_id == staff_id)
    ).rowcount
    if not gone:
        raise NotFound(N_("No such assignment."), code="assignment_not_found")


def assignments(
    session: TenantSession, operator: Principal
) -> list[tuple[ModeratorAssignment, StaffUser, Tenant]]:
    """Every assignment, with its staff member and tenant (operators)."""
    open_all_tenants(session, operator)
    rows = session.execute(
        select(ModeratorAssignment, StaffUser, Tenant)
        .join(StaffUser, StaffUser.id == ModeratorAssignment.staff_id)
        .join(Tenant, Tenant.id == ModeratorAssignment.tenant_id)
        .order_by(StaffUser.email, Tenant.slug)
    )
    return [tuple(row) for row in rows]


def desk_staff(session: TenantSession) -> list[StaffUser]:
    """Staff members who can work the desk (for the operator's assignment form)."""
    return list(
        session.scalars(
            select(StaffUser).where(StaffUser.role.in_(DESK_ROLES)).order_by(StaffUser.email)
        )
    )
