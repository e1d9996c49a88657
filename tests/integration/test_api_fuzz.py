"""Every API operation, fuzzed: no input gets a 5xx, and every error is problem+json with a code.

Four kinds of requests, sent in-process through the WSGI app:

- schemathesis reads ``/api/openapi.json`` from the app and generates requests for each operation
  from its description, valid ones and ones that break it;
- random mutations of a valid request per operation (its body or query with one value replaced
  by an edge value: huge numbers, long or odd text, wrong types, far dates, …, or a member
  dropped or added), since random text rarely passes the services' checks to reach the database;
- a deterministic sweep of the same valid request: each place (member or item, nested) given
  each boundary value in turn (ids past bigint, NaN, a lone surrogate, incompressible text, …)
  and the longest text and the extreme numbers its schema allows, each member dropped;
- raw bodies no JSON encoder writes (nested thousands deep, broken, 5,000-digit numbers, …).

Four passes: the tenant routes to alpha's host with its admin's token, then anonymously; the
operator's routes (tenants, the moderation desk) to the operator's host with the operator's
token, then anonymously (the sweep and the raw bodies only with a token). Path ids are drawn from
the seeded rows as often as generated, so that requests reach the services and the database, not
only the 404s; rate limits are off, or they would answer instead. Each valid request is first
checked to be accepted as is, else the mutations would only meet its refusal.

Bounded and deterministic: a fixed number of examples per operation and generator,
derandomized, no example database, no shrinking. Every failure is collected (one per operation,
pass and cause) and reported together, with the request that got it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import itertools
import json
import logging
import os
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests import factories
from tests.conftest import OPERATOR_HOST, PASSWORD, PLATFORM_DOMAIN

# Per operation, pass and generator. PNYX_FUZZ_EXAMPLES=500 for a deeper search by hand.
EXAMPLES = int(os.environ.get("PNYX_FUZZ_EXAMPLES") or 20)
OPERATOR_PREFIXES = ("/api/v1/tenants", "/api/v1/moderation")
ALPHA_HOST = f"alpha.{PLATFORM_DOMAIN}"
# Mutating these would only ever be refused before anything is read: not worth their time.
NOT_MUTATED = {("DELETE", "/api/v1/participants/me")}


# ------------------------------------------------------------------------------ edge values


def _noise(length: int) -> str:
    """Text that does not compress (an index entry cannot shrink it below its length)."""
    chunks, seed = [], b"pnyx"
    while sum(map(len, chunks)) < length:
        seed = hashlib.sha256(seed).digest()
        chunks.append(base64.b64encode(seed).decode())
    return "".join(chunks)[:length]


def _wide_noise(length: int) -> str:
    """Text of ``length`` characters of three bytes each in UTF-8, that does not compress."""
    digest, chars = b"", []
    while len(chars) < length:
        digest = hashlib.sha256(digest + b"wide").digest()
        chars.extend(chr(0x4E00 + byte * 64 + (i % 64)) for i, byte in enumerate(digest))
    return "".join(chars[:length])


NOISE = _noise(10_000)
NUMBERS = [0, -1, 1.5, -0.0, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, 1e308, True]
TEXTS = [
    "",
    " ",
    NOISE,
    "a" * 10_000,
    "é" * 3_000,
    "\U0001f600" * 1_000,
    "\u202e\u200b\ufeff",
    "\ud7ff\ue000",
    "\udfff",
    "0",
    "-1",
    "99999999999999999999",
    "9" * 5_000,
    "1e999",
    "NaN",
    "null",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2026-01-01T00:00:00",
    "2026-01-01T25:00:00+00:00",
    "Europe/Nowhere",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "x@" + "a" * 300 + ".fr",
    "a" * 64 + "@example.org",
    "https://" + "a" * 400 + ".example.org/",
    "https://[::1]:99999/",
    "xn--ls8h.example.org",
    "a" * 64 + ".example.org",
    "%00",
    "\\",
    "'; DROP TABLE accounts; --",
]
SHAPES = [None, [], {}, [[]], [None], [2**63], [-1, -1], [NOISE], list(range(50)), {"": None}]
# Every place of every valid request gets each of these (the deterministic sweep).
BOUNDARIES = [
    None,
    True,
    -1,
    2**63,
    -(2**63) - 1,
    1e308,
    float("inf"),  # JSON has no such number, but Python's parser reads Infinity and NaN
    float("nan"),
    "",
    NOISE,
    "\ud800",  # a lone surrogate: \ud800 in JSON, no UTF-8 for it
    [],
    {},
    [2**63],
    [NOISE],
]

NASTY = st.one_of(
    st.sampled_from(NUMBERS),
    st.sampled_from(TEXTS),
    st.sampled_from(SHAPES),
    st.integers(),
    st.text(max_size=40),
    st.lists(st.one_of(st.integers(), st.text(max_size=8), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=6)), max_size=3),
)


def _png(width: int, height: int) -> bytes:
    """A PNG header declaring these dimensions (its pixels are not all there)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\x00\x00\x00" * min(width, 4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)


