"""A real PgBouncer (Debian's `pgbouncer`) in transaction mode in front of a test PostgreSQL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from scanfleet.embedded import _ChildServer, free_port


@dataclass
class PgBouncer(_ChildServer):
    """Fewer server connections than clients (pool_size), so transactions of different clients really do
    share server sessions: anything that leans on session state shows up as a failure."""

    binary: str = "pgbouncer"
    server_url: str = ""  # any URL of the PostgreSQL behind it: host, port, user and password are taken
    pool_size: int = 4

    def start(self) -> str:
        server = urlsplit(self.server_url)
        user, password = server.username or "postgres", server.password or ""
        self.port = self.port or free_port(self.host)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        users = self.data_dir / "userlist.txt"
        users.write_text(f'"{user}" "{password}"\n')
        config = self.data_dir / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={server.hostname} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = {self.host}\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 1000\n"
        )
        # PgBouncer will not run as root; -u drops to an ordinary account after reading its files.
        self._spawn([self.binary, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(config)])
        return self.url()

    def url(self, database: str = "postgres") -> str:
        user = urlsplit(self.server_url).username or "postgres"
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"
