"""A throwaway PostgreSQL server for the tests: Debian's `postgresql` binaries, a cluster in a
temporary directory, reachable only through a Unix socket there, run as an unprivileged user.

`PostgresServer.start()` makes and starts the cluster (`initdb`, `pg_ctl`); `new_database()`
gives each test an empty database of its own, as a libpq DSN; `stop()` removes it all. Where the
binaries are missing or the server does not start, `start()` returns None and says why
(`PostgresServer.unavailable`), so the PostgreSQL half of a test skips with that reason.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer"]

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)   # newest version first


class PostgresServer:
    unavailable = ""   # why no server could be started, once one was tried

    def __init__(self, directory: Path, user: str | None, inside: list[str], listen: str) -> None:
        self.directory = directory
        self.user = user   # run as this user (we are root), or as ourselves (None)
        self.inside = inside   # a prefix that runs a command on another host (`ip netns exec NS`)
        self.listen = listen   # the TCP address it listens on too ("": the socket only)
        self.socket_dir = directory
        self._names = itertools.count(1)

    @classmethod
    def start(cls, *, inside: list[str] = (), listen: str = "") -> PostgresServer | None:
        """A new server; `inside` and `listen`: on another host (`tests/netns.py`), reached there
        over TCP at `listen`:5432 by any host of its network (trust: a test network only)."""
        binaries = next((d for d in _BIN_DIRS if (d / "initdb").exists()), None)
        if binaries is None:
            cls.unavailable = "PostgreSQL binaries absent (Debian package postgresql not installed)"
            return None
        user = None
        if os.geteuid() == 0:   # initdb refuses root: the cluster runs as the package's own user
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                cls.unavailable = "running as root and no 'postgres' user to run the server as"
                return None
            user = "postgres"
        directory = Path(tempfile.mkdtemp(prefix="unikat-pg-"))
        if user:
            shutil.chown(directory, user)
        server = cls(directory, user, list(inside), listen)
        data = directory / "data"
        try:
            server._run(binaries / "initdb", "-D", str(data), "--auth=trust", "--username=unikat",
                        "--encoding=UTF8", "--locale=C.UTF-8")
            with (data / "postgresql.conf").open("a") as conf:
                # a test server: no TCP, no durability (a crash loses a test run, never data)
                conf.write(f"listen_addresses = '{listen}'\nunix_socket_directories = '{directory}'\n"
                           "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                           "max_connections = 200\nshared_buffers = 64MB\n")
            if listen:
                with (data / "pg_hba.conf").open("a") as hba:
                    hba.write(f"host all all {listen.rsplit('.', 1)[0]}.0/24 trust\n")
            server._run(binaries / "pg_ctl", "-D", str(data), "-l", str(directory / "server.log"),
                        "-w", "-t", "60", "start")
        except (OSError, subprocess.CalledProcessError) as error:
            log = directory / "server.log"
            detail = log.read_text(errors="replace")[-500:] if log.exists() else ""
            cls.unavailable = f"PostgreSQL did not start: {error} {getattr(error, 'stderr', '') or ''} {detail}"
            shutil.rmtree(directory, ignore_errors=True)
            return None
        server.binaries = binaries
        return server

    def _run(self, *command: object) -> None:
        prefix = [*self.inside, *(["runuser", "-u", self.user, "--"] if self.user else [])]
        subprocess.run([*prefix, *map(str, command)], check=True, capture_output=True, text=True,
                       cwd=self.directory)

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://unikat@/{database}?host={self.socket_dir}"

    def tcp_dsn(self, database: str) -> str:
        return f"postgresql://unikat@{self.listen}:5432/{database}"

    def new_database(self) -> str:
        """An empty database of its own; its DSN (over TCP when it listens there)."""
        import psycopg

        name = f"test_{os.getpid()}_{next(self._names)}"
        # through the Unix socket: a path, which reaches into another network namespace too
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.tcp_dsn(name) if self.listen else self.dsn(name)

    def stop(self) -> None:
        try:
            self._run(self.binaries / "pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
