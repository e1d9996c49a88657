"""The tenant's theme in every page: CSS variables in the base template."""

from __future__ import annotations

from flask import Flask, g
from flask_babel import get_locale

from themes.service import css_for, default_css

from .context import current_principal, db


def init_app(app: Flask) -> None:
    @app.context_processor
    def _theme():
        tenant = g.get("tenant")
        try:
            css = css_for(db()) if tenant else default_css()
        except Exception:  # a broken theme must never take the error page down with it
            css = default_css()
        try:
            principal = current_principal()
        except Exception:
            principal = None
        return {
            "theme_css": css,
            "locale": str(get_locale() or "fr"),
            "principal": principal,
            "platform_domain": app.extensions["pnyx"].config.platform_domain,
        }
