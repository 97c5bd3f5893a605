"""The import contracts in pyproject.toml hold on the tree, and `lint-imports` fails when an import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    # lint-imports puts its working directory first on sys.path, so it reads the scanfleet package in `tree`.
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree, capture_output=True, text=True, check=False,
    )  # fmt: skip


def copy_of_the_tree(destination: Path) -> Path:
    skip = shutil.ignore_patterns("__pycache__")
    for folder in ("scanfleet", "api", "worker", "scheduler"):
        shutil.copytree(ROOT / folder, destination / folder, symlinks=True, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", destination)
    return destination


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("path", "imported", "contract"),
    [
        ("scanfleet/ids.py", "scanfleet.worker.scan", "The core imports no process"),
        ("api/errors.py", "scanfleet.worker.scan", "The processes never import one another"),
        ("scheduler/observe.py", "scanfleet.worker.scan", "The processes never import one another"),
        ("worker/tasks.py", "arq.constants", "Only the broker reaches into arq"),
        ("scanfleet/lifecycle.py", "scanfleet.broker.scripts", "Only the broker loads Lua"),
        ("scanfleet/model.py", "scanfleet.db.scans", "The model is a leaf"),
    ],
)
def test_a_bad_import_breaks_its_contract(tmp_path: Path, path: str, imported: str, contract: str) -> None:
    tree = copy_of_the_tree(tmp_path)
    with (tree / path).open("a") as source:
        source.write(f"\nimport {imported}  # noqa: E402\n")
    result = lint_imports(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract} BROKEN" in result.stdout
    importer = "scanfleet." + path.removeprefix("scanfleet/").removesuffix(".py").replace("/", ".")
    reported = imported.split(".")[0] if not imported.startswith("scanfleet.") else imported  # a package, whole
    assert f"{importer} -> {reported}" in result.stdout, result.stdout
