"""Signed, expiring tokens (API bearer tokens, card keys, reset links) bound to a purpose."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

_FIELD_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-")


class InvalidToken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" | "invalid"


class Signer:
    """One secret, many purposes: a token signed for one purpose never verifies for another."""

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self._serializers: dict[str, URLSafeTimedSerializer] = {}
        self._field_keys: dict[str, bytes] = {}

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = URLSafeTimedSerializer(self.secret_key, salt=f"pnyx.{purpose}")
            self._serializers[purpose] = serializer
        return serializer

    def sign(self, purpose: str, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def verify(self, purpose: str, token: str, max_age: int) -> Any:
        try:
            return self._serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired as exc:
            raise InvalidToken("expired") from exc
        except BadSignature as exc:
            raise InvalidToken("invalid") from exc

    # Compact tokens: for short-lived keys issued by the dozen on hot paths (card keys), where a
    # JSON + zlib + base64 serializer costs more than the request's other work. The fields are
    # integers or short words; the MAC is HMAC-SHA256 under a key derived once per purpose.

    def _field_key(self, purpose: str) -> bytes:
        key = self._field_keys.get(purpose)
        if key is None:
            key = hmac.new(
                self.secret_key.encode(), f"pnyx.fields.{purpose}".encode(), hashlib.sha256
            ).digest()
            self._field_keys[purpose] = key
        return key

    def _field_mac(self, purpose: str, body: str) -> str:
        digest = hmac.new(self._field_key(purpose), body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()  # 144 bits, no padding

    def sign_fields(
        self, purpose: str, fields: Sequence[int | str], now: float | None = None
    ) -> str:
        """``field.field….issued-at.mac``: integers and words of ``[A-Za-z0-9:_-]`` only."""
        parts = [str(f) for f in fields]
        for part in parts:
            if not part or not _FIELD_ALPHABET.issuperset(part):
                raise ValueError(f"not a signable field: {part!r}")
        issued = int(time.time() if now is None else now)
        body = ".".join((*parts, format(issued, "x")))
        return f"{body}.{self._field_mac(purpose, body)}"

    def verify_fields(
        self, purpose: str, token: str, max_age: int, now: float | None = None
    ) -> list[str]:
        """The fields of a token from :meth:`sign_fields`, as strings; raises InvalidToken."""
        if not token.isascii():  # never one of ours; and compare_digest takes no other text
            raise InvalidToken("invalid")
        body, _, mac = token.rpartition(".")
        if not body or not hmac.compare_digest(mac, self._field_mac(purpose, body)):
            raise InvalidToken("invalid")
        *fields, issued = body.split(".")
        try:
            age = (time.time() if now is None else now) - int(issued, 16)
        except ValueError as exc:
            raise InvalidToken("invalid") from exc
        if age > max_age:
            raise InvalidToken("expired")
        return fields