IMAGES = [
    b"",
    b"GIF89a",
    b"\x89PNG\r\n\x1a\n",
    _png(1, 1),
    _png(5_000, 5_000),
    _png(60_000, 60_000),
    _png(0, 0),
    b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    b"\xff\xd8\xff\xe0" + b"\x00" * 40,
]


def _paths(value, prefix=()):
    """Every place in a JSON value: itself, and each member and item, nested."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _set(value, path, new):
    if not path:
        return new
    value = copy.deepcopy(value)
    target = value
    for step in path[:-1]:
        target = target[step]
    if new is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return value


_DROP = object()


@st.composite
def _mutations(draw, base):
    """``base`` with one change: a value replaced, a member dropped, or one added."""
    places = list(_paths(base))
    path = draw(st.sampled_from(places))
    action = draw(st.sampled_from(("replace", "replace", "replace", "drop", "add")))
    if action == "drop" and path:
        return _set(base, path, _DROP)
    if action == "add" and isinstance(base, dict):
        return {**base, draw(st.sampled_from(("extra", "id", "tenant_id", ""))): draw(NASTY)}
    return _set(base, path, draw(NASTY))


def _as_query(values: dict) -> dict:
    """Query parameters from JSON values: text as is, lists repeated, anything else as JSON."""
    query = {}
    for name, value in values.items():
        if isinstance(value, list):
            query[name] = [v if isinstance(v, str) else json.dumps(v) for v in value]
        else:
            query[name] = value if isinstance(value, str) else json.dumps(value)
    return query


# ------------------------------------------------------------------------------ the world


@dataclass
class Pass:
    """Who sends the requests of a pass, and to which host."""

    name: str
    host: str
    operator_routes: bool
    token: str | None = None


@dataclass
class Finding:
    operation: str
    passname: str
    status: int | str
    cause: str
    request: str

    def __str__(self) -> str:
        return (
            f"{self.operation} [{self.passname}] → {self.status}: {self.cause}\n    {self.request}"
        )


@dataclass
class Findings:
    items: dict[tuple, Finding] = field(default_factory=dict)

    def add(self, key: tuple, finding: Finding) -> None:
        self.items.setdefault(key, finding)


class ErrorLog(logging.Handler):
    """The last traceback the app logged for an unexpected error (``pnyx.errors``)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.last: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record


@dataclass
class Seed:
    """What the fuzzing starts from: ids for the path parameters, what valid requests name."""

    own: dict[str, list[int]]  # alpha's rows (and the third tenant's, for the operator)
    foreign: dict[str, list[int]]  # beta's rows: another tenant's ids, 404s
    pending: list[int]  # alpha's proposals waiting for a decision, for the decisions
    tag_id: int
    alpha_id: int
    moderator_id: int
    restore: object  # () -> None: alpha's consultation open again, as seeded

    @property
    def known(self) -> dict[str, list[int]]:
        return {
            name: [*self.own.get(name, []), *self.foreign.get(name, [])]
            for name in {*self.own, *self.foreign}
        }


