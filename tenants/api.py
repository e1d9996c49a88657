"""Tenants in the API: the operator's console, and a tenant host describing itself."""

from __future__ import annotations

from dataclasses import asdict

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from pnyx.kernel.db import ID_MAX
from pnyx.web.context import db, kernel, require_operator, require_tenant
from themes.service import set_theme, tokens_for

from . import service
from .models import TenantKind, TenantStatus

operator_blp = Blueprint(
    "tenants", __name__, url_prefix="/api/v1/tenants", description="Tenants (operator's host only)"
)
tenant_blp = Blueprint("tenant", __name__, url_prefix="/api/v1/tenant", description="This tenant")


@operator_blp.before_request
def _operator_host_only():
    """Before any argument is parsed: on a tenant host these routes do not exist."""
    require_operator()


class HostSchema(Schema):
    id = fields.Integer(dump_only=True)
    host = fields.String(required=True, validate=validate.Length(min=1, max=253))
    kind = fields.String(dump_only=True)
    verified = fields.Boolean(dump_only=True)


class TenantSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(required=True, validate=validate.Length(min=2, max=63))
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in TenantKind]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    locale = fields.String(load_default="fr", validate=validate.OneOf(service.LOCALES))
    timezone = fields.String(load_default="Europe/Paris", validate=validate.Length(max=64))
    theme_pack = fields.String(
        load_default="default", load_only=True, validate=validate.Length(max=40)
    )
    status = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    host = fields.Method("platform_host", dump_only=True)

    def platform_host(self, tenant) -> str:
        return service.platform_host(tenant.slug, kernel().config.platform_domain)


class TenantListSchema(Schema):
    items = fields.List(fields.Nested(TenantSchema))
    total = fields.Integer()


class ListArgs(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in TenantStatus]))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=ID_MAX))


class SelfSchema(Schema):
    slug = fields.String()
    name = fields.String()
    kind = fields.String()
    locale = fields.String()
    timezone = fields.String()
    hosts = fields.List(fields.String())
    theme = fields.Dict()


@operator_blp.route("")
class Tenants(MethodView):
    @operator_blp.arguments(ListArgs(), location="query")
    @operator_blp.response(200, TenantListSchema)
    def get(self, args):
        """List tenants."""
        require_operator()
        items, total = service.list_tenants(db(), **args)
        return {"items": items, "total": total}

    @operator_blp.arguments(TenantSchema())
    @operator_blp.response(201, TenantSchema)
    def post(self, data):
        """Create a tenant with its platform subdomain and theme, in one transaction."""
        require_operator()
        session = db()
        pack = data.pop("theme_pack")
        tenant = service.create_tenant(
            session, platform_domain=kernel().config.platform_domain, **data
        )
        set_theme(session, pack=pack)
        session.commit()
        return tenant


@operator_blp.route("/<int:tenant_id>")
class TenantById(MethodView):
    @operator_blp.response(200, TenantSchema)
    def get(self, tenant_id):
        """One tenant."""
        require_operator()
        return service.get_tenant(db(), tenant_id)


def _set_status(tenant_id: int, status: TenantStatus):
    require_operator()
    session = db()
    tenant = service.set_status(session, tenant_id, status)
    session.commit()
    kernel_resolver().clear()
    return tenant


def kernel_resolver() -> service.HostResolver:
    from flask import current_app

    return current_app.extensions["pnyx.hosts"]


@operator_blp.route("/<int:tenant_id>/suspend")
class Suspend(MethodView):
    @operator_blp.response(200, TenantSchema)
    def post(self, tenant_id):
        """Suspend a tenant: its hosts answer 403 until it is reactivated; nothing is deleted."""
        return _set_status(tenant_id, TenantStatus.suspended)


@operator_blp.route("/<int:tenant_id>/reactivate")
class Reactivate(MethodView):
    @operator_blp.response(200, TenantSchema)
    def post(self, tenant_id):
        """Reactivate a suspended tenant."""
        return _set_status(tenant_id, TenantStatus.active)


@operator_blp.route("/<int:tenant_id>/hosts")
class Hosts(MethodView):
    @operator_blp.response(200, HostSchema(many=True))
    def get(self, tenant_id):
        """A tenant's hosts."""
        require_operator()
        service.get_tenant(db(), tenant_id)
        return service.hosts_of(db(), tenant_id)

    @operator_blp.arguments(HostSchema())
    @operator_blp.response(201, HostSchema)
    def post(self, data, tenant_id):
        """Attach a custom domain (unverified until its DNS is checked)."""
        require_operator()
        session = db()
        host = service.add_custom_domain(
            session, tenant_id, data["host"], platform_domain=kernel().config.platform_domain
        )
        session.commit()
        return host


@operator_blp.route("/<int:tenant_id>/hosts/<int:host_id>/verify")
class VerifyHost(MethodView):
    @operator_blp.response(200, HostSchema)
    def post(self, tenant_id, host_id):
        """Mark a custom domain verified once its DNS points at the platform: it starts routing."""
        require_operator()
        session = db()
        host = service.verify_host(session, tenant_id, host_id)
        session.commit()
        kernel_resolver().clear()
        return host


@tenant_blp.route("")
class Self(MethodView):
    @tenant_blp.response(200, SelfSchema)
    def get(self):
        """The tenant of this host: name, kind, locale, hosts and theme."""
        tenant = require_tenant()
        session = db()
        return {
            "slug": tenant.slug,
            "name": tenant.name,
            "kind": tenant.kind,
            "locale": tenant.locale,
            "timezone": tenant.timezone,
            "hosts": [h.host for h in service.hosts_of(session, tenant.id) if h.verified],
            "theme": asdict(tokens_for(session)),
        }
