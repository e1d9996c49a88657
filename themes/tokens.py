"""Theme tokens: a tenant's branding as a few validated values, rendered as CSS variables.

Safety comes from validation, not from escaping afterwards: a ``ThemeTokens`` cannot exist with
an invalid value (``__post_init__`` checks every field, so ``merge`` and direct construction are
covered too). Colours are ``#rgb`` or ``#rrggbb`` (stored as lowercase ``#rrggbb``), the font is a
key of ``FONT_STACKS`` (the stack text is ours), the radius an int in ``0..RADIUS_MAX``.
``to_css`` still checks each value against a narrow character set before writing it.

``logo_url`` is not a CSS variable: templates put it in an ``<img src>`` (autoescaped). It must be
an ``https://`` URL or a root-relative path ("/media/...") of plain URL characters.

Imports nothing from ``pnyx``: stdlib only.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

COLOUR_FIELDS = (
    "primary",
    "primary_text",
    "secondary",
    "background",
    "surface",
    "text",
    "muted_text",
    "link",
    "focus",
)
RADIUS_MAX = 24
LOGO_URL_MAX = 500
PACKS: tuple[str, ...] = ("default", "bretagne", "lyon", "acme", "climat")

FONT_STACKS: dict[str, str] = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    '"Noto Sans", sans-serif',
    "humanist": 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, '
    "sans-serif",
    "geometric": 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif',
    "classical": 'Optima, Candara, "Noto Sans", source-sans-pro, sans-serif',
    "serif": 'Charter, "Bitstream Charter", "Sitka Text", Cambria, serif',
    "slab": 'Rockwell, "Rockwell Nova", "Roboto Slab", "DejaVu Serif", "Sitka Small", serif',
}

_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~/%?=&:+,@]+")
_CSS_VALUE = re.compile(r'[A-Za-z0-9#,\-" ]+')


class ThemeError(ValueError):
    """A theme value is invalid; ``field`` names it so a form can show the message beside it."""

    code = "invalid_theme"

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class ThemeTokens:
    """A validated theme. Colours are lowercase ``#rrggbb``; ``radius`` is in px."""

    primary: str
    primary_text: str
    secondary: str
    background: str
    surface: str
    text: str
    muted_text: str
    link: str
    focus: str
    font_family: str
    radius: int
    logo_url: str | None = None

    def __post_init__(self) -> None:
        for name in COLOUR_FIELDS:
            object.__setattr__(self, name, normalise_colour(getattr(self, name), name))
        if not isinstance(self.font_family, str) or self.font_family not in FONT_STACKS:
            allowed = ", ".join(FONT_STACKS)
            raise ThemeError("font_family", f"must be one of: {allowed}")
        if (
            not isinstance(self.radius, int)
            or isinstance(self.radius, bool)
            or not 0 <= self.radius <= RADIUS_MAX
        ):
            raise ThemeError("radius", f"must be a whole number of px from 0 to {RADIUS_MAX}")
        if self.logo_url is not None:
            _check_logo_url(self.logo_url)


@dataclass(frozen=True, slots=True)
class ContrastIssue:
    """A colour pair below its WCAG minimum contrast ratio."""

    foreground: str
    background: str
    ratio: float
    minimum: float

    @property
    def message(self) -> str:
        """Readable summary, e.g. for the admin's theme form."""
        return (
            f"{self.foreground} on {self.background}: contrast {self.ratio:.2f}:1, "
            f"needs {self.minimum:g}:1"
        )


# (foreground, background, minimum ratio). 4.5: WCAG 1.4.3 text (AA); 3: 1.4.11 non-text (focus).
# Text, links and muted text sit on the page background and on surfaces (cards): both checked.
CONTRAST_PAIRS: tuple[tuple[str, str, float], ...] = (
    ("text", "background", 4.5),
    ("text", "surface", 4.5),
    ("primary_text", "primary", 4.5),
    ("link", "background", 4.5),
    ("link", "surface", 4.5),
    ("muted_text", "background", 4.5),
    ("muted_text", "surface", 4.5),
    ("focus", "background", 3.0),
    ("focus", "surface", 3.0),
)


