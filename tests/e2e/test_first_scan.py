"""The README's first scan as a newcomer types it: `scanfleet up` in one directory, the commands of its "First scan"
block run as written in another, with no scanfleet setting in the environment and no internet."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanfleet.config import Settings
from tests.support.up import Platform

pytestmark = pytest.mark.e2e

README = Path(__file__).parents[2] / "README.md"
BASH = shutil.which("bash") or "/bin/bash"
DEFAULT_DEMO_URL = f"http://127.0.0.1:{Settings.model_fields['demo_port'].default}/"


def first_scan_commands() -> str:
    """The first shell block of README's "First scan" section."""
    text = README.read_text()
    section = text[text.index("\n## First scan\n") :]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README's First scan section has no sh block"
    return block.group(1)


@pytest.fixture
def newcomer(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(tmp_path)  # the defaults: nothing on loopback is allowed but the demo site
    yield platform
    platform.kill()


def test_the_readmes_first_scan_works_from_another_directory(newcomer: Platform, tmp_path: Path) -> None:
    newcomer.wait_until_up()
    commands = first_scan_commands()
    # The block scans the demo site at its default address; this platform's is on a port of the test's own.
    assert DEFAULT_DEMO_URL in commands, commands
    demo = newcomer.demo_url
    assert demo is not None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again, fresh, own_api = (tmp_path / name for name in ("again.out", "fresh.out", "api.out"))
    script = commands.replace(DEFAULT_DEMO_URL, demo) + "\n".join(
        [
            f"scanfleet scan {demo} --wait > {again}",  # within five minutes: the same scan back
            f"scanfleet scan {demo} --fresh > {fresh}",
            f"scanfleet scan {newcomer.api}/ --wait > {own_api} || echo exit $? >> {own_api}",
            "",
        ]
    )

    done = subprocess.run(
        [BASH, "-euo", "pipefail", "-c", script],
        cwd=elsewhere, env=newcomer.user_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{newcomer.output()}"

    assert re.search(r"^scan \S+ accepted", done.stdout, re.MULTILINE), done.stdout
    assert "status      succeeded" in done.stdout
    evidence = re.search(r"^evidence +(\d+) rows$", done.stdout, re.MULTILINE)
    assert evidence is not None and int(evidence.group(1)) >= 10, done.stdout
    for code in ("third_party_scripts", "cookie_without_httponly", "sensitive_form_over_http", "no_https"):
        assert f"] {code}: " in done.stdout, code
    scan_id = re.search(r"^scan (\S+) accepted", done.stdout, re.MULTILINE).group(1)  # type: ignore[union-attr]

    reused = again.read_text()
    assert reused.startswith(f"reusing scan {scan_id} from "), reused
    assert "status      succeeded" in reused
    assert re.match(r"scan (\S+) accepted", fresh.read_text()).group(1) != scan_id  # type: ignore[union-attr]

    # The demo site was allowed by its address and port alone: the API, on the same loopback address, was not.
    refused = own_api.read_text()
    assert "error       blocked_address: 127.0.0.1 is not a public address (loopback)" in refused, refused
    assert refused.rstrip().endswith("exit 1")
