"""pytest fixtures of the billing SQL tests: one real PostgreSQL per test session, a fresh database per test."""

from __future__ import annotations

import io
import itertools
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
sys.path.insert(0, str(ROOT / "tests" / "infra"))
sys.path.insert(0, str(ROOT / "sql"))

import load_usage  # noqa: E402
import postgres  # noqa: E402

import psycopg  # noqa: E402

# The two rate cards of tests/sql/data and when they take effect.
RATES_V1 = (DATA / "rates-2026-11-01.yaml", "2026-11-01T00:00:00Z")
RATES_V2 = (DATA / "rates-2026-11-21T14.yaml", "2026-11-21T14:00:00Z")


class Db:
    """One test's database: a connection for checks and the loader's CLI run in-process."""

    def __init__(self, server: postgres.PostgresServer, name: str):
        self.server = server
        self.name = name
        self.dsn = server.dsn(name)
        self.conn = psycopg.connect(self.dsn, autocommit=True)

    def query(self, sql: str, *params) -> list[tuple]:
        return self.conn.execute(sql, params or None).fetchall()

    def scalar(self, sql: str, *params):
        return self.conn.execute(sql, params or None).fetchone()[0]

    def load(self, *args: str | Path) -> tuple[int, str, str]:
        """Runs load_usage.py's main() against this database: (exit status, stdout, stderr)."""
        out, err = io.StringIO(), io.StringIO()
        rc = load_usage.main(["--dsn", self.dsn, *map(str, args)], out=out, err=err)
        return rc, out.getvalue(), err.getvalue()

    def load_ok(self, *args: str | Path) -> str:
        rc, out, err = self.load(*args)
        assert rc == 0, f"load_usage {args} failed ({rc}):\n{out}{err}"
        return out

    def table(self, table: str) -> list[tuple]:
        """Every row of a table without the load bookkeeping, in record_id order."""
        cols = [r[0] for r in self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'billing'"
            " AND table_name = %s AND column_name <> 'load_id' ORDER BY ordinal_position", table)]
        return self.query(f"SELECT {', '.join(cols)} FROM billing.{table} ORDER BY record_id")

    def close(self) -> None:
        self.conn.close()


@pytest.fixture(scope="session")
def pg():
    with postgres.PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def billing_template(pg):
    """A database with the schema and report functions, copied for each test (faster than installing)."""
    name = pg.create_database("billing_template")
    with psycopg.connect(pg.dsn(name), autocommit=True) as conn:
        load_usage.install_schema(conn)
    return name


_names = itertools.count(1)


def _fresh(pg, template: str):
    name = f"test_{next(_names)}"
    pg.create_database(name, template=template)
    db = Db(pg, name)
    try:
        yield db
    finally:
        db.close()
        pg.drop_database(name)


@pytest.fixture
def empty_db(pg):
    """A fresh database without the billing schema."""
    yield from _fresh(pg, "template1")


@pytest.fixture
def db(pg, billing_template):
    """A fresh database with the billing schema and report functions, and no data."""
    yield from _fresh(pg, billing_template)


@pytest.fixture
def loaded_db(db):
    """db with both rate cards (a price change at 2026-11-21 14:00 UTC) and the test ledger loaded."""
    for path, valid_from in (RATES_V1, RATES_V2):
        db.load_ok("--rates", path, "--valid-from", valid_from)
    db.load_ok("--file", DATA / "ledger.jsonl")
    return db
