"""What the citizen and admin pages share: the CSRF token, service messages in the reader's
language, safe redirects, and dates in the tenant's time zone."""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date, get_date_format
from babel.numbers import format_decimal
from flask import Flask, g, request
from flask import session as cookie_session
from flask_babel import get_locale
from flask_babel import gettext as _

from billing import partners
from pnyx.kernel.db import ID_MAX
from pnyx.kernel.errors import Problem
from pnyx.kernel.i18n import Message

from .context import (
    kernel,
    now,  # noqa: F401  (the pages import it from here)
)

CSRF_FIELD = "csrf_token"


class CsrfFailed(Problem):
    status, code, title = 400, "csrf_failed", "Form expired"


def csrf_token() -> str:
    token = cookie_session.get("csrf")
    if not isinstance(token, str):
        token = cookie_session["csrf"] = secrets.token_urlsafe(24)
    return token


def init_csrf(app: Flask, blueprints: set[str]) -> None:
    """A per-session token in a hidden field of every form of these blueprints, checked on POST.

    Cookies are already SameSite=Lax and host-only; the token closes what is left (a form posted
    from a page of the same site, e.g. another tenant sharing the parent domain).
    """

    @app.before_request
    def _check_csrf():
        if request.method != "POST" or request.blueprint not in blueprints:
            return None
        # Whatever the content type: a cross-site form may post text/plain.
        sent = request.form.get(CSRF_FIELD, "")
        expected = cookie_session.get("csrf")
        # As bytes: compare_digest refuses text that is not ASCII (a forged field may be).
        matches = isinstance(expected, str) and secrets.compare_digest(
            sent.encode(), expected.encode()
        )
        if not matches:
            raise CsrfFailed(
                _("This form has expired: go back, reload the page and send it again."),
                title=_("Form expired"),
            )
        return None

    @app.context_processor
    def _csrf():
        return {"csrf_token": csrf_token}


LANGUAGE_NAMES = {"fr": "Français", "en": "English"}  # each in its own language
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600


def init_languages(app: Flask, locales: tuple[str, ...]) -> None:
    """A link to each other language in every page's header (``?lang=``, kept in a cookie)."""

    @app.context_processor
    def _languages():
        def language_links() -> list[tuple[str, str, str]]:
            current = str(get_locale())
            links = []
            for code in locales:
                if code != current:
                    args = request.args.to_dict(flat=False) | {"lang": [code]}
                    query = urlencode(args, doseq=True)
                    links.append((code, LANGUAGE_NAMES.get(code, code), f"{request.path}?{query}"))
            return links

        return {"language_links": language_links}

    @app.after_request
    def _remember_language(response):
        chosen = request.args.get("lang")
        if chosen in locales and request.cookies.get("lang") != chosen:
            response.set_cookie(
                "lang",
                chosen,
                max_age=LANGUAGE_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=app.config.get("SESSION_COOKIE_SECURE", False),
            )
        return response


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def form_id(raw: str) -> int | None:
    """An id typed or posted in a form, or None: only decimal digits ("²" is a digit to
    ``str.isdigit`` but no number to ``int``) and within the databases' ids (ID_MAX)."""
    raw = (raw or "").strip()
    if not raw.isdecimal() or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= ID_MAX else None


def form_ids(values: list[str], limit: int = 100) -> list[int]:
    """Ids posted in a form (checkboxes); one that is no id becomes -1, which names nothing,
    so that the service says which is unknown."""
    return [found if (found := form_id(v)) is not None else -1 for v in values[:limit]]


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to after logging in; anything else is ignored."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def tenant_zone() -> ZoneInfo:
    tenant = g.get("tenant")
    try:
        return ZoneInfo(tenant.timezone if tenant else "Europe/Paris")
    except Exception:
        return ZoneInfo("Europe/Paris")


FIRST_OF_MONTH = re.compile(r"(?<![d'])d(?= MMM)")  # the day before a month's name ("d MMMM y")


def local_date(value: datetime | date | str | None, form: str = "long") -> str:
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(tenant_zone()).date()
    locale = str(get_locale())
    if value.day == 1 and locale.startswith("fr") and form in ("medium", "long", "full"):
        # French writes the first of the month as an ordinal: "1er décembre 2026".
        pattern = get_date_format(form, locale=locale).pattern
        return format_date(value, FIRST_OF_MONTH.sub("d'er'", pattern, count=1), locale=locale)
    return format_date(value, form, locale=locale)


def number(value: int) -> str:
    return format_decimal(value, locale=str(get_locale()))


def say(message: str) -> str:
    """A message in the reader's language: a service's :class:`Message` through the catalogue
    (its parameters too, when they are messages); any other text as it is (a page's own is
    translated already)."""
    if not isinstance(message, Message):
        return message
    params = {
        name: say(value) if isinstance(value, Message) else value
        for name, value in message.params.items()
    }
    return _(message.template, **params)