PENDING = 24  # proposals the decisions (the tenant's and the desk's) work through


@pytest.fixture()
def seeded(world, database):
    """Alpha's consultation with proposals of every status (and many pending), a tag and a
    partner; beta's consultation and proposal; a third tenant with a custom host for the
    operator's routes (suspending it harms no other pass); a moderator to assign; the operator
    assigned to alpha's queue."""
    from sqlalchemy import select

    from billing import partners
    from pnyx.consultations import service
    from pnyx.identity.models import Participant
    from pnyx.identity.service import create_staff

    alpha = factories.consultation(database, world.alpha_id)
    beta = factories.consultation(database, world.beta_id, slug="ailleurs")
    with database.scope(tenant_id=world.alpha_id) as s:
        tag_id = service.add_tag(s, alpha.id, "mobilite", "Mobilité").id

    def proposal(text, status="pending", author="citizen@alpha.test", tags=()):
        return factories.proposal(
            database, world.alpha_id, alpha.id, text, author=author, status=status, tags=tags
        ).id

    accepted = [
        proposal("Il faut plus de trains le soir", "accepted", tags=[tag_id]),
        proposal("Il faut des pistes cyclables", "accepted", author="b@alpha.test"),
    ]
    others = [
        proposal("Il faut voter pour mon parti", "refused"),
        proposal("Il faut repenser les horaires", "postponed"),
    ]
    pending = [
        proposal(f"Il faut des bancs dans les parcs, numéro {i}", author=f"p{i}@alpha.test")
        for i in range(PENDING)
    ]
    beta_proposal = factories.proposal(
        database, world.beta_id, beta.id, "Il faut une cantine", author="citizen@beta.test"
    ).id
    with database.scope(tenant_id=world.alpha_id) as s:
        partner_id = partners.create_partner(s, {"name": "Acme", "tier": "founding"}).id
        author_ids = list(
            s.scalars(select(Participant.id).where(Participant.account_id.is_not(None)))
        )[:3]
    with database.scope() as s:
        moderator_id = create_staff(
            s, email="moderator@pnyx.test", password=PASSWORD, role="moderator"
        ).id
    operator = world.operator()
    operator_id = operator.get("/api/v1/auth/me").get_json()["id"]
    assigned = operator.post(  # the operator's desk: alpha's queue
        "/api/v1/moderation/assignments",
        json={"staff_id": operator_id, "tenant_id": world.alpha_id},
    )
    assert assigned.status_code == 201, assigned.get_json()
    gamma = operator.post(
        "/api/v1/tenants", json={"slug": "gamma", "kind": "city", "name": "Gamma"}
    ).get_json()
    host = operator.post(f"/api/v1/tenants/{gamma['id']}/hosts", json={"host": "gamma.example.org"})

    def restore() -> None:
        with database.scope(tenant_id=world.alpha_id) as s:
            service.update_consultation(
                s,
                alpha.id,
                {
                    "starts_at": factories.NOW - timedelta(days=1),
                    "ends_at": factories.NOW + timedelta(days=60),
                    "visibility": "public",
                },
            )

    return Seed(
        own={
            "consultation_id": [alpha.id],
            "proposal_id": [*accepted, *others, pending[0]],
            "partner_id": [partner_id],
            "tenant_id": [gamma["id"]],
            "host_id": [host.get_json()["id"]],
            "author_id": author_ids,
        },
        foreign={"consultation_id": [beta.id], "proposal_id": [beta_proposal]},
        pending=pending,
        tag_id=tag_id,
        alpha_id=world.alpha_id,
        moderator_id=moderator_id,
        restore=restore,
    )


