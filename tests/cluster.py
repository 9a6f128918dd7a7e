"""A private PostgreSQL cluster for one test: initdb into a temporary directory, a free port on
127.0.0.1, started and restarted with pg_ctl, removed afterwards.

For tests that stop or restart the database server: the machine's shared server runs the other
tests' databases and must never be restarted by one of them. initdb refuses to run as root, so
as root the cluster is the ``postgres`` account's (``runuser``), in a directory it owns.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # the newest first
# Durability is not what these tests are about: the server writes as little as it may.
FAST = ("-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        " -c listen_addresses=127.0.0.1")


def pg_bin() -> Path | None:
    """The directory of initdb and pg_ctl, or None when PostgreSQL's server is not installed."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    for directory in BIN_DIRS:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One PostgreSQL server of its own. ``url(name)`` is a SQLAlchemy URL for a database on it."""

    def __init__(self, port: int | None = None, bin_dir: Path | None = None):
        self.bin = bin_dir or pg_bin()
        if self.bin is None:
            raise RuntimeError("initdb not found: install PostgreSQL's server (apt-get install postgresql)")
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="casedesk-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._owner = None
        if os.geteuid() == 0:  # initdb and postgres refuse root
            self._owner = pwd.getpwnam("postgres")
            os.chown(self.root, self._owner.pw_uid, self._owner.pw_gid)

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._owner is not None:
            command = ["runuser", "-u", self._owner.pw_name, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout)

    def _options(self) -> str:
        return f"-p {self.port} -c unix_socket_directories={self.root} {FAST}"

    def start(self) -> Cluster:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-locale", "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-w", "-t", "60",
                  "start")
        return self

    def restart(self, mode: str = "fast") -> float:
        """Restart the server (every connection is cut); returns the seconds it took."""
        t0 = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", self._options(), "-m", mode, "-w",
                  "-t", "60", "restart")
        return time.monotonic() - t0

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def remove(self) -> None:
        """Stop the server (immediately) and delete its files."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url(name)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.remove()
