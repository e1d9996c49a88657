"""The composition root: builds the Flask app and registers every face."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from flask import Flask, g, request
from flask_babel import Babel
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from pnyx.kernel.config import Config
from pnyx.kernel.db import ID_MAX
from pnyx.kernel.runtime import Kernel, set_kernel

HERE = Path(__file__).resolve().parent
LOCALES = ("fr", "en")


def _select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    tenant = g.get("tenant")
    default = tenant.locale if tenant else "fr"
    return request.accept_languages.best_match(LOCALES, default=default) if not tenant else default


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: ids within PostgreSQL's bigint. A larger number names no
    row (404), instead of reaching the database as an out-of-range value (an error there)."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(
        "pnyx",
        template_folder=str(HERE / "web" / "templates"),
        static_folder=str(HERE / "web" / "static"),
        static_url_path="/static",
    )
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_content_length,
        MAX_FORM_MEMORY_SIZE=config.max_content_length,
        # Host-only cookies: no Domain attribute, so a session never reaches another tenant.
        SESSION_COOKIE_NAME="pnyx_session",
        SESSION_COOKIE_DOMAIN=None,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        # The cookie is signed again only when the session changes, not on every answer (a vote
        # or a sequence would otherwise pay for it): 30 days from the last change.
        SESSION_REFRESH_EACH_REQUEST=False,
        JSON_SORT_KEYS=False,
        TESTING=config.testing,
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
        BABEL_DEFAULT_LOCALE="fr",
        BABEL_DEFAULT_TIMEZONE=config.default_timezone,
    )
    if config.proxy_hops:
        # Client address, scheme and host from the trusted proxies (rate limits need the IP).
        hops = config.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    kernel = Kernel(config)
    set_kernel(kernel)
    app.extensions["pnyx"] = kernel
    Babel(app, locale_selector=_select_locale)

    from tenants import web as tenants_web

    from . import api
    from .web import (
        account_pages,
        admin_pages,
        consultation_pages,
        errors,
        forms,
        integrity_pages,
        moderation_pages,
        pages,
        partner_pages,
        security,
    )
    from .web.theme import init_app as init_theme

    tenants_web.init_app(app)
    errors.init_app(app)
    api.init_app(app)
    app.register_blueprint(pages.blp)
    for face in (
        consultation_pages,
        account_pages,
        admin_pages,
        integrity_pages,
        moderation_pages,
        partner_pages,
    ):
        app.register_blueprint(face.blp)
    forms.init_csrf(
        app,
        {
            "pages",
            "consultation",
            "account_pages",
            "admin",
            "integrity_pages",
            "moderation_desk",
            "partner_pages",
        },
    )
    forms.init_filters(app)
    forms.init_languages(app, LOCALES)
    init_theme(app)
    security.init_app(app)
    if not app.debug and not config.testing:
        logging.basicConfig(level=logging.INFO)
    return app
