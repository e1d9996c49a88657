"""Domain errors that become RFC 9457 problem+json (API) or a themed message (pages).

Services raise these; the HTTP faces (floor 5) turn them into responses. Each has a stable
``code`` clients can rely on; ``errors`` maps field names to messages for forms and API clients.
Titles, details and field messages are :class:`~pnyx.kernel.i18n.Message` (``N_``): English in
the API, the reader's language in pages.
"""

from __future__ import annotations

from typing import Any

from .i18n import N_


class Problem(Exception):
    status: int = 400
    code: str = "bad_request"
    title: str = N_("Bad request")

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        title: str | None = None,
        errors: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        if status:
            self.status = status
        if title:
            self.title = title
        self.errors = errors or {}
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://pnyx.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class Invalid(Problem):
    status, code, title = 422, "validation_failed", N_("Invalid input")


class NotFound(Problem):
    status, code, title = 404, "not_found", N_("Not found")


class Conflict(Problem):
    status, code, title = 409, "conflict", N_("Conflict")


class Unauthorized(Problem):
    status, code, title = 401, "unauthorized", N_("Authentication required")


class Forbidden(Problem):
    status, code, title = 403, "forbidden", N_("Forbidden")


class TooManyRequests(Problem):
    status, code, title = 429, "rate_limited", N_("Too many requests")
