"""Refresh the French catalog: extract strings, merge, fill from a table, list what is missing.

.venv/bin/python infra/i18n.py            # extract + update + report untranslated
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "platform/pnyx/translations/fr/LC_MESSAGES/messages.po"
POT = ROOT / "var/messages.pot"


def main() -> int:
    POT.parent.mkdir(exist_ok=True)
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [
            bin_dir / "pybabel",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            POT,
            "--ignore-dirs=.venv node_modules var tests",
            "--no-location",
            "--sort-output",
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            bin_dir / "pybabel",
            "update",
            "-i",
            POT,
            "-d",
            ROOT / "platform/pnyx/translations",
            "-l",
            "fr",
            "--no-fuzzy-matching",
            "--ignore-obsolete",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with CATALOG.open("rb") as f:
        catalog = read_po(f, locale="fr")
    missing = [m.id for m in catalog if m.id and not m.string]
    for msgid in missing:
        print("untranslated:", msgid)
    with CATALOG.open("wb") as f:
        write_po(f, catalog, no_location=True, sort_output=True, width=100)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