def valid_requests(seed: Seed) -> dict[tuple[str, str], dict]:
    """A valid request per operation (body and/or query, and path ids where the seed's first
    would not do), for the mutations to start from. ``{n}`` makes what must be unique (a slug,
    an e-mail, a host) new in each request."""
    now = datetime.now(UTC)
    consultation = {
        "slug": "nouvelle-{n}",
        "question": "Comment mieux vivre ensemble ?",
        "proposal_prefix": "Il faut",
        "context": "Un contexte.",
        "language": "fr",
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=60)).isoformat(),
        "visibility": "public",
        "goal_participants": 1000,
        "goal_proposals": 100,
        "goal_votes": 10_000,
        "steps": [{"kind": "results", "title": "Résultats", "date": "2027-07-01"}],
        "rotation": {"strategy": "apt", "sequence_size": 12, "vote_floor": 10, "vote_cap": 100},
    }
    partner = {
        "name": "Acme",
        "tier": "founding",
        "website_url": "https://acme.example.org",
        "position": 1,
    }
    desk = {"tenant_id": seed.alpha_id}
    assignment = {"staff_id": seed.moderator_id, "tenant_id": seed.alpha_id}
    pending = {"proposal_id": seed.pending}
    return {
        ("POST", "/api/v1/auth/token"): {
            "body": {"email": "admin@alpha.test", "password": PASSWORD}
        },
        ("POST", "/api/v1/auth/password-reset"): {"body": {"email": "citizen@alpha.test"}},
        ("POST", "/api/v1/auth/password-reset/confirm"): {
            "body": {"token": "abc.def", "password": "a-long-enough-password"}
        },
        ("PATCH", "/api/v1/participants/me"): {
            "body": {"birth_year": 1990, "postal_code": "35000"}
        },
        ("POST", "/api/v1/participants"): {
            "body": {
                "email": "new{n}@alpha.test",
                "password": "a-long-enough-password",
                "first_name": "Anne",
                "birth_year": 1990,
                "postal_code": "35000",
            }
        },
        ("GET", "/api/v1/tenants"): {"query": {"status": "active", "limit": 50, "offset": 0}},
        ("POST", "/api/v1/tenants"): {
            "body": {
                "slug": "delta{n}",
                "kind": "city",
                "name": "Delta",
                "locale": "fr",
                "timezone": "Europe/Paris",
                "theme_pack": "lyon",
            }
        },
        ("POST", "/api/v1/tenants/{tenant_id}/hosts"): {"body": {"host": "delta{n}.example.org"}},
        ("POST", "/api/v1/consultations"): {"body": consultation},
        ("PATCH", "/api/v1/consultations/{consultation_id}"): {
            "body": {**consultation, "slug": "territoire"}
        },
        ("POST", "/api/v1/consultations/{consultation_id}/tags"): {
            "body": {"slug": "velo-{n}", "label": "Vélo"}
        },
        ("GET", "/api/v1/consultations/{consultation_id}/proposals"): {
            "query": {"q": "trains", "tag": "mobilite", "sort": "votes", "page": 1, "per_page": 20}
        },
        ("POST", "/api/v1/consultations/{consultation_id}/proposals"): {
            "body": {"content": "Il faut planter des arbres, idée {n}"}
        },
        ("GET", "/api/v1/consultations/{consultation_id}/sequence"): {"query": {"size": 5}},
        ("PUT", "/api/v1/proposals/{proposal_id}/vote"): {
            "body": {"key": "agree", "qualifications": ["likeIt"], "card_key": None}
        },
        ("POST", "/api/v1/proposals/{proposal_id}/decision"): {
            "ids": pending,
            "body": {"decision": "accept", "reason": None, "note": "ok", "tag_ids": [seed.tag_id]},
        },
        ("GET", "/api/v1/consultations/{consultation_id}/results"): {"query": {"segment": "all"}},
        ("GET", "/api/v1/consultations/{consultation_id}/integrity/groups"): {
            "query": {"status": "flagged"}
        },
        ("GET", "/api/v1/moderation/next"): {"query": desk},
        ("POST", "/api/v1/moderation/proposals/{proposal_id}/decision"): {
            "ids": {"proposal_id": seed.pending[::-1]},
            "body": {
                "decision": "accept",
                "reason": None,
                "note": None,
                "tag_ids": [seed.tag_id],
                "content": "Il faut plus de bancs dans les parcs",
            },
        },
        ("GET", "/api/v1/moderation/authors/{author_id}/pending"): {"query": desk},
        ("GET", "/api/v1/moderation/untagged"): {"query": {**desk, "limit": 10}},
        ("POST", "/api/v1/moderation/assignments"): {"body": assignment},
        ("DELETE", "/api/v1/moderation/assignments"): {"body": assignment},
        ("PUT", "/api/v1/tenant/charter"): {"body": {"text": "Soyez courtois."}},
        ("POST", "/api/v1/partners"): {"body": partner},
        ("PATCH", "/api/v1/partners/{partner_id}"): {"body": partner},
    }


