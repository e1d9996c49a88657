"""Territories from postal codes, checked against the committed open data."""

from __future__ import annotations

import csv

import pytest

from pnyx.identity.territory import (
    DATA_PATH,
    InvalidPostalCode,
    Territory,
    TerritoryType,
    normalise_postal_code,
    territory_for,
    territory_type,
)


def known(postal_code: str) -> Territory:
    territory = territory_for(postal_code)
    assert territory is not None, postal_code
    return territory


@pytest.mark.parametrize("postal_code", ["75001", "75011", "75020", "75116"])
def test_paris_arrondissements_map_to_the_whole_city(postal_code: str) -> None:
    paris = known(postal_code)
    assert (paris.commune, paris.insee_code, paris.departement, paris.region) == (
        "Paris",
        "75056",
        "75",
        "11",
    )
    assert paris.population > 2_000_000
    assert paris.type is TerritoryType.URBAN


def test_lyon_and_marseille_arrondissements() -> None:
    assert known("69003").commune == "Lyon"
    assert known("13016").commune == "Marseille"
    assert known("13016").type is TerritoryType.URBAN


def test_rennes_is_urban() -> None:
    rennes = known("35000")
    assert (rennes.commune, rennes.insee_code, rennes.departement, rennes.region) == (
        "Rennes",
        "35238",
        "35",
        "53",
    )
    assert rennes.type is TerritoryType.URBAN


@pytest.mark.parametrize(
    ("postal_code", "commune"), [("22000", "Saint-Brieuc"), ("56100", "Lorient")]
)
def test_mid_size_towns_are_medium(postal_code: str, commune: str) -> None:
    town = known(postal_code)
    assert town.commune == commune
    assert 20_000 <= town.population <= 100_000
    assert town.type is TerritoryType.MEDIUM


def test_a_village_is_rural() -> None:
    sein = known("29990")
    assert (sein.commune, sein.departement, sein.region) == ("Île-de-Sein", "29", "53")
    assert sein.population < 1_000
    assert sein.type is TerritoryType.RURAL


def test_corsica_keeps_its_departement_codes() -> None:
    ajaccio = known("20000")
    assert (ajaccio.commune, ajaccio.insee_code, ajaccio.departement, ajaccio.region) == (
        "Ajaccio",
        "2A004",
        "2A",
        "94",
    )
    assert known("20200").departement == "2B"  # Bastia


def test_overseas() -> None:
    saint_denis = known("97400")
    assert (saint_denis.commune, saint_denis.departement, saint_denis.region) == (
        "Saint-Denis",
        "974",
        "04",
    )
    assert saint_denis.type is TerritoryType.URBAN
    assert known("97600").departement == "976"  # Mamoudzou, Mayotte


def test_real_towns_either_side_of_20000() -> None:
    assert known("06140").commune == "Vence"
    assert known("06140").type is TerritoryType.RURAL  # 19,917 inhabitants
    assert known("46000").commune == "Cahors"
    assert known("46000").type is TerritoryType.MEDIUM  # 20,050 inhabitants


@pytest.mark.parametrize(
    ("population", "expected"),
    [
        (0, TerritoryType.RURAL),
        (19_999, TerritoryType.RURAL),
        (20_000, TerritoryType.MEDIUM),
        (100_000, TerritoryType.MEDIUM),
        (100_001, TerritoryType.URBAN),
    ],
)
def test_thresholds(population: int, expected: TerritoryType) -> None:
    assert territory_type(population) is expected


def test_negative_population_is_an_error() -> None:
    with pytest.raises(ValueError):
        territory_type(-1)


def test_labels_in_both_languages() -> None:
    for kind in TerritoryType:
        assert kind.label_fr and kind.label_en
    assert "20 000" in TerritoryType.RURAL.label_fr
    assert TerritoryType("urban") is TerritoryType.URBAN


@pytest.mark.parametrize("raw", ["7500", "750011", "ab123", "", "   ", "75-001", "٧٥٠٠١", "7500١"])
def test_malformed_codes_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPostalCode, match="5 digits"):
        territory_for(raw)


def test_invalid_postal_code_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        normalise_postal_code(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["75001", " 75001 ", "75 001", "75\u00a0001", "7 5 0 0 1"])
def test_spaces_are_dropped(raw: str) -> None:
    assert normalise_postal_code(raw) == "75001"
    assert known(raw).commune == "Paris"


def test_unknown_well_formed_codes_give_none() -> None:
    assert territory_for("00000") is None
    assert territory_for("98000") is None  # Monaco is not a French commune


def test_data_file_is_one_row_per_code_and_well_formed() -> None:
    with DATA_PATH.open(encoding="utf-8", newline="") as data:
        rows = list(csv.DictReader(data))
    codes = [row["postal_code"] for row in rows]
    assert len(codes) == len(set(codes)) > 6_000
    assert codes == sorted(codes)
    assert all(normalise_postal_code(code) == code for code in codes)
    assert DATA_PATH.stat().st_size < 1_500_000
