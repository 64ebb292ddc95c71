"""A real PostgreSQL server for the tests, started from the installed binaries in a tmp folder.

``initdb`` into the folder, ``pg_ctl start`` on a free loopback port (no system service, no network); every test
that wants one gets a fresh empty database (``new_database``). PostgreSQL refuses to run as root, which CI is:
then the server runs as the ``postgres`` system user (``runuser -u postgres --``), whom the package creates.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.live_server import free_port


def server_binaries() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: ``VISIONARY_TEST_PG_BIN``, else Debian's newest installed major
    version (15 on bookworm; a newer Debian's works the same)."""
    if "VISIONARY_TEST_PG_BIN" in os.environ:
        return Path(os.environ["VISIONARY_TEST_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server binaries are missing: run `make test` (it installs them as root) "
                           "or `sudo apt-get install -y postgresql`")
    return found[-1].parent


SUPERUSER = "postgres"


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """In a folder of its own under the system's temp folder (pytest's own tmp folders are closed to other users,
    and the server may run as ``postgres``); ``stop`` removes it."""

    def __init__(self):
        self.home = Path(tempfile.mkdtemp(prefix="visionary-pg-"))
        self.data = self.home / "data"
        self.port = free_port()
        self._names = itertools.count(1)

    def _run(self, *command: str) -> None:
        subprocess.run(_as_server_user([str(server_binaries() / command[0]), *command[1:]]), check=True, capture_output=True,
                       timeout=120)

    def start(self) -> "PostgresServer":
        if os.geteuid() == 0:
            shutil.chown(self.home, SUPERUSER)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync")
        self.resume()
        return self

    def pause(self) -> None:
        """Stop the server, keeping its data (a clean, fast shutdown): as a database restart looks to the app."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        options = (f"-h 127.0.0.1 -p {self.port} -k {self.home} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=300")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.home / "server.log"), "-o", options, "-w", "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "site") -> str:
        """A fresh empty database: its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