# ------------------------------------------------------------------------------ generators


def _known_path_parameters(operation, known) -> list[dict]:
    """Path parameters from the seeded ids: every combination, or each known one alone."""
    names = [p.name for p in operation.path_parameters]
    pools = [known.get(name) or [] for name in names]
    if not names:
        return [{}]
    if all(pools):
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*pools)]
    one_by_one = [{name: value} for name, pool in zip(names, pools, strict=True) for value in pool]
    return one_by_one or [{}]


def generated(operation, known):
    """Schemathesis' requests, valid and invalid; path ids from the seed first, then random."""
    fixed = [f for f in _known_path_parameters(operation, known) if f]
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        if fixed:
            strategies.append(
                st.one_of(
                    [operation.as_strategy(generation_mode=mode, path_parameters=f) for f in fixed]
                )
            )
        strategies.append(operation.as_strategy(generation_mode=mode))
    return st.one_of(strategies)


_FRESH = itertools.count()


def _fresh(value):
    """The valid request with each ``{n}`` replaced by a number new to this run."""
    if isinstance(value, str) and "{n}" in value:
        return value.replace("{n}", str(next(_FRESH)))
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


_ABSENT = object()


@dataclass
class Sent:
    """A request the generators below build themselves, sent as is through Werkzeug: what
    no client library would encode (NaN, a lone surrogate, broken JSON) goes through too."""

    method: str
    path: str
    query: dict | None = None
    json: object = _ABSENT  # any JSON value, NaN, Infinity and lone surrogates included
    data: bytes | dict | None = None  # a raw body, or multipart fields
    content_type: str | None = None


def _case(operation, path_parameters, body, query, valid) -> Sent:
    sent = Sent(operation.method.upper(), operation.path.format(**path_parameters))
    if "body" in valid:
        sent.json, sent.content_type = body, JSON
    if "query" in valid:
        sent.query = _as_query(query) if isinstance(query, dict) else {}
    return sent


def mutated(operation, seed: Seed, valid: dict):
    """The valid request with one random change, on the seeded path ids."""
    choices = _known_path_parameters(operation, {**seed.own, **valid.get("ids", {})})
    parts = [part for part in ("body", "query") if part in valid]

    @st.composite
    def cases(draw):
        path_parameters = draw(st.sampled_from(choices))
        which = draw(st.sampled_from(parts))
        request = {part: _fresh(valid[part]) for part in parts}
        request[which] = draw(_mutations(request[which]))
        return _case(operation, path_parameters, request.get("body"), request.get("query"), valid)

    return cases()


def _schema_at(spec: dict, node: dict | None, place: tuple) -> dict:
    """The OpenAPI schema of one place of a request (members by name, items by position)."""
    for step in place:
        node = _deref(spec, node or {})
        if isinstance(step, int):
            node = node.get("items")
        else:
            node = (node.get("properties") or {}).get(step)
        if node is None:
            return {}
    return _deref(spec, node or {})


