"""PgBouncer in transaction mode as a process, in front of the machine's PostgreSQL.

The test's own pgbouncer on a free port with its own ini (Debian's `pgbouncer` package, which
`make system-deps` installs): any database of the server behind it, trust authentication,
pool_mode = transaction, as a deployment that pools connections for several web machines would.
"""

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.notifications.live import ManagedProcess, free_port


def pgbouncer_binary() -> str | None:
    """Debian's pgbouncer, wherever the PATH of a non-root shell may miss it."""
    debian = "/usr/sbin/pgbouncer"
    return shutil.which("pgbouncer") or (debian if os.access(debian, os.X_OK) else None)


class PgBouncer(ManagedProcess):
    """pgbouncer on a free port in front of the PostgreSQL server of `server_url`."""

    def __init__(self, *, server_url: str, root: Path, pool_size: int = 10):
        super().__init__(log_path=root / "pgbouncer.log")
        self.server = urlsplit(server_url)
        self.root = root
        self.pool_size = pool_size
        self.port = free_port()

    def url_for(self, database_url: str) -> str:
        """The same database and user as database_url, through this pgbouncer."""
        parts = urlsplit(database_url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{self.port}" if auth else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def start(self, *, timeout: float = 15) -> "PgBouncer":
        self.root.mkdir(parents=True, exist_ok=True)
        user = self.server.username or "postgres"
        (self.root / "userlist.txt").write_text(f'"{user}" ""\n')
        ini = self.root / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"* = host={self.server.hostname or '127.0.0.1'} port={self.server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.root / 'userlist.txt'}\n"
            "pool_mode = transaction\n"
            "max_client_conn = 500\n"
            f"default_pool_size = {self.pool_size}\n"
            # psycopg sends these at connect; pgbouncer would refuse an unknown one.
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        args = [pgbouncer_binary(), str(ini)]
        if os.geteuid() == 0:
            # pgbouncer refuses to run as root; it reads its files before it switches.
            args[1:1] = ["-u", "nobody"]
        self.spawn(args, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})

        def answering():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                return False

        self.wait_ready(answering, timeout=timeout, what="pgbouncer")
        return self
