"""A tenant's theme tokens → CSS variables for the base template."""

from __future__ import annotations

from sqlalchemy import select

from pnyx.kernel.db import TenantSession
from pnyx.kernel.errors import Invalid
from pnyx.kernel.i18n import N_

from .models import TenantTheme
from .tokens import PACKS, ThemeError, ThemeTokens, check_contrast, load_pack, merge, to_css


def _resolve(pack: str, overrides: dict) -> ThemeTokens:
    if pack not in PACKS:
        raise Invalid(
            N_("Unknown theme pack %(pack)s.", pack=repr(pack)),
            code="unknown_theme_pack",
            errors={"pack": [N_("One of %(choices)s.", choices=", ".join(PACKS))]},
        )
    try:
        return merge(load_pack(pack), overrides or {})
    except ThemeError as exc:
        raise Invalid(str(exc), code="invalid_theme", errors={exc.field: [exc.message]}) from exc


def set_theme(
    session: TenantSession, *, pack: str = "default", overrides: dict | None = None
) -> TenantTheme:
    """Set the session tenant's theme; refuses tokens whose colours fail WCAG AA contrast."""
    tokens = _resolve(pack, overrides or {})
    issues = check_contrast(tokens)
    if issues:
        raise Invalid(
            N_("Some colours do not contrast enough to be read."),
            code="insufficient_contrast",
            errors={f"{i.foreground}/{i.background}": [i.message] for i in issues},
        )
    theme = session.scalar(select(TenantTheme)) or TenantTheme()
    theme.pack, theme.overrides = pack, dict(overrides or {})
    session.add(theme)
    session.flush()
    return theme


def tokens_for(session: TenantSession) -> ThemeTokens:
    """The session tenant's tokens, or the default pack."""
    theme = session.scalar(select(TenantTheme))
    if theme is None:
        return load_pack("default")
    return _resolve(theme.pack, theme.overrides)


def css_for(session: TenantSession) -> str:
    return to_css(tokens_for(session))


def default_css() -> str:
    return to_css(load_pack("default"))
