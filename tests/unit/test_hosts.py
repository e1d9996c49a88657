import pytest

from pnyx.kernel.errors import Invalid
from tenants.hosts import InvalidHost, normalise_host, validate_custom_domain, validate_slug


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Bretagne.LocalHost:8000", "bretagne.localhost"),
        ("consult.example.fr.", "consult.example.fr"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("[::1]:8000", "[::1]"),
        ("127.0.0.1:80", "127.0.0.1"),
    ],
)
def test_normalise_host(raw, expected):
    assert normalise_host(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        None,
        "bad_host",
        "a..b",
        "-lead.example",
        "x" * 64 + ".example",
        "host:port",
        "a b",
        "ex:1:2",
    ],
)
def test_malformed_hosts_are_refused(raw):
    with pytest.raises(InvalidHost) as info:
        normalise_host(raw)
    assert info.value.code == "invalid_host"


@pytest.mark.parametrize("slug", ["www", "api", "admin", "static"])
def test_reserved_names(slug):
    with pytest.raises(Invalid) as info:
        validate_slug(slug)
    assert info.value.code == "reserved_name"


@pytest.mark.parametrize("slug", ["a", "-x", "x-", "UPPER_", "é", "a" * 64, "two words"])
def test_invalid_slugs(slug):
    with pytest.raises(Invalid) as info:
        validate_slug(slug)
    assert info.value.code == "invalid_slug"


def test_custom_domain_rules():
    assert (
        validate_custom_domain("Consultation.Ville-Exemple.FR", "pnyx.test")
        == "consultation.ville-exemple.fr"
    )
    for bad in ("x.pnyx.test", "pnyx.test", "localhost", "10.0.0.1"):
        with pytest.raises(Invalid):
            validate_custom_domain(bad, "pnyx.test")
