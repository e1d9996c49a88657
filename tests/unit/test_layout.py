"""The repository's layout: no top-level package shadows the standard library."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL_PACKAGES = ("pnyx", "tenants", "billing", "themes")


def importable_names_on_path() -> set[str]:
    """Every module name that a folder on our sys.path entries (repo root, platform/) provides."""
    names = set()
    for folder in (ROOT, ROOT / "platform"):
        for child in folder.iterdir():
            if child.name.startswith(".") or child.name in {"node_modules", "var"}:
                continue
            if child.is_dir() and (child / "__init__.py").exists():
                names.add(child.name)
            elif child.suffix == ".py":
                names.add(child.stem)
    return names


def test_no_package_shadows_the_standard_library():
    clashes = importable_names_on_path() & set(sys.stdlib_module_names)
    assert not clashes, f"these names shadow stdlib modules: {sorted(clashes)}"


def test_platform_folder_is_not_a_package():
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_top_level_packages_are_packages():
    assert importable_names_on_path() >= set(TOP_LEVEL_PACKAGES)


def test_stdlib_platform_and_uuid_import_from_the_repo_root():
    result = subprocess.run(
        [sys.executable, "-c", "import platform, uuid; print(platform.python_version())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ".".join(map(str, sys.version_info[:3]))