def _deref(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for step in node["$ref"].split("/")[1:]:
            target = target[step]
        node = target
    return node


def _request_schemas(spec: dict, operation) -> dict:
    """The schemas of an operation's JSON body and query parameters, from the API's OpenAPI."""
    definition = spec["paths"][operation.path][operation.method.lower()]
    body = (definition.get("requestBody", {}).get("content", {}).get("application/json", {})).get(
        "schema"
    )
    query = {
        "type": "object",
        "properties": {
            p["name"]: p.get("schema", {})
            for p in definition.get("parameters", [])
            if p.get("in") == "query"
        },
    }
    return {"body": body, "query": query}


def _at_the_limits(schema: dict) -> list:
    """Values the schema allows at its edges: text of the longest length it allows (ASCII,
    and three bytes a character), the largest and the smallest numbers."""
    values = []
    if schema.get("maxLength"):
        values += [_noise(schema["maxLength"]), _wide_noise(schema["maxLength"])]
    for bound in ("maximum", "minimum"):
        if bound in schema:
            values.append(schema[bound])
    return values


def boundaries(operation, seed: Seed, valid: dict, spec: dict):
    """The valid request with each of its places (each member and item, nested) given each
    boundary value in turn, the values its schema allows at its limits, and each member
    dropped: deterministic, every run the same."""
    choices = _known_path_parameters(operation, {**seed.own, **valid.get("ids", {})})
    schemas = _request_schemas(spec, operation)
    parts = [part for part in ("body", "query") if part in valid]
    count = 0
    for which in parts:
        for place in list(_paths(valid[which])):
            limits = _at_the_limits(_schema_at(spec, schemas[which], place))
            for value in [*BOUNDARIES, *limits, *([_DROP] if place else [])]:
                request = {part: _fresh(valid[part]) for part in parts}
                request[which] = _set(request[which], place, value)
                path_parameters = choices[count % len(choices)]
                count += 1
                yield _case(
                    operation, path_parameters, request.get("body"), request.get("query"), valid
                )


def logos(operation, seed: Seed):
    """Image uploads: not images, truncated ones, decompression bombs."""
    choices = _known_path_parameters(operation, seed.own)
    return st.builds(
        lambda path_parameters, data, name: Sent(
            operation.method.upper(),
            operation.path.format(**path_parameters),
            data={name: (io.BytesIO(data), "logo.png")},
        ),
        st.sampled_from(choices),
        st.sampled_from(IMAGES),
        st.sampled_from(("logo", "other")),
    )


# ------------------------------------------------------------------------------ the run


def _shown(value):
    """A value for a report: long text and long lists abbreviated."""
    if isinstance(value, str) and len(value) > 60:
        return f"{value[:20]!r}… ({len(value)} characters)"
    if isinstance(value, bytes):
        return f"{value[:40]!r}… ({len(value)} bytes)" if len(value) > 40 else repr(value)
    if isinstance(value, list):
        shown = [_shown(item) for item in value[:10]]
        return shown + [f"… ({len(value)} items)"] if len(value) > 10 else shown
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    return value


def _describe(case, host: str) -> str:
    if isinstance(case, Sent):
        if case.json is not _ABSENT:
            body = json.dumps(_shown(case.json), ensure_ascii=False, default=repr)
        elif isinstance(case.data, dict):
            body = {name: _shown(file.getvalue()) for name, (file, _name) in case.data.items()}
        else:
            body = _shown(case.data)
        return (
            f"{case.method} http://{host}{case.path} query={_shown(case.query)!r} "
            f"content_type={case.content_type} body={body}"
        )
    body = None if type(case.body).__name__ == "NotSet" else case.body
    return (
        f"{case.method.upper()} http://{host}{case.formatted_path} "
        f"query={_shown(case.query)!r} media_type={case.media_type} "
        f"body={json.dumps(_shown(body), ensure_ascii=False, default=repr)}"
    )


def _send(sent: Sent, run: Pass, app):
    """A request of ours through Werkzeug's client: a JSON body written by ``json.dumps``
    (NaN and lone surrogates as Python writes them), query text encoded as given."""
    kwargs: dict = {"content_type": sent.content_type}
    if sent.query is not None:
        kwargs["query_string"] = urlencode(sent.query, doseq=True, errors="surrogatepass")
    if sent.json is not _ABSENT:
        kwargs.update(data=json.dumps(sent.json), content_type=JSON)
    elif isinstance(sent.data, dict):  # multipart: the file objects are read once, copy them
        kwargs["data"] = {
            name: (io.BytesIO(file.getvalue()), filename)
            for name, (file, filename) in sent.data.items()
        }
    elif sent.data is not None:
        kwargs["data"] = sent.data
    headers = {"Authorization": f"Bearer {run.token}"} if run.token else {}
    response = app.test_client().open(
        sent.path, method=sent.method, headers=headers, base_url=f"http://{run.host}", **kwargs
    )
    return response.status_code, response.content_type or "", response.get_data()


def check(case, label: str, run: Pass, app, errors: ErrorLog, findings: Findings) -> None:
    """Send the case (schemathesis' or ours); a 5xx (or an exception let through, or an
    error that is not problem+json with a code) is a finding."""
    errors.last = None
    headers = {"Authorization": f"Bearer {run.token}"} if run.token else {}
    where = _describe(case, run.host)
    try:
        if isinstance(case, Sent):
            status, content_type, content = _send(case, run, app)
        else:
            response = case.call(base_url=f"http://{run.host}", headers=headers, app=app)
            status, content = response.status_code, response.content
            content_type = (response.headers.get("content-type") or [""])[0]
    except Exception as exc:  # the app let an exception through: as bad as a 500
        key = (label, run.name, type(exc).__name__)
        findings.add(key, Finding(label, run.name, "raised", repr(exc)[:300], where))
        return
    judge(status, content_type, content, label, run, where, errors, findings)


def judge(status, content_type, content: bytes, label, run, where, errors, findings) -> None:
    if status >= 500:
        record = errors.last
        if record is not None and record.exc_info:
            cause = f"{record.exc_info[0].__name__}: {str(record.exc_info[1])[:300]}"
        else:
            cause = content[:300].decode(errors="replace")
        key = (label, run.name, cause.splitlines()[0][:60])
        findings.add(key, Finding(label, run.name, status, cause, where))
    elif status >= 400:
        try:
            code = json.loads(content).get("code")
        except (ValueError, AttributeError):
            code = None
        if not content_type.startswith("application/problem+json") or not code:
            shown = content[:200].decode(errors="replace")
            cause = f"not problem+json with a code: {content_type} {shown}"
            key = (label, run.name, status, "bare")
            findings.add(key, Finding(label, run.name, status, cause, where))


JSON = "application/json"
# Bodies no JSON encoder writes: too deep, broken, not UTF-8, not JSON's own numbers, another
# type than announced.
RAW_BODIES = [
    (b"[" * 5_000 + b"]" * 5_000, JSON),
    (b'{"a": ' * 3_000 + b"1" + b"}" * 3_000, JSON),
    (b'{"a": "' + b"[" * 100 + b'"}', JSON),
    (b"{not json", JSON),
    (b"\xff\xfe\x00\x01", JSON),
    (b"", JSON),
    (b"null", JSON),
    (b'"text"', JSON),
    (b"1e999999", JSON),
    (b'{"a": ' + b"9" * 5_000 + b"}", JSON),  # past the digits Python reads into an int
    (b"NaN", JSON),
    (b'{"a": 1, "a": 2}', JSON),
    (b'{"\\ud800": "\\udfff"}', JSON),
    (b"{}", "application/json; charset=utf-16"),
    (b'{"email": "a@b.fr"}', "text/plain"),
    (b"email=a%40b.fr&password=x", "application/x-www-form-urlencoded"),
    (b"--x\r\nContent-Disposition: form-data\r\n\r\n--x--", "multipart/form-data; boundary=x"),
]


def raw_bodies(operation, seed: Seed, valid: dict):
    """Each raw body to the operation, on the seeded path ids."""
    choices = _known_path_parameters(operation, {**seed.own, **valid.get("ids", {})})
    path = operation.path.format(**choices[0])
    for data, content_type in RAW_BODIES:
        yield Sent(operation.method.upper(), path, data=data, content_type=content_type)


def fuzz(strategy, label, run: Pass, app, errors: ErrorLog, findings: Findings) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case):
        check(case, label, run, app, errors, findings)

    send()


