"""Host names: normalisation, validation and the names tenants may not take."""

from __future__ import annotations

import re

from pnyx.kernel.errors import Invalid, Problem
from pnyx.kernel.i18n import N_

# Names that route to the platform itself or that people would mistake for it.
RESERVED_NAMES = frozenset(
    [
        "www",
        "api",
        "admin",
        "static",
        "assets",
        "cdn",
        "media",
        "files",
        "img",
        "images",
        "js",
        "css",
        "fonts",
        "vendor",
        "widget",
        "widgets",
        "mail",
        "smtp",
        "imap",
        "pop",
        "email",
        "mx",
        "ns",
        "ns1",
        "ns2",
        "dns",
        "ftp",
        "sftp",
        "ssh",
        "vpn",
        "git",
        "app",
        "apps",
        "auth",
        "sso",
        "oauth",
        "oidc",
        "login",
        "logout",
        "signup",
        "account",
        "accounts",
        "id",
        "identity",
        "moderation",
        "moderator",
        "moderators",
        "partner",
        "partners",
        "billing",
        "invoice",
        "invoices",
        "pay",
        "payments",
        "stripe",
        "status",
        "health",
        "metrics",
        "monitoring",
        "docs",
        "doc",
        "help",
        "support",
        "blog",
        "news",
        "about",
        "legal",
        "contact",
        "pnyx",
        "platform",
        "operator",
        "root",
        "system",
        "internal",
        "test",
        "staging",
        "dev",
        "demo",
        "localhost",
    ]
)

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class InvalidHost(Problem):
    status, code, title = 400, "invalid_host", N_("Invalid host")


def normalise_host(raw: str | None) -> str:
    """Lower case, port and trailing dot stripped, IDNA-encoded; raise InvalidHost otherwise."""
    if not raw or len(raw) > 300:
        raise InvalidHost(N_("The Host header is missing or too long."))
    host = raw.strip()
    if host.startswith("["):  # IPv6 literal: valid, but never a tenant's host
        end = host.find("]")
        if end == -1:
            raise InvalidHost(N_("Malformed IPv6 host."))
        return host[: end + 1].lower()
    if host.count(":") > 1:
        raise InvalidHost(N_("Malformed host."))
    host, _, port = host.partition(":")
    if port and not port.isdigit():
        raise InvalidHost(N_("Malformed port."))
    host = host.rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidHost(N_("The host is not a valid internationalised domain name.")) from exc
    labels = host.split(".")
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise InvalidHost(N_("The host is not a valid domain name."))
    return host


def validate_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not _SLUG.match(slug) or len(slug) < 2:
        raise Invalid(
            N_(
                "A slug is 2 to 63 lower-case letters, digits or hyphens, not starting or ending with a hyphen."
            ),
            code="invalid_slug",
            errors={"slug": [N_("Invalid slug.")]},
        )
    if slug in RESERVED_NAMES:
        raise Invalid(
            N_("'%(slug)s' is reserved by the platform.", slug=slug),
            code="reserved_name",
            errors={"slug": [N_("This name is reserved.")]},
        )
    return slug


def validate_custom_domain(raw: str, platform_domain: str) -> str:
    try:
        host = normalise_host(raw)
    except InvalidHost as exc:
        raise Invalid(exc.detail, code="invalid_host", errors={"host": [exc.detail]}) from exc
    if host.startswith("[") or "." not in host or host.replace(".", "").isdigit():
        raise Invalid(
            N_("A custom domain is a DNS name."),
            code="invalid_host",
            errors={"host": [N_("Not a domain name.")]},
        )
    if host == platform_domain or host.endswith("." + platform_domain):
        raise Invalid(
            N_("Domains under the platform's own domain are given by slug, not added."),
            code="reserved_name",
            errors={"host": [N_("Under the platform domain.")]},
        )
    return host
