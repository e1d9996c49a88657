"""Compact signed fields (card keys): round trip, and every way a key can be wrong."""

from __future__ import annotations

import pytest

from pnyx.kernel.signing import InvalidToken, Signer

NOW = 1_800_000_000.0
SIGNER = Signer("a-secret-key-for-the-tests-0123456789")


def test_round_trip_gives_the_fields_back_as_strings():
    token = SIGNER.sign_fields("card-key", (3, 41, 977, "seq:ab12"), now=NOW)
    assert SIGNER.verify_fields("card-key", token, max_age=60, now=NOW + 59) == [
        "3",
        "41",
        "977",
        "seq:ab12",
    ]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t.replace("41", "42", 1),  # another proposal
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # another MAC
        lambda t: t.rpartition(".")[0],  # no MAC
        lambda t: "",
        lambda t: "." + t,
    ],
)
def test_a_changed_token_is_invalid(tamper):
    token = SIGNER.sign_fields("card-key", (3, 41, 977, "seq:ab12"), now=NOW)
    with pytest.raises(InvalidToken) as caught:
        SIGNER.verify_fields("card-key", tamper(token), max_age=60, now=NOW)
    assert caught.value.reason == "invalid"


def test_another_purpose_or_secret_does_not_verify():
    token = SIGNER.sign_fields("card-key", (1, 2), now=NOW)
    with pytest.raises(InvalidToken):
        SIGNER.verify_fields("reset", token, max_age=60, now=NOW)
    with pytest.raises(InvalidToken):
        Signer("another-secret-key-0123456789-abcdef").verify_fields(
            "card-key", token, max_age=60, now=NOW
        )


def test_an_old_token_is_expired():
    token = SIGNER.sign_fields("card-key", (1, 2), now=NOW)
    with pytest.raises(InvalidToken) as caught:
        SIGNER.verify_fields("card-key", token, max_age=60, now=NOW + 61)
    assert caught.value.reason == "expired"


@pytest.mark.parametrize("field", ["", "a.b", "é", "a b", "x/y"])
def test_fields_outside_the_alphabet_are_refused_when_signing(field):
    with pytest.raises(ValueError):
        SIGNER.sign_fields("card-key", (1, field))
