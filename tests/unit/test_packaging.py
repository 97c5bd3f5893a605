"""The wheel is one top-level package, `scanfleet`, and ships every file the code reads at run time."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_SHIPPED = {"RULES.md"}  # documentation beside the code, not read at run time


def test_package_data_covers_every_non_python_file() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["scanfleet"]
    missing = []
    for path in (ROOT / "scanfleet").rglob("*"):
        relative = path.relative_to(ROOT / "scanfleet").as_posix()
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in relative:
            continue
        if path.name not in NOT_SHIPPED and not any(fnmatch.fnmatch(relative, p) for p in patterns):
            missing.append(f"scanfleet/{relative}")
    assert missing == []


def test_the_processes_are_linked_into_the_package() -> None:
    # The top-level folders are where people look; the links make them scanfleet.api, .worker and .scheduler.
    for name in ("api", "worker", "scheduler"):
        link = ROOT / "scanfleet" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()


def _source_copy(into: Path) -> Path:
    """The checkout without what a run leaves in it, links kept as links: setuptools builds in the source tree."""
    left = shutil.ignore_patterns(".*", "*.egg-info", "__pycache__", "build", "dist")
    shutil.copytree(ROOT, into, symlinks=True, ignore=left)
    return into


def test_the_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    source = _source_copy(tmp_path / "source")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("scanfleet-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert tops == {"scanfleet"}
    for module in ("api/app.py", "worker/tasks.py", "scheduler/__main__.py", "worker/privacy/rules.py",
                   "db/migrations/0001_schema.sql", "broker/lua/admit.lua", "reports/templates/scan.html"):  # fmt: skip
        assert f"scanfleet/{module}" in names
