"""Every file the code reads at run time is shipped in the wheel, not only present in a checkout."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("scanfleet", "api", "worker", "scheduler")
NOT_SHIPPED = {"RULES.md"}  # documentation beside the code, not read at run time


def test_package_data_covers_every_non_python_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    missing = []
    for package in PACKAGES:
        patterns = config.get(package, [])
        for path in (ROOT / package).rglob("*"):
            relative = path.relative_to(ROOT / package).as_posix()
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in relative:
                continue
            if path.name not in NOT_SHIPPED and not any(fnmatch.fnmatch(relative, p) for p in patterns):
                missing.append(f"{package}/{relative}")
    assert missing == []
