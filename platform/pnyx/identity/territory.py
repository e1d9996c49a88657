"""A participant's territory, derived from a French postal code.

Pure and stdlib-only: it reads ``data/postal_codes.csv`` (built by ``build_territories`` from
``@etalab/decoupage-administratif``, see ``data/SOURCES.md``) once, on first use, and keeps it in
memory (about 6,300 codes).

What a postal code can and cannot tell:

- A postal code is shared by several communes about two times in three. We keep, per code, the
  most populous commune (ties: lowest INSEE code) and type the whole code by it. So a village
  sharing its code with a larger town is typed like that town: about 550 communes, 1.6 % of the
  population, land in another type than their own.
- Paris, Lyon and Marseille arrondissement codes (75001–75020, 75116, 69001–69009,
  13001–13016) map to the whole city, with its whole population: they are urban.
- Overseas: DROM codes carry their real département and région (974 → région 04); the overseas
  collectivities (975, 977, 978, 984–989) carry INSEE's pseudo-codes, région = département.
- A well-formed code absent from the data (Monaco's 98000, CEDEX codes, codes created after the
  data's vintage) gives ``None``: the participant simply has no territory segment.
"""

from __future__ import annotations

import csv
import enum
import functools
import re
from dataclasses import dataclass
from pathlib import Path

DATA_PATH = Path(__file__).resolve().parent / "data" / "postal_codes.csv"
MEDIUM_FROM = 20_000
URBAN_ABOVE = 100_000
_POSTAL_CODE = re.compile(r"[0-9]{5}")


class TerritoryType(enum.StrEnum):
    """Territory type of a segment, by the population of the commune."""

    RURAL = "rural"
    MEDIUM = "medium"
    URBAN = "urban"

    @property
    def label_fr(self) -> str:
        """French label, for results pages."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        """English label, for results pages."""
        return _LABELS[self][1]


_LABELS: dict[TerritoryType, tuple[str, str]] = {
    TerritoryType.RURAL: (
        "Rural et petites villes (moins de 20 000 habitants)",
        "Rural areas and towns (under 20,000 inhabitants)",
    ),
    TerritoryType.MEDIUM: (
        "Villes moyennes (20 000 à 100 000 habitants)",
        "Mid-size towns (20,000 to 100,000 inhabitants)",
    ),
    TerritoryType.URBAN: (
        "Grandes villes (plus de 100 000 habitants)",
        "Cities (over 100,000 inhabitants)",
    ),
}


class InvalidPostalCode(ValueError):
    """The input is not a French postal code: five digits, spaces allowed anywhere."""

    code = "invalid_postal_code"

    def __init__(self, raw: object) -> None:
        self.raw = raw
        super().__init__(f"{raw!r} is not a postal code: expected 5 digits, e.g. 75001 or 35 000")


@dataclass(frozen=True, slots=True)
class Territory:
    """Where a postal code lies, and its territory type."""

    postal_code: str
    commune: str
    insee_code: str
    population: int
    departement: str
    region: str
    type: TerritoryType


def territory_type(population: int) -> TerritoryType:
    """Type by population: rural below 20,000; medium from 20,000 up to 100,000 included;
    urban above 100,000. So 19,999 is rural, 20,000 and 100,000 are medium, 100,001 is urban.
    """
    if population < 0:
        raise ValueError(f"population cannot be negative: {population}")
    if population < MEDIUM_FROM:
        return TerritoryType.RURAL
    if population <= URBAN_ABOVE:
        return TerritoryType.MEDIUM
    return TerritoryType.URBAN


def normalise_postal_code(raw: str) -> str:
    """Return the 5-digit code; whitespace is dropped anywhere ("75 001" → "75001").

    Only ASCII digits count; anything else (letters, dashes, other lengths) raises
    ``InvalidPostalCode``.
    """
    if not isinstance(raw, str):
        raise InvalidPostalCode(raw)
    compact = "".join(raw.split())
    if not _POSTAL_CODE.fullmatch(compact):
        raise InvalidPostalCode(raw)
    return compact


def territory_for(postal_code: str) -> Territory | None:
    """The territory of a postal code, or ``None`` if the code is well formed but unknown.

    Raises ``InvalidPostalCode`` when the input is not a postal code.
    """
    return _territories().get(normalise_postal_code(postal_code))


@functools.cache
def _territories() -> dict[str, Territory]:
    """Load the data file once per process."""
    with DATA_PATH.open(encoding="utf-8", newline="") as data:
        return {
            row["postal_code"]: Territory(
                postal_code=row["postal_code"],
                commune=row["commune"],
                insee_code=row["insee_code"],
                population=int(row["population"]),
                departement=row["departement"],
                region=row["region"],
                type=territory_type(int(row["population"])),
            )
            for row in csv.DictReader(data)
        }
