"""Tests that need a program from a Debian package (pgbouncer, prometheus, promtool, …).

Missing locally: the test is skipped, saying which package brings the program. Under
SCANFLEET_REQUIRE_EXTERNAL=1 (CI installs every such package) a missing program fails the test instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

# Debian puts some daemons in sbin, which a non-root PATH often lacks.
_EXTRA_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def require_binary(name: str, package: str | None = None) -> str:
    """The program's path; skip (or fail, when external programs are required) if it is not installed."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_EXTRA_DIRS))
    if found:
        return found
    reason = f"{name} is not installed (apt-get install -y {package or name})"
    if os.environ.get("SCANFLEET_REQUIRE_EXTERNAL") == "1":
        pytest.fail(f"{reason}; SCANFLEET_REQUIRE_EXTERNAL=1 requires it")
    pytest.skip(reason)
