"""As root, the embedded PostgreSQL runs as a system user created for it: that is said, once, when it happens."""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from scanfleet import embedded


def test_creating_the_postgresql_user_as_root_is_said_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    created: list[list[str]] = []
    account = pwd.struct_passwd(("scanfleet_pg", "x", os.getuid(), os.getgid(), "", "/", "/bin/false"))

    def getpwnam(name: str) -> pwd.struct_passwd:
        if not created:
            raise KeyError(name)
        return account

    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(pwd, "getpwnam", getpwnam)
    monkeypatch.setattr(subprocess, "run", lambda argv, check: created.append(argv))
    install, data = tmp_path / "pginstall", tmp_path / "postgres"
    (install / "bin").mkdir(parents=True)
    data.mkdir()

    with caplog.at_level(logging.INFO, logger=embedded.log.name):
        assert embedded._pg_account(data, install) == account
        assert embedded._pg_account(data, install) == account  # the user exists now: nothing to say

    assert [argv[1:] for argv in created] == [["--system", "--no-create-home", "scanfleet_pg"]]
    [said] = [record.getMessage() for record in caplog.records]
    assert said.startswith("running as root: ") and "useradd --system" in said and "scanfleet_pg" in said
