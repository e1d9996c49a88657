"""Run the benchmarks: `make bench` (all) or `make bench ONLY=<name>`.

Each ``bench_<name>.py`` is a script printing lines ``bench <figure>: <value> <unit> [ratio …]``;
they run one after the other (the machine has two cores) and the figures go to
``bench-results.txt``. ONLY matches a script's name or one of the figures it prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def main(argv: list[str]) -> int:
    only = argv[0] if argv else None
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if only in s.stem or f"bench {only}" in s.read_text()]
        if not scripts:
            print(f"no benchmark matches {only!r}", file=sys.stderr)
            return 2
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)])}
    figures: list[str] = []
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, str(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("bench ") and (not only or only in script.stem or only in line):
                figures.append(line.rstrip())
        if proc.wait() != 0:
            failed.append(script.stem)
        print(f"   ({time.monotonic() - started:.0f} s)", flush=True)
    (ROOT / "bench-results.txt").write_text("\n".join(figures) + "\n")
    print("\n".join(["", "== figures (also in bench-results.txt)", *figures]))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
