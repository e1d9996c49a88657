"""Card keys: each served proposal carries a signed key bound to (proposal, session, place).

A vote that comes back with a valid key for its proposal and voter counts for scores; without
one, or with a wrong one, it counts raw only. Nothing is refused for a bad key: the vote is
kept, untrusted, and the reason is said.
"""

from __future__ import annotations

from dataclasses import dataclass

from pnyx.kernel.signing import InvalidToken, Signer

PURPOSE = "card-key"
MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class CardCheck:
    trusted: bool
    reason: str | None = None  # None | "missing" | "expired" | "invalid" | "mismatch"
    place: str | None = None


def issue(
    signer: Signer, *, tenant_id: int, proposal_id: int, participant_id: int, place: str
) -> str:
    """A compact signed key (a sequence serves a dozen at a time): see ``Signer.sign_fields``."""
    return signer.sign_fields(PURPOSE, (tenant_id, proposal_id, participant_id, place))


def verify(
    signer: Signer,
    key: str | None,
    *,
    tenant_id: int,
    proposal_id: int,
    participant_id: int,
    max_age: int = MAX_AGE,
) -> CardCheck:
    if not key:
        return CardCheck(False, "missing")
    if len(key) > 500:
        return CardCheck(False, "invalid")
    try:
        fields = signer.verify_fields(PURPOSE, key, max_age=max_age)
    except InvalidToken as exc:
        return CardCheck(False, exc.reason)
    if len(fields) != 4:
        return CardCheck(False, "invalid")
    if fields[:3] != [str(tenant_id), str(proposal_id), str(participant_id)]:
        return CardCheck(False, "mismatch")
    return CardCheck(True, None, fields[3])


def fingerprint(key: str) -> str:
    """A short stable name for a key (to remember it was spent without storing it)."""
    import hashlib

    return hashlib.sha256(key.encode()).hexdigest()[:32]
