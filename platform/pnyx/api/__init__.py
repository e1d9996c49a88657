"""The engine's API: flask-smorest blueprints under /api/v1, OpenAPI 3.1 at /api/openapi.json."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from flask_smorest.spec.plugins import integerconverter2paramschema

from pnyx.kernel.errors import Problem
from pnyx.kernel.i18n import N_
from pnyx.web.errors import problem_from_http, problem_response


class PnyxApi(Api):
    """flask-smorest, answering RFC 9457 problem+json with stable codes."""

    def handle_http_exception(self, error):
        problem = problem_from_http(error)
        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if messages:
            # webargs: {"json": {"field": ["msg"]}} — flatten the location away.
            errors: dict = {}
            for location_errors in messages.values():
                if isinstance(location_errors, dict):
                    errors.update(location_errors)
                else:
                    errors.setdefault("_body", []).extend(location_errors)
            problem.errors = errors
            flat = [
                m for msgs in errors.values() for m in (msgs if isinstance(msgs, list) else [msgs])
            ]
            if any("Invalid JSON" in str(m) for m in flat):
                problem.code = "invalid_json"
                problem.detail = N_("The request body is not valid JSON.")
            elif any(m == "Unknown field." for m in flat):
                problem.code = "unknown_field"
                problem.detail = N_("The request has fields this endpoint does not know.")
            elif problem.status == 422:
                problem.code, problem.detail = "validation_failed", N_("Some fields are invalid.")
        response = problem_response(problem)
        for name, value in error.get_headers():
            if name.lower() == "allow":  # a 405 says which methods the address answers
                response.headers[name] = value
        return response


API_SETTINGS = {
    "API_TITLE": "Pnyx",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "/vendor/swagger-ui-dist/",
}


def init_app(app: Flask) -> PnyxApi:
    from billing.api import blp as partners_blp
    from tenants.api import operator_blp, tenant_blp

    from .account import blp as account_blp
    from .auth import blp as auth_blp
    from .consultations import blp as consultations_blp
    from .moderation import blp as moderation_blp
    from .moderation import charter_blp
    from .participants import blp as participants_blp
    from .proposals import blp as proposals_blp
    from .results import blp as results_blp

    for key, value in API_SETTINGS.items():
        app.config.setdefault(key, value)
    api = PnyxApi(
        app, spec_kwargs={"info": {"description": "Pnyx: citizen consultations, many tenants."}}
    )
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    converter = app.url_map.converters["int"]  # the app's IdConverter: documented as an integer
    api.register_converter(converter, integerconverter2paramschema)
    for blueprint in (
        auth_blp,
        account_blp,
        tenant_blp,
        operator_blp,
        consultations_blp,
        proposals_blp,
        participants_blp,
        results_blp,
        moderation_blp,
        charter_blp,
        partners_blp,
    ):
        api.register_blueprint(blueprint)

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc)

    return api
