"""Security headers on every answer: what a browser may load, frame and send along.

- ``Content-Security-Policy``: scripts, styles, fonts and connections from the page's own host
  only; images also from any https address (a tenant's logo URL, partners' logos in S3) (htmx
  and pnyx.js are files; the theme's CSS variables are the one inline
  ``<style>``, and htmx adds its indicator style: ``style-src 'unsafe-inline'``); no plugins; no
  framing by other sites; forms post to the same host. The API's documentation page (Swagger
  UI from npm) starts with an inline script: it alone may run inline scripts.
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``
  (a proposal's address is not sent to other sites), ``X-Frame-Options: SAMEORIGIN`` for older
  browsers, ``Permissions-Policy`` turning off what Pnyx never uses (camera, microphone,
  geolocation).
- ``Strict-Transport-Security`` on answers over HTTPS (behind a proxy: ``PROXY_HOPS``).
"""

from __future__ import annotations

from flask import Flask, Response, request

_POLICY = (
    "default-src 'self'; script-src 'self'{inline}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
POLICY = _POLICY.format(inline="")
DOCS_POLICY = _POLICY.format(inline=" 'unsafe-inline'")
DOCS_PATH = "/api/docs"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000"  # not includeSubDomains: a tenant's own domain has its own subdomains


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault(
            "Content-Security-Policy",
            DOCS_POLICY if request.path.startswith(DOCS_PATH) else POLICY,
        )
        for name, value in HEADERS.items():
            headers.setdefault(name, value)
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