def field_errors(problem: Problem) -> dict[str, list[str]]:
    """The problem's messages per field, translated."""
    return {field: [say(m) for m in messages] for field, messages in problem.errors.items()}


def status_label(status: str) -> str:
    return {
        "pending": _("pending"),
        "accepted": _("accepted"),
        "refused": _("refused"),
        "postponed": _("postponed"),
        "archived": _("archived"),
    }.get(status, status)


def vote_label(key: str) -> str:
    return {"agree": _("Agree"), "disagree": _("Disagree"), "neutral": _("Neutral")}.get(key, key)


def qualification_label(name: str) -> str:
    return {
        "likeIt": _("Love it"),
        "doable": _("Realistic"),
        "platitudeAgree": _("Platitude"),
        "noWay": _("No way!"),
        "impossible": _("Not feasible"),
        "platitudeDisagree": _("Platitude"),
        "doNotUnderstand": _("Did not understand"),
        "noOpinion": _("No opinion"),
        "doNotCare": _("Don't care"),
    }.get(name, name)


def consultation_status_label(status: str) -> str:
    return {"upcoming": _("Upcoming"), "open": _("Open"), "finished": _("Finished")}.get(
        status, status
    )


def territory_label(territory: str | None) -> str:
    return {
        "rural": _("Rural area or town under 20,000 inhabitants"),
        "medium": _("Mid-size town (20,000 to 100,000 inhabitants)"),
        "urban": _("City over 100,000 inhabitants"),
    }.get(territory or "unknown", _("Unknown (give your postal code)"))


def segment_label(segment: str) -> str:
    """A results segment (``all``, ``territory:rural``, ``age:25_34``…) as readers say it."""
    kind, _sep, value = segment.partition(":")
    if kind == "territory":
        return territory_label(value) if value != "unknown" else _("Territory not given")
    if kind == "age":
        return {
            "under_25": _("Under 25"),
            "25_34": _("25 to 34"),
            "35_49": _("35 to 49"),
            "50_64": _("50 to 64"),
            "65_plus": _("65 and over"),
        }.get(value, _("Age not given"))
    return _("All participants")


def tenant_kind_label(kind: str) -> str:
    return {
        "region": _("Region"),
        "city": _("City"),
        "company": _("Company"),
        "grand_cause": _("Grand cause"),
    }.get(kind, kind)


def tenant_status_label(status: str) -> str:
    return {"active": _("active"), "suspended": _("suspended")}.get(status, status)


def tag_kind_label(kind: str) -> str:
    return {"theme": _("theme")}.get(kind, kind)


def decimal(value: float, digits: int = 2) -> str:
    """A number with ``digits`` decimals, as the reader writes it (0,39 in French)."""
    return format_decimal(
        round(value, digits), format=f"0.{'0' * digits}", locale=str(get_locale())
    )


def zone_label(zone: str) -> str:
    return {
        "consensus": _("Consensus"),
        "controversy": _("Controversy"),
        "rejection": _("Rejection"),
        "limbo": _("No clear opinion"),
        "needs_more_votes": _("Need more votes"),
    }.get(zone, zone)


def refusal_label(reason: str) -> str:
    return {
        "incomprehensible": _("Incomprehensible"),
        "off_topic": _("Off topic"),
        "partisan": _("Partisan"),
        "illegal": _("Illegal"),
        "advertising": _("Advertising"),
        "several_ideas": _("Several ideas"),
        "invalid_language": _("Invalid language"),
        "insulting": _("Insulting"),
        "test": _("Test"),
        "other": _("Other"),
    }.get(reason, reason)


def step_label(kind: str) -> str:
    return {
        "consultation": _("Consultation"),
        "results": _("Results"),
        "workshops": _("Workshops"),
        "action_plan": _("Action plan"),
    }.get(kind, kind)


def colon() -> str:
    """A label's colon as the reader's language writes it: French puts a no-break space
    before it ("Votre vote : D'accord"), English none."""
    return "\u00a0:" if str(get_locale()).startswith("fr") else ":"


def partner_tier_label(tier: str) -> str:
    label = partners.TIER_LABELS.get(tier)
    return say(label) if label else tier


def partner_logo_url(partner) -> str | None:
    return partners.logo_url(kernel().storage, partner)


def init_filters(app: Flask) -> None:
    app.jinja_env.globals["colon"] = colon
    app.jinja_env.filters.update(
        local_date=local_date,
        number=number,
        status_label=status_label,
        vote_label=vote_label,
        qualification_label=qualification_label,
        consultation_status_label=consultation_status_label,
        territory_label=territory_label,
        refusal_label=refusal_label,
        segment_label=segment_label,
        zone_label=zone_label,
        tenant_kind_label=tenant_kind_label,
        tenant_status_label=tenant_status_label,
        tag_kind_label=tag_kind_label,
        decimal=decimal,
        step_label=step_label,
        partner_tier_label=partner_tier_label,
        partner_logo_url=partner_logo_url,
        say=say,
    )