def normalise_colour(value: object, field: str = "colour") -> str:
    """Return ``value`` as lowercase ``#rrggbb``; only ``#rgb`` and ``#rrggbb`` are accepted."""
    if not isinstance(value, str) or not _HEX_COLOUR.fullmatch(value):
        raise ThemeError(field, "must be a hex colour, #rgb or #rrggbb")
    digits = value[1:].lower()
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return "#" + digits


def _check_logo_url(url: object) -> None:
    """Accept an https URL with a host, or a root-relative path; plain URL characters only."""
    message = "must be an https:// URL or a path starting with /, without spaces or quotes"
    if not isinstance(url, str) or not 0 < len(url) <= LOGO_URL_MAX:
        raise ThemeError("logo_url", message)
    if not _URL_CHARS.fullmatch(url):
        raise ThemeError("logo_url", message)
    if url.startswith("/"):
        if url.startswith("//"):
            raise ThemeError("logo_url", message)
        return
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ThemeError("logo_url", message)


def parse_tokens(data: Mapping[str, object]) -> ThemeTokens:
    """Validate a full set of tokens (e.g. a pack's JSON); unknown or missing keys are errors."""
    if not isinstance(data, Mapping):
        raise ThemeError("theme", "must be an object of token names to values")
    _reject_unknown(data)
    for field in dataclasses.fields(ThemeTokens):
        if field.name not in data and field.default is dataclasses.MISSING:
            raise ThemeError(field.name, "is required")
    return ThemeTokens(**data)  # type: ignore[arg-type]


def merge(base: ThemeTokens, overrides: Mapping[str, object]) -> ThemeTokens:
    """Return ``base`` with some tokens replaced (a tenant's overrides on a pack), validated.

    ``{"logo_url": None}`` removes the logo.
    """
    if not isinstance(overrides, Mapping):
        raise ThemeError("theme", "must be an object of token names to values")
    _reject_unknown(overrides)
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def _reject_unknown(data: Mapping[str, object]) -> None:
    known = {field.name for field in dataclasses.fields(ThemeTokens)}
    for key in data:
        if key not in known:
            raise ThemeError(str(key)[:40], "is not a theme token")


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a hex colour, from 0 (black) to 1 (white)."""
    digits = normalise_colour(colour)[1:]

    def linear(channel: str) -> float:
        c = int(channel, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(digits[i : i + 2]) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(c1: str, c2: str) -> float:
    """WCAG 2.x contrast ratio of two hex colours, from 1 to 21, order-independent."""
    l1, l2 = sorted((relative_luminance(c1), relative_luminance(c2)), reverse=True)
    return (l1 + 0.05) / (l2 + 0.05)


def check_contrast(tokens: ThemeTokens) -> list[ContrastIssue]:
    """Every pair of ``CONTRAST_PAIRS`` below its minimum (unrounded, as WCAG requires)."""
    issues = []
    for foreground, background, minimum in CONTRAST_PAIRS:
        ratio = contrast_ratio(getattr(tokens, foreground), getattr(tokens, background))
        if ratio < minimum:
            issues.append(ContrastIssue(foreground, background, ratio, minimum))
    return issues


def to_css(tokens: ThemeTokens) -> str:
    """``:root{--pnyx-primary:#...;...}``: fields in declaration order, one line.

    Variables: ``--pnyx-<field with - for _>`` for the colours, ``--pnyx-font-family`` (the
    stack) and ``--pnyx-radius`` (px). Safe inside a ``<style>`` element.
    """
    values = [(name, getattr(tokens, name)) for name in COLOUR_FIELDS]
    values.append(("font_family", FONT_STACKS[tokens.font_family]))
    values.append(("radius", f"{tokens.radius}px"))
    declarations = []
    for name, value in values:
        if not _CSS_VALUE.fullmatch(value):  # unreachable for a validated ThemeTokens
            raise ThemeError(name, "cannot be written to CSS")
        declarations.append(f"--pnyx-{name.replace('_', '-')}:{value}")
    return ":root{" + ";".join(declarations) + "}"


@functools.cache
def load_pack(name: str) -> ThemeTokens:
    """The built-in pack ``name`` (one of ``PACKS``), read from ``themes/packs/<name>.json``."""
    if name not in PACKS:
        raise ThemeError("pack", f"unknown theme pack; choose one of: {', '.join(PACKS)}")
    text = resources.files(__package__).joinpath("packs", f"{name}.json").read_text("utf-8")
    return parse_tokens(json.loads(text))
