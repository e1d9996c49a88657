"""Every error becomes problem+json under /api and a themed page elsewhere; never a bare 500."""

from __future__ import annotations

import json
import logging
import re
import sys
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from pnyx.kernel.errors import Invalid, Problem
from pnyx.kernel.i18n import N_

from .forms import safe_next

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
    if request.headers.get("HX-Request") == "true":  # htmx swaps the answer into the card
        back = safe_next(urlsplit(request.headers.get("HX-Current-URL", "")).path or "/")
        html = render_template("_error_card.html", problem=problem, back=back)
    else:
        html = render_template("error.html", problem=problem, tenant=g.get("tenant"))
    return Response(html, status=problem.status, mimetype="text/html")


# What Werkzeug's own errors say, as messages (its names and descriptions are English only).
HTTP_MESSAGES = {
    400: (N_("Bad request"), N_("The request could not be understood.")),
    401: (N_("Authentication required"), N_("Log in first.")),
    403: (N_("Forbidden"), N_("Your role does not allow this.")),
    404: (N_("Not found"), N_("This page does not exist.")),
    405: (N_("Method not allowed"), N_("This address does not answer this method.")),
    413: (N_("Request too large"), N_("The request body is too large.")),
    415: (N_("Unsupported media type"), N_("This content type is not accepted here.")),
    422: (N_("Invalid input"), N_("Some fields are invalid.")),  # as the services' Invalid
}


def problem_from_http(exc: HTTPException) -> Problem:
    status = exc.code or 500
    code = HTTP_CODES.get(status, "http_error")
    title, detail = HTTP_MESSAGES.get(status, (exc.name, None))
    described = exc.description if isinstance(exc.description, str) else ""
    if status == 400 and "JSON" in described.upper():
        code, detail = "invalid_json", N_("The request body is not valid JSON.")
    return Problem(detail or described or title, code=code, status=status, title=title)


NUL = "\x00"


def _refuse_nul_characters() -> None:
    """Text with a NUL character can be stored nowhere (PostgreSQL refuses it): refused at the
    door, in the path, the query string, a form or a JSON body, as bad input."""
    values = [request.path, *(v for vs in request.args.listvalues() for v in vs)]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            body = request.get_data(cache=True)
            if b"\x00" in body or b"\\u0000" in body:
                values.append(NUL)
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values.extend(v for vs in request.form.listvalues() for v in vs)
    if any(NUL in value for value in values):
        raise Invalid(N_("Text cannot contain a NUL character."), code="invalid_characters")


# Deeper than any request of ours (a consultation's steps: 3 levels). Python's JSON parser
# recurses once a level and gives up (RecursionError, not a ValueError) near a thousand.
MAX_JSON_DEPTH = 32
_JSON_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_JSON_STRING = re.compile(rb'"[^"]*"')  # once escapes are gone: linear, whatever the text
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` in this JSON text (brackets
    inside strings do not count). Cheap for ordinary bodies: few brackets, no scan."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    outside_strings = _JSON_STRING.sub(b"", _JSON_ESCAPE.sub(b"", body))
    for bracket in _JSON_BRACKETS.findall(outside_strings):
        depth += 1 if bracket in (b"[", b"{") else -1
        if depth > limit:
            return True
    return False


# A \uD800–\uDFFF escape: half of a surrogate pair, or a lone one that no text can hold.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
# Python reads integers of at most this many digits (a guard of its own against slow
# conversions); beyond, its JSON parser raises a ValueError that is no JSON error.
INT_DIGITS = sys.get_int_max_str_digits() or 1_000_000
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % (INT_DIGITS + 1))


class _NumberTooLong(Exception):
    pass


def _read_int(text: str) -> int:
    if len(text.lstrip("-")) > INT_DIGITS:
        raise _NumberTooLong
    return int(text)


def _check_json_body() -> None:
    """What Python's JSON parser cannot read, or reads into text nothing can store, is
    refused at the door (else the parser, or the database, fails with an error of its own: a
    500): arrays and objects nested deeper than any request needs and integers too long to
    read, as bad JSON; a lone surrogate (``"\\ud800"``, which no UTF-8 encoder takes), as bad
    text, like a NUL character. A surrogate pair, as ``ensure_ascii`` writes an emoji, is one
    character and fine. Ordinary bodies are only searched, never parsed here."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not request.is_json:
        return
    body = request.get_data(cache=True)
    if json_depth_exceeds(body):
        raise Problem(
            N_("The request body nests arrays or objects too deeply."),
            code="invalid_json",
            status=400,
            title=N_("Bad request"),
        )
    if not (_SURROGATE_ESCAPE.search(body) or _LONG_DIGITS.search(body)):
        return
    try:
        value = json.loads(body, parse_int=_read_int)
    except _NumberTooLong:
        raise Problem(
            N_("The request body has a number too long to read."),
            code="invalid_json",
            status=400,
            title=N_("Bad request"),
        ) from None
    except ValueError:  # not JSON: the parser says so later
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(
            N_("Text cannot contain a lone surrogate (a code point from U+D800 to U+DFFF)."),
            code="invalid_characters",
        ) from None


def init_app(app: Flask) -> None:
    app.before_request(_refuse_nul_characters)
    app.before_request(_check_json_body)

    @app.errorhandler(Problem)
    def _problem(exc: Problem):
        return problem_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        response = problem_response(problem_from_http(exc))
        for name, value in exc.get_headers():
            if name.lower() == "allow":  # a 405 says which methods the address answers
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(
            Problem(
                N_("Something went wrong on our side; nothing was saved."),
                code="internal_error",
                status=500,
                title=N_("Internal error"),
            )
        )
