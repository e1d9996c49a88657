"""Build ``data/postal_codes.csv`` from the npm package ``@etalab/decoupage-administratif``.

Run from the repository root after ``npm install``::

    PYTHONPATH=platform python -m pnyx.identity.build_territories [path-to-node_modules]

Choices made (``territory.py`` relies on them):

- Only communes of type ``commune-actuelle`` are read; delegated and associated communes carry no
  postal codes of their own in the package.
- Paris, Lyon and Marseille: the ``arrondissement-municipal`` entries are skipped. The whole
  commune (75056, 69123, 13055) already lists every arrondissement's postal code, so 75001–75020
  and 75116 map to Paris with the population of the whole city (the build checks this).
- One row per postal code. When several communes share a code (about two thirds of the codes),
  the most populous commune is kept, ties going to the lowest INSEE code. A participant in one of
  the smaller communes is thus typed like the largest commune of the code.
- A commune without a population figure (Clipperton) gets 0.
- Overseas collectivities (975, 977, 978, 984–989) keep the package's pseudo-codes, where the
  région code equals the département code.

The script also writes ``data/SOURCES.md`` with the package's version and upstream sources.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

PACKAGE = "@etalab/decoupage-administratif"
DATA_DIR = Path(__file__).resolve().parent / "data"
CSV_PATH = DATA_DIR / "postal_codes.csv"
SOURCES_PATH = DATA_DIR / "SOURCES.md"
COLUMNS = ("postal_code", "insee_code", "commune", "population", "departement", "region")
CITIES_WITH_ARRONDISSEMENTS = {"75056", "69123", "13055"}

Commune = Mapping[str, Any]


def default_node_modules() -> Path:
    """The repository's ``node_modules`` (this file is ``platform/pnyx/identity/...``)."""
    return Path(__file__).resolve().parents[3] / "node_modules"


def read_package(node_modules: Path) -> tuple[str, list[Commune]]:
    """Return the package version and its communes, all types included."""
    root = node_modules / PACKAGE
    try:
        version = json.loads((root / "package.json").read_text(encoding="utf-8"))["version"]
        communes = json.loads((root / "data" / "communes.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SystemExit(
            f"{PACKAGE} not found under {node_modules} (run `npm install`): {exc}"
        ) from exc
    return version, communes


def check_arrondissements(communes: Iterable[Commune]) -> None:
    """Fail unless every arrondissement's postal codes are listed by its whole city."""
    by_code = {c["code"]: c for c in communes if c.get("type") == "commune-actuelle"}
    for arr in communes:
        if arr.get("type") != "arrondissement-municipal":
            continue
        city = by_code.get(arr.get("commune", ""))
        if city is None or city["code"] not in CITIES_WITH_ARRONDISSEMENTS:
            raise SystemExit(f"arrondissement {arr['code']} has an unexpected city")
        missing = set(arr.get("codesPostaux", ())) - set(city.get("codesPostaux", ()))
        if missing:
            raise SystemExit(
                f"arrondissement {arr['code']}: {sorted(missing)} not on {city['nom']}"
            )


def postal_code_rows(communes: Iterable[Commune]) -> list[dict[str, str | int]]:
    """One row per postal code: the most populous current commune that uses it."""
    best: dict[str, Commune] = {}
    for commune in communes:
        if commune.get("type") != "commune-actuelle":
            continue
        for postal_code in commune.get("codesPostaux", ()):
            if len(postal_code) != 5 or not postal_code.isdigit():
                raise SystemExit(f"unexpected postal code {postal_code!r} on {commune['code']}")
            current = best.get(postal_code)
            if current is None or _rank(commune) < _rank(current):
                best[postal_code] = commune
    return [
        {
            "postal_code": postal_code,
            "insee_code": c["code"],
            "commune": c["nom"],
            "population": int(c.get("population") or 0),
            "departement": c["departement"],
            "region": c["region"],
        }
        for postal_code, c in sorted(best.items())
    ]


def _rank(commune: Commune) -> tuple[int, str]:
    """Sort key: larger population first, then lower INSEE code."""
    return (-int(commune.get("population") or 0), commune["code"])


def write_csv(rows: list[dict[str, str | int]], path: Path) -> None:
    """Write the rows as UTF-8 CSV with ``\\n`` line ends, so rebuilds diff cleanly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def write_sources(version: str, row_count: int, path: Path) -> None:
    """Record where the data comes from, next to it."""
    path.write_text(
        f"""# Sources of `postal_codes.csv`

Built by `PYTHONPATH=platform python -m pnyx.identity.build_territories` from the npm package
`{PACKAGE}` version {version} (`data/communes.json`, communes of type
`commune-actuelle`; {row_count} postal codes). The package's README maps versions to vintages
(6.0.0 = 2026). Data licence: Licence Ouverte (Etalab).

The package documents its upstream sources as:

- INSEE, Code officiel géographique (communes, départements, régions);
- INSEE, populations légales (plus INSEE 2017 figures for Mayotte, and the COM populations);
- La Poste, base officielle des codes postaux (data.gouv.fr), under Licence Ouverte.

Population is the commune's population as given by the package. One row per postal code: when a
code is shared, the most populous commune is kept (ties: lowest INSEE code). Paris, Lyon and
Marseille arrondissement codes map to the whole city.
""",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    """Build the CSV and SOURCES.md; print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("node_modules", nargs="?", type=Path, default=default_node_modules())
    args = parser.parse_args(argv)
    version, communes = read_package(args.node_modules)
    check_arrondissements(communes)
    rows = postal_code_rows(communes)
    write_csv(rows, CSV_PATH)
    write_sources(version, len(rows), SOURCES_PATH)
    print(f"{CSV_PATH}: {len(rows)} postal codes from {PACKAGE} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
