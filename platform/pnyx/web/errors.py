"""Every error becomes problem+json under /api and a themed page elsewhere; never a bare 500."""

from __future__ import annotations

import logging

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from pnyx.kernel.errors import Problem

log = logging.getLogger("pnyx.errors")

# Stable codes for the HTTP errors Werkzeug raises before our code runs.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def problem_response(problem: Problem) -> Response:
    if wants_problem_json():
        response = jsonify(problem.to_dict())
        response.status_code = problem.status
        response.mimetype = "application/problem+json"
        return response
    html = render_template("error.html", problem=problem, tenant=g.get("tenant"))
    return Response(html, status=problem.status, mimetype="text/html")


def problem_from_http(exc: HTTPException) -> Problem:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "http_error")
    detail = exc.description if isinstance(exc.description, str) else None
    if status == 413:
        detail = "The request body is too large."
    if status == 400 and "JSON" in (detail or "").upper():
        code = "invalid_json"
    return Problem(detail or exc.name, code=code, status=status, title=exc.name)


def init_app(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return problem_response(problem_from_http(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            Problem(
                "Something went wrong on our side; nothing was saved.",
                code="internal_error",
                status=500,
                title="Internal error",
            )
        )