# Valid requests that are refused all the same: a reset token cannot be guessed.
REFUSED_ALL_THE_SAME = {("POST", "/api/v1/auth/password-reset/confirm"): 401}


def accepts_valid_requests(app, seed: Seed, valid, operations, admin: Pass, operator: Pass):
    """Each valid request, as is, is answered 2xx: what is wrong with the mutations is then
    the mutation. The refused ones, described."""
    refused = []
    for key, request in valid.items():
        run = operator if key[1].startswith(OPERATOR_PREFIXES) else admin
        choices = _known_path_parameters(operations[key], {**seed.own, **request.get("ids", {})})
        body, query = _fresh(request.get("body")), _fresh(request.get("query"))
        sent = _case(operations[key], choices[0], body, query, request)
        status, _content_type, content = _send(sent, run, app)
        if status >= 300 and status != REFUSED_ALL_THE_SAME.get(key):
            refused.append(f"{' '.join(key)} → {status} {content[:200].decode(errors='replace')}")
    return refused


def _order(operation) -> tuple:
    """Deletions last, so the rows they remove serve the other operations first; logging out
    (revoking the caller's tokens) at the very end."""
    logout = operation.path == "/api/v1/auth/token" and operation.method == "delete"
    return (logout, operation.method == "delete")


def test_no_api_operation_answers_5xx(app, world, seeded, monkeypatch):
    from pnyx.moderation import integrity

    # Rate limits would answer 429 before the code under test is reached.
    monkeypatch.setattr(integrity, "configured_limits", lambda: ())
    schema = schemathesis.openapi.from_wsgi(
        "/api/openapi.json", app, base_url=f"http://{OPERATOR_HOST}"
    )
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    spec = app.test_client().get("/api/openapi.json", base_url=f"http://{OPERATOR_HOST}").json
    assert len(operations) > 50, "the schema lost its operations"
    valid = valid_requests(seeded)

    errors = ErrorLog()
    logger = logging.getLogger("pnyx.errors")
    logger.addHandler(errors)
    findings = Findings()
    passes = [
        Pass("alpha admin", ALPHA_HOST, False, world.admin("alpha").token),
        Pass("alpha anonymous", ALPHA_HOST, False),
        Pass("operator", OPERATOR_HOST, True, world.operator().token),
        Pass("operator host anonymous", OPERATOR_HOST, True),
    ]
    by_key = {(operation.method.upper(), operation.path): operation for operation in operations}
    refused = accepts_valid_requests(app, seeded, valid, by_key, passes[0], passes[2])
    assert not refused, "valid requests refused (the mutations would only meet that):\n" + (
        "\n".join(refused)
    )
    try:
        for run in passes:
            for operation in operations:
                if operation.path.startswith(OPERATOR_PREFIXES) != run.operator_routes:
                    continue
                key = (operation.method.upper(), operation.path)
                label = " ".join(key)
                seeded.restore()
                fuzz(generated(operation, seeded.known), label, run, app, errors, findings)
                if key in valid and key not in NOT_MUTATED:
                    strategy = mutated(operation, seeded, valid[key])
                    fuzz(strategy, label + " (mutated)", run, app, errors, findings)
                    if run.token:  # anonymous, the same sweep mostly meets a 401
                        for case in boundaries(operation, seeded, valid[key], spec):
                            check(case, label + " (boundary)", run, app, errors, findings)
                        if "body" in valid[key]:
                            for case in raw_bodies(operation, seeded, valid[key]):
                                check(case, label + " (raw body)", run, app, errors, findings)
                if key == ("PUT", "/api/v1/partners/{partner_id}/logo"):
                    fuzz(logos(operation, seeded), label + " (images)", run, app, errors, findings)
    finally:
        logger.removeHandler(errors)
    found = sorted(findings.items.values(), key=str)
    assert not found, f"{len(found)} request(s) got a 5xx or a bare error:\n" + "\n".join(
        map(str, found)
    )
