"""Signed, expiring tokens (API bearer tokens, card keys, reset links) bound to a purpose."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class InvalidToken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" | "invalid"


class Signer:
    """One secret, many purposes: a token signed for one purpose never verifies for another."""

    def __init__(self, secret_key: str) -> None:
        self.secret_key = secret_key
        self._serializers: dict[str, URLSafeTimedSerializer] = {}

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
