"""A throwaway real PostgreSQL server for tests: initdb into a temp dir, serve on 127.0.0.1 only.

Usage:
    with PostgresServer() as pg:
        pg.create_database("t1")
        dsn = pg.dsn("t1")

The server uses Debian's binaries (/usr/lib/postgresql/<version>/bin, or
$PG_BINDIR), listens on a free loopback port with its unix socket inside the
temp dir (so it never collides with a system cluster), trusts every local
connection, and runs with fsync off because its data is thrown away.
PostgreSQL refuses to run as root, so when the tests run as root (as CI does)
initdb and postgres run as the `postgres` system user the Debian package
creates, and the temp dir is handed to that user.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SUPERUSER = "postgres"


def find_bindir() -> Path:
    """The directory with initdb and postgres: $PG_BINDIR, else Debian's newest version."""
    env = os.environ.get("PG_BINDIR")
    if env:
        return Path(env)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else -1,
    )
    for c in reversed(candidates):
        if (Path(c) / "postgres").exists() and (Path(c) / "initdb").exists():
            return Path(c)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: install the Debian package "
        "`postgresql` (bash scripts/setup.sh) or set PG_BINDIR"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One postgres process over a fresh cluster in a temp dir; stop() removes everything."""

    def __init__(self, bindir: Path | None = None, start_timeout: float = 30.0):
        self.bindir = bindir or find_bindir()
        self.start_timeout = start_timeout
        self.tmp: Path | None = None
        self.datadir: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._run_as: pwd.struct_passwd | None = None

    # -- process plumbing -------------------------------------------------

    def _user_kwargs(self) -> dict:
        """Popen arguments that drop root to the postgres user (no-op for non-root)."""
        if self._run_as is None:
            return {}
        return {
            "user": self._run_as.pw_uid,
            "group": self._run_as.pw_gid,
            "extra_groups": [],
            # libpq/initdb look at HOME for nothing we need, but a root HOME
            # they cannot read makes some versions warn.
            "env": {**os.environ, "HOME": str(self.tmp), "USER": SUPERUSER, "LOGNAME": SUPERUSER},
            "cwd": str(self.tmp),
        }

    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            self._run_as = pwd.getpwnam("postgres")
        except KeyError:
            raise RuntimeError(
                "running as root and there is no `postgres` user to run PostgreSQL as: "
                "install the Debian package `postgresql`"
            ) from None

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> "PostgresServer":
        self._prepare_user()
        self.tmp = Path(tempfile.mkdtemp(prefix="sched-pg-"))
        # A short path: the unix socket's path must stay under ~100 bytes.
        self.datadir = self.tmp / "data"
        if self._run_as is not None:
            os.chown(self.tmp, self._run_as.pw_uid, self._run_as.pw_gid)
        os.chmod(self.tmp, 0o700)
        atexit.register(self.stop)

        log = self.tmp / "initdb.log"
        with open(log, "wb") as out:
            rc = subprocess.call(
                [
                    str(self.bindir / "initdb"),
                    "-D", str(self.datadir),
                    "-U", SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",  # the cluster is thrown away
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                **self._user_kwargs(),
            )
        if rc != 0:
            raise RuntimeError(f"initdb failed ({rc}):\n{log.read_text(errors='replace')}")

        # The port can be taken between free_port() and postgres binding it;
        # a few tries make that race harmless.
        last_err = ""
        for _ in range(5):
            self.port = free_port()
            if self._launch():
                return self
            last_err = self.log_text()
        raise RuntimeError(f"postgres did not start:\n{last_err}")

    def _launch(self) -> bool:
        assert self.tmp is not None and self.datadir is not None
        logfile = open(self.tmp / "postgres.log", "ab")
        self.proc = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D", str(self.datadir),
                "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={self.tmp}",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
                "-c", "max_connections=40",
                "-c", "shared_buffers=32MB",
                "-c", "log_min_messages=warning",
                "-c", "TimeZone=UTC",
            ],
            stdout=logfile,
            stderr=subprocess.STDOUT,
            # Its own process group, so a Ctrl-C on the test run does not
            # reach it before stop() shuts it down properly.
            start_new_session=True,
            **self._user_kwargs(),
        )
        logfile.close()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self._accepts_connections():
                return True
            time.sleep(0.05)
        self._terminate()
        return False

    def _accepts_connections(self) -> bool:
        rc = subprocess.call(
            [str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", SUPERUSER, "-d", "postgres", "-t", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return rc == 0

    def _terminate(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        # SIGINT is postgres' "fast shutdown": abort sessions, clean exit.
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        self._terminate()
        self.proc = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers for tests ----------------------------------------------------

    def log_text(self) -> str:
        if self.tmp is None:
            return ""
        p = self.tmp / "postgres.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection string for the given database."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={dbname} connect_timeout=10"

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, dbname: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs the server's psql against a database (ON_ERROR_STOP on)."""
        return subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", dbname, *args],
            capture_output=True,
            text=True,
            check=check,
        )

    def create_database(self, name: str, template: str = "template1") -> str:
        self.psql("postgres", "-c", f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str) -> None:
        self.psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
