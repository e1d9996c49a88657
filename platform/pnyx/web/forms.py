"""What the citizen and admin pages share: the CSRF token, service messages in the reader's
language, safe redirects, and dates in the tenant's time zone."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_decimal
from flask import Flask, g, request
from flask import session as cookie_session
from flask_babel import get_locale
from flask_babel import gettext as _

from pnyx.kernel.errors import Problem

from .context import now  # noqa: F401  (the pages import it from here)

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
        if not (isinstance(expected, str) and secrets.compare_digest(sent, expected)):
            raise CsrfFailed(
                _("This form has expired: go back, reload the page and send it again."),
                title=_("Form expired"),
            )
        return None

    @app.context_processor
    def _csrf():
        return {"csrf_token": csrf_token}


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


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
    return format_date(value, form, locale=str(get_locale()))


def number(value: int) -> str:
    return format_decimal(value, locale=str(get_locale()))


# Service messages are English with a stable code; pages show them in the reader's language.
_PATTERNS: list[tuple[re.Pattern, Callable[..., str]]] = []


def _say(pattern: str, translate: Callable[..., str]) -> None:
    _PATTERNS.append((re.compile(f"^{pattern}$"), translate))


_say(r"Write your proposal\.", lambda: _("Write your proposal."))
_say(r"Plain text only: no HTML\.", lambda: _("Plain text only: no HTML."))
_say(r"At least (?P<n>\d+) characters\.", lambda n: _("At least %(n)s characters.", n=n))
_say(r"At most (?P<n>[\d,]+) characters\.", lambda n: _("At most %(n)s characters.", n=n))
_say(
    r"Start with “(?P<prefix>.+) …”\.",
    lambda prefix: _("Start with “%(prefix)s …”.", prefix=prefix),
)
_say(r"This consultation is not open\.", lambda: _("This consultation is not open."))
_say(
    r"This consultation is not open for votes\.",
    lambda: _("This consultation is not open for votes."),
)
_say(r"Sign up to propose\.", lambda: _("Sign up to propose."))
_say(
    r"You have proposed (?P<n>\d+) times recently: try again later\.",
    lambda n: _("You have proposed %(n)s times recently: try again later.", n=n),
)
_say(r"No such proposal\.", lambda: _("No such proposal."))
_say(r"No such consultation\.", lambda: _("No such consultation."))
_say(
    r"This proposal is already (?P<status>\w+)\.",
    lambda status: _("This proposal is already %(status)s.", status=status_label(status)),
)
_say(
    r"This proposal is (?P<status>\w+): it cannot be voted on\.",
    lambda status: _(
        "This proposal is %(status)s: it cannot be voted on.", status=status_label(status)
    ),
)
_say(r"Give a reason for the refusal\.", lambda: _("Give a reason for the refusal."))
_say(r"One of .*", lambda: _("Choose one of the listed values."))
_say(r"Unknown tag\.", lambda: _("Unknown tag."))
_say(r"A vote is agree, disagree or neutral\.", lambda: _("A vote is agree, disagree or neutral."))
_say(r"agree, disagree or neutral\.", lambda: _("A vote is agree, disagree or neutral."))
_say(r"A list\.", lambda: _("Choose qualifications from the list."))
_say(
    r"Not a qualification of '(?P<key>\w+)': .*",
    lambda key: _("Not a qualification of the vote “%(key)s”.", key=vote_label(key)),
)
_say(
    r"Lower-case letters, digits and hyphens.*",
    lambda: _("Lower-case letters, digits and hyphens."),
)
_say(r"A question of 10 to 300 characters\.", lambda: _("A question of 10 to 300 characters."))
_say(
    r"A prefix of 2 to 40 characters.*",
    lambda: _("A prefix of 2 to 40 characters, such as “Il faut”."),
)
_say(r"public or restricted\.", lambda: _("Public or restricted."))
_say(r"A whole number from 0\.", lambda: _("A whole number from 0."))
_say(r"A date and time such as .*", lambda: _("A date and time, such as 2026-12-01 09:00."))
_say(r"Required\.", lambda: _("Required."))
_say(r"The end comes after the start\.", lambda: _("The end comes after the start."))
_say(r"(A list of at most 10 steps|Step \d+: .*)", lambda *a: _("Check the steps' dates."))
_say(r"Taken\.", lambda: _("Already taken."))
_say(r"This slug is taken\.", lambda: _("This address is already taken."))
_say(r"This tag exists\.", lambda: _("This tag exists."))
_say(r"1 to 100 characters\.", lambda: _("1 to 100 characters."))
_say(
    r"Enter your first name \(up to 100 characters\)\.",
    lambda: _("Enter your first name (up to 100 characters)."),
)
_say(
    r"(Invalid e-mail address|Enter a valid e-mail address)\.",
    lambda *a: _("Enter a valid e-mail address."),
)
_say(
    r"(10 to 200 characters|A password has 10 to 200 characters)\.",
    lambda *a: _("A password has 10 to 200 characters."),
)
_say(r"Enter your year of birth\.", lambda: _("Enter your year of birth."))
_say(
    r"A year between (?P<low>\d+) and (?P<high>\d+)\.",
    lambda low, high: _("A year between %(low)s and %(high)s.", low=low, high=high),
)
_say(r"Enter your postal code\.", lambda: _("Enter your postal code."))
_say(r"A French postal code has 5 digits\.", lambda: _("A French postal code has 5 digits."))
_say(r"This postal code does not exist\.", lambda: _("This postal code does not exist."))
_say(r"Already registered\.", lambda: _("An account with this e-mail exists: log in."))
_say(
    r"An account with this e-mail exists\.",
    lambda: _("An account with this e-mail exists: log in."),
)
_say(r"Wrong e-mail or password\.", lambda: _("Wrong e-mail or password."))
_say(
    r"This reset link is not valid \(any more\)\.",
    lambda: _("This reset link is not valid (any more)."),
)
_say(
    r"This reset link has expired: ask for a new one\.",
    lambda: _("This reset link has expired: ask for a new one."),
)
_say(r"Some fields are invalid\.", lambda: _("Some fields are invalid."))
_say(r"Some profile fields are invalid\.", lambda: _("Some fields are invalid."))
_say(r"Page out of range\.|Out of range\.", lambda *a: _("This page does not exist."))
_say(r"Sort by recent or votes\.|recent or votes\.", lambda *a: _("Sort by recent or votes."))


def say(message: str) -> str:
    """A service message in the reader's language (the English original if not in the table)."""
    for pattern, translate in _PATTERNS:
        found = pattern.match(message)
        if found:
            return (
                translate(**found.groupdict())
                if found.groupdict()
                else translate(*(x for x in found.groups() if x is not None))
            )
    return message


def field_errors(problem: Problem) -> dict[str, list[str]]:
    """The problem's messages per field, translated."""
    return {field: [say(str(m)) for m in messages] for field, messages in problem.errors.items()}


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


def init_filters(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_date=local_date,
        number=number,
        status_label=status_label,
        vote_label=vote_label,
        qualification_label=qualification_label,
        consultation_status_label=consultation_status_label,
        territory_label=territory_label,
        refusal_label=refusal_label,
        step_label=step_label,
        say=say,
    )
