"""The tenant's partners in the API: anyone reads the coalition; tenant admins manage it."""

from __future__ import annotations

from flask import g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from pnyx.kernel.errors import Invalid
from pnyx.kernel.i18n import N_
from pnyx.kernel.images import MAX_BYTES, UPLOAD_LIMIT
from pnyx.web.context import db, kernel, require_principal, require_tenant

from . import partners
from .models import TIERS

blp = Blueprint(
    "partners", __name__, url_prefix="/api/v1/partners", description="The tenant's partners"
)


@blp.url_value_preprocessor
def _room_for_a_logo(endpoint, values):
    """A logo may be up to 2 MB, more than the application's limit for other requests."""
    if endpoint == "partners.PartnerLogo":
        request.max_content_length = UPLOAD_LIMIT


@blp.before_request
def _load_partner():
    """Before any argument is parsed or any role checked: another tenant's partner is a 404."""
    require_tenant()  # no partners on the operator's host: 404
    partner_id = (request.view_args or {}).get("partner_id")
    if partner_id is not None:
        g.partner = partners.get_partner(db(), partner_id)


class PartnerSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    tier = fields.String(metadata={"enum": list(TIERS)})
    website_url = fields.String(allow_none=True)
    logo_url = fields.Method("_logo_url", allow_none=True)
    position = fields.Integer()

    def _logo_url(self, partner) -> str | None:
        return partners.logo_url(kernel().storage, partner)


class PartnerWriteSchema(Schema):
    """Checked in depth by the service (``billing.partners.validate``): here only the types."""

    name = fields.String(required=True, metadata={"maxLength": partners.NAME_MAX})
    tier = fields.String(required=True, metadata={"enum": list(TIERS)})
    website_url = fields.String(allow_none=True, metadata={"maxLength": partners.URL_MAX})
    position = fields.Integer(metadata={"minimum": 0, "maximum": partners.POSITION_MAX})


class PartnerPatchSchema(PartnerWriteSchema):
    name = fields.String(metadata={"maxLength": partners.NAME_MAX})
    tier = fields.String(metadata={"enum": list(TIERS)})


class LogoSchema(Schema):
    logo = Upload(metadata={"description": "PNG, JPEG or WebP, at most 2 MB"})


@blp.route("")
class Partners(MethodView):
    @blp.response(200, PartnerSchema(many=True))
    def get(self):
        """The coalition: founding partners first, then associates, each tier in its order."""
        return partners.list_partners(db())

    @blp.arguments(PartnerWriteSchema())
    @blp.response(201, PartnerSchema)
    def post(self, data):
        """Add a partner (tenant admins)."""
        require_principal("tenant_admin")
        partner = partners.create_partner(db(), data)
        db().commit()
        return partner


@blp.route("/<int:partner_id>")
class PartnerById(MethodView):
    @blp.response(200, PartnerSchema)
    def get(self, partner_id):
        """One partner."""
        return g.partner

    @blp.arguments(PartnerPatchSchema())
    @blp.response(200, PartnerSchema)
    def patch(self, data, partner_id):
        """Change a partner's name, tier, website or position (tenant admins)."""
        require_principal("tenant_admin")
        partner = partners.update_partner(db(), partner_id, data)
        db().commit()
        return partner

    @blp.response(204)
    def delete(self, partner_id):
        """Remove a partner and its logo (tenant admins)."""
        require_principal("tenant_admin")
        partners.delete_partner(db(), kernel().storage, partner_id)
        db().commit()


@blp.route("/<int:partner_id>/logo")
class PartnerLogo(MethodView):
    @blp.arguments(LogoSchema(), location="files")
    @blp.response(200, PartnerSchema)
    def put(self, files, partner_id):
        """Upload the partner's logo as a multipart field ``logo`` (tenant admins). It is
        stored as a PNG fitting 480 × 240 pixels."""
        require_principal("tenant_admin")
        upload = files.get("logo")
        if upload is None:
            raise Invalid(
                N_("The image cannot be used."),
                code="invalid_image",
                errors={"logo": [N_("Choose an image file.")]},
            )
        partner = partners.set_logo(db(), kernel().storage, partner_id, upload.read(MAX_BYTES + 1))
        db().commit()
        return partner

    @blp.response(200, PartnerSchema)
    def delete(self, partner_id):
        """Remove the partner's logo (tenant admins); its name is shown instead."""
        require_principal("tenant_admin")
        partner = partners.remove_logo(db(), kernel().storage, partner_id)
        db().commit()
        return partner
