#!/usr/bin/env python3
"""Loads sessiond's billing records (docs/billing.md) into PostgreSQL from export files or the Kafka topic, and its rate card from a daemon configuration."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

HERE = Path(__file__).resolve().parent
SCHEMA_FILE = HERE / "schema.sql"
REPORTS_DIR = HERE / "reports"

SLA_CLASSES = ("interactive", "streaming", "batch")
END_REASONS = ("unregistered", "lease_expired", "failed")
PRICE_KINDS = ("cpu_hour", "memory_gib_hour", "gpu_hour")
DEFAULT_BATCH = 2000
DEFAULT_GROUP = "sessiond-billing-loader"

# Derived amounts (cpu_seconds = cpu x seconds, ...) come from the daemon's
# doubles, so they may be off from the exact product in the last binary
# digits; anything further off is a wrong column, not rounding.
DERIVED_TOLERANCE = Decimal("1e-6")


class InputError(Exception):
    """Bad input; the message names the file and line (or topic offset) and the field."""


# --------------------------------------------------------------------------
# Records: fields, their checks, and the table columns they go to

class Cell(str):
    """A CSV cell: text that numeric fields may parse (in JSON a number must be a JSON number)."""


def _where(src: str, name: str) -> str:
    return f"{src}: field '{name}'"


def _integer(v: Any, src: str, name: str, minimum: int | None = 0) -> int:
    if isinstance(v, bool):
        raise InputError(f"{_where(src, name)}: expected an integer, got {json.dumps(v)}")
    if isinstance(v, Cell):
        try:
            v = Decimal(v.strip()) if v.strip() else None
        except InvalidOperation:
            raise InputError(f"{_where(src, name)}: not an integer: {v!r}") from None
        if v is None:
            raise InputError(f"{_where(src, name)}: is empty")
    if isinstance(v, Decimal):
        if not v.is_finite() or v != v.to_integral_value():
            raise InputError(f"{_where(src, name)}: not an integer: {v}")
        v = int(v)
    if not isinstance(v, int):
        raise InputError(f"{_where(src, name)}: expected an integer, got {json.dumps(v, default=str)}")
    if minimum is not None and v < minimum:
        raise InputError(f"{_where(src, name)}: must be >= {minimum}, got {v}")
    return v


def _number(v: Any, src: str, name: str) -> Decimal:
    if isinstance(v, bool):
        raise InputError(f"{_where(src, name)}: expected a number, got {json.dumps(v)}")
    if isinstance(v, int):
        v = Decimal(v)
    elif isinstance(v, Cell):
        if not v.strip():
            raise InputError(f"{_where(src, name)}: is empty")
        try:
            v = Decimal(v.strip())
        except InvalidOperation:
            raise InputError(f"{_where(src, name)}: not a number: {v!r}") from None
    if not isinstance(v, Decimal):
        raise InputError(f"{_where(src, name)}: expected a number, got {json.dumps(v, default=str)}")
    if not v.is_finite():
        raise InputError(f"{_where(src, name)}: not a finite number: {v}")
    if v < 0:
        raise InputError(f"{_where(src, name)}: must not be negative, got {v}")
    return v


def _text(v: Any, src: str, name: str, allow_empty: bool = False) -> str:
    if not isinstance(v, str):
        raise InputError(f"{_where(src, name)}: expected a string, got {json.dumps(v, default=str)}")
    if not allow_empty and v == "":
        raise InputError(f"{_where(src, name)}: is empty")
    if "\x00" in v:
        raise InputError(f"{_where(src, name)}: contains a NUL character")
    return v


def _any_text(v: Any, src: str, name: str) -> str:
    return _text(v, src, name, allow_empty=True)


def _one_of(choices: tuple[str, ...]) -> Callable[[Any, str, str], str]:
    def check(v: Any, src: str, name: str) -> str:
        v = _text(v, src, name)
        if v not in choices:
            raise InputError(f"{_where(src, name)}: {v!r} is not one of {', '.join(choices)}")
        return v
    return check


def _time(v: Any, src: str, name: str) -> dt.datetime:
    v = _text(v, src, name)
    try:
        t = dt.datetime.fromisoformat(v)
    except ValueError:
        raise InputError(f"{_where(src, name)}: not an ISO 8601 time: {v!r}") from None
    if t.tzinfo is None:
        raise InputError(f"{_where(src, name)}: {v!r} has no time zone (expected UTC, ending in Z)")
    return t.astimezone(dt.timezone.utc)


def _optional_integer(v: Any, src: str, name: str) -> int | None:
    if v is None or v == "":
        return None
    return _integer(v, src, name)


@dataclass(frozen=True)
class Kind:
    name: str
    table: str
    stage: str
    # (record field, table column, check) in the CSV export's column order.
    fields: tuple[tuple[str, str, Callable[[Any, str, str], Any]], ...]
    check: Callable[[dict[str, Any], str], None]
    # Columns whose min and max bound the tenant's first/last seen.
    seen: tuple[str, str]

    @property
    def columns(self) -> list[str]:
        return [c for _, c, _ in self.fields]

    @property
    def csv_header(self) -> list[str]:
        return [f for f, _, _ in self.fields]


def _common_fields() -> list[tuple[str, str, Callable]]:
    return [
        ("record_id", "record_id", _integer),
        ("tenant", "tenant", _text),
        ("consumer", "consumer", _text),
        ("session", "session_id", _text),
        ("user", "user_name", _any_text),
        ("application", "application", _any_text),
        ("sla", "sla", _one_of(SLA_CLASSES)),
    ]


def _check_tenant(r: dict[str, Any], src: str) -> None:
    # The daemon's own rule: the first segment, with or without a leading '/'.
    consumer = r["consumer"]
    first = (consumer[1:] if consumer.startswith("/") else consumer).split("/", 1)[0]
    if first != r["tenant"]:
        raise InputError(
            f"{_where(src, 'tenant')}: {r['tenant']!r} is not the first segment of consumer {r['consumer']!r}")


def _close(actual: Decimal, expected: Decimal) -> bool:
    return abs(actual - expected) <= DERIVED_TOLERANCE * max(Decimal(1), abs(expected))


def _check_usage(r: dict[str, Any], src: str) -> None:
    _check_tenant(r, src)
    start, end = r["start"], r["end"]
    for name, t in (("start", start), ("end", end)):
        if t.microsecond:
            raise InputError(f"{_where(src, name)}: {t.isoformat()} is not on a whole second")
    if end <= start:
        raise InputError(f"{_where(src, 'end')}: {end.isoformat()} is not after start {start.isoformat()}")
    next_hour = start.replace(minute=0, second=0) + dt.timedelta(hours=1)
    if end > next_hour:
        raise InputError(
            f"{_where(src, 'end')}: {end.isoformat()} is past the next full hour after start "
            f"{start.isoformat()} (intervals close every full UTC hour)")
    span = int((end - start).total_seconds())
    if r["seconds"] != span:
        raise InputError(f"{_where(src, 'seconds')}: {r['seconds']} but end - start is {span}")
    seconds = Decimal(span)
    for name, expected in (
        ("cpu_seconds", r["cpu"] * seconds),
        ("memory_gib_seconds", Decimal(r["memory_mib"]) * seconds / 1024),
        ("gpu_seconds", r["gpu"] * seconds),
    ):
        if not _close(r[name], expected):
            raise InputError(f"{_where(src, name)}: {r[name]} but it should be {expected}")
    if r["busy_slot_seconds"] > r["slots"] * seconds:
        raise InputError(
            f"{_where(src, 'busy_slot_seconds')}: {r['busy_slot_seconds']} exceeds slots x seconds "
            f"= {r['slots'] * span}")


def _check_session(r: dict[str, Any], src: str) -> None:
    _check_tenant(r, src)
    if r["ended"] < r["registered"]:
        raise InputError(
            f"{_where(src, 'ended')}: {r['ended'].isoformat()} is before registered {r['registered'].isoformat()}")


USAGE = Kind(
    name="usage",
    table="billing.usage",
    stage="stage_usage",
    fields=tuple(_common_fields() + [
        ("slots", "slots", _integer),
        ("cpu", "cpu", _number),
        ("memory_mib", "memory_mib", _integer),
        ("gpu", "gpu", _number),
        ("start", "start_time", _time),
        ("end", "end_time", _time),
        ("seconds", "seconds", _integer),
        ("cpu_seconds", "cpu_seconds", _number),
        ("memory_gib_seconds", "memory_gib_seconds", _number),
        ("gpu_seconds", "gpu_seconds", _number),
        ("busy_slot_seconds", "busy_slot_seconds", _number),
    ]),
    check=_check_usage,
    seen=("start_time", "end_time"),
)

SESSION = Kind(
    name="session",
    table="billing.session",
    stage="stage_session",
    fields=tuple(_common_fields() + [
        ("registered", "registered", _time),
        ("ended", "ended", _time),
        ("end_reason", "end_reason", _one_of(END_REASONS)),
        ("time_to_first_executor_ms", "time_to_first_executor_ms", _optional_integer),
        ("preemptions", "preemptions", _integer),
        ("slots_preempted", "slots_preempted", _integer),
    ]),
    check=_check_session,
    seen=("registered", "ended"),
)

KINDS = {k.name: k for k in (USAGE, SESSION)}


@dataclass
class Record:
    kind: Kind
    src: str          # where it came from, for error messages: FILE:LINE or TOPIC[P]@OFFSET
    row: tuple        # values in kind.columns order


def make_record(kind: Kind, values: dict[str, Any], src: str) -> Record:
    """Checks one record's fields (present, typed, consistent) and returns its table row."""
    checked: dict[str, Any] = {}
    for name, _, conv in kind.fields:
        if name not in values:
            raise InputError(f"{_where(src, name)}: missing")
        v = values[name]
        if v is None and conv is not _optional_integer:
            raise InputError(f"{_where(src, name)}: is null")
        checked[name] = conv(v, src, name)
    kind.check(checked, src)
    return Record(kind, src, tuple(checked[name] for name, _, _ in kind.fields))


def _json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_json_record(text: str | bytes, src: str) -> Record:
    """One JSON object (a JSON-lines line or a Kafka message value) -> Record."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        # Decimal keeps the exported digits exactly, as the numeric columns do.
        obj = json.loads(text, parse_float=Decimal, parse_constant=_json_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise InputError(f"{src}: malformed JSON: {e}") from None
    if not isinstance(obj, dict):
        raise InputError(f"{src}: expected a JSON object, got {type(obj).__name__}")
    if "kind" not in obj:
        raise InputError(f"{_where(src, 'kind')}: missing")
    kind = KINDS.get(obj["kind"]) if isinstance(obj["kind"], str) else None
    if kind is None:
        raise InputError(f"{_where(src, 'kind')}: unknown kind {json.dumps(obj['kind'])} (expected usage or session)")
    return make_record(kind, obj, src)


def read_jsonl(path: Path) -> Iterator[Record]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            yield parse_json_record(raw, f"{path}:{lineno}")


def read_csv(path: Path) -> Iterator[Record]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, strict=True)
        try:
            header = next(reader, None)
        except csv.Error as e:
            raise InputError(f"{path}:1: malformed CSV: {e}") from None
        if header is None:
            return
        header = [h.strip() for h in header]
        kind = next((k for k in KINDS.values() if set(header) == set(k.csv_header)), None)
        if kind is None:
            close = min(KINDS.values(), key=lambda k: len(set(header) ^ set(k.csv_header)))
            missing = [c for c in close.csv_header if c not in header]
            extra = [c for c in header if c not in close.csv_header]
            raise InputError(
                f"{path}:1: the header is neither a usage nor a session export"
                f" (closest: {close.name}; missing: {', '.join(missing) or '-'}; unknown: {', '.join(extra) or '-'})")
        if len(set(header)) != len(header):
            raise InputError(f"{path}:1: the header repeats a column")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise InputError(f"{path}:{reader.line_num}: malformed CSV: {e}") from None
            src = f"{path}:{reader.line_num}"
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                raise InputError(f"{src}: {len(row)} cells, the header has {len(header)}")
            yield make_record(kind, {h: Cell(c) for h, c in zip(header, row)}, src)


def detect_format(path: Path) -> str:
    """'csv' or 'jsonl', by extension, else by the first character (a JSON line opens with '{')."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "jsonl"
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "jsonl" if head.startswith(b"{") else "csv"


def read_file(path: Path, fmt: str = "auto") -> Iterator[Record]:
    if fmt == "auto":
        fmt = detect_format(path)
    return read_csv(path) if fmt == "csv" else read_jsonl(path)


def batched(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for r in records:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --------------------------------------------------------------------------
# Database

@dataclass
class Counts:
    usage: int = 0
    session: int = 0
    duplicates: int = 0

    def add(self, other: "Counts") -> None:
        self.usage += other.usage
        self.session += other.session
        self.duplicates += other.duplicates

    def __str__(self) -> str:
        return (f"loaded {self.usage} usage, {self.session} session records "
                f"({self.duplicates} duplicates skipped)")


def connect(dsn: str):
    import psycopg  # imported here so --help and --check work without it

    # Autocommit outside explicit transactions: every write below is in a
    # `with conn.transaction()` that commits or rolls back as one.
    return psycopg.connect(dsn, autocommit=True)


def install_schema(conn) -> int:
    """Runs schema.sql and every reports/*.sql in one transaction; returns the number of report files."""
    reports = sorted(REPORTS_DIR.glob("*.sql"))
    with conn.transaction():
        conn.execute(SCHEMA_FILE.read_text())
        for f in reports:
            conn.execute(f.read_text())
    return len(reports)


def require_schema(conn) -> None:
    missing = [t for t in ("billing.usage", "billing.session", "billing.tenant", "billing.load_run",
                           "billing.kafka_offset", "billing.rate_card_version", "billing.rate_card")
               if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is None]
    if missing:
        raise InputError(
            f"the database has no {', '.join(missing)}: create the schema first "
            f"(load_usage.py --init, or psql -f sql/schema.sql)")


class Loader:
    """Writes batches of records idempotently (on record_id) through per-connection staging tables."""

    def __init__(self, conn):
        self.conn = conn
        require_schema(conn)
        for k in KINDS.values():
            # seq orders error reports; src names the line for them.
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {k.stage} "
                f"(seq integer, src text, LIKE {k.table})")

    def start_run(self, source: str) -> int:
        return self.conn.execute(
            "INSERT INTO billing.load_run (source) VALUES (%s) RETURNING load_id", (source,)).fetchone()[0]

    def finish_run(self, load_id: int) -> None:
        self.conn.execute("UPDATE billing.load_run SET finished_at = now() WHERE load_id = %s", (load_id,))

    def load_batch(self, batch: list[Record], load_id: int) -> Counts:
        """Loads one batch; call inside a transaction. Raises InputError on a conflicting duplicate."""
        conn = self.conn
        for k in KINDS.values():
            conn.execute(f"TRUNCATE {k.stage}")
        staged = {k.name: 0 for k in KINDS.values()}
        for k in KINDS.values():
            rows = [r for r in batch if r.kind is k]
            if not rows:
                continue
            staged[k.name] = len(rows)
            with conn.cursor().copy(
                    f"COPY {k.stage} (seq, src, {', '.join(k.columns)}) FROM STDIN") as cp:
                for i, r in enumerate(rows):
                    cp.write_row((i, r.src) + r.row)
        self._check_conflicts()
        self._upsert_tenants()
        counts = Counts()
        for k in KINDS.values():
            if not staged[k.name]:
                continue
            cols = ", ".join(k.columns)
            cur = conn.execute(
                f"INSERT INTO {k.table} ({cols}, load_id) "
                f"SELECT DISTINCT ON (record_id) {cols}, %s FROM {k.stage} ORDER BY record_id, seq "
                f"ON CONFLICT (record_id) DO NOTHING", (load_id,))
            inserted = cur.rowcount
            setattr(counts, k.name, inserted)
            counts.duplicates += staged[k.name] - inserted
        conn.execute(
            "UPDATE billing.load_run SET usage_loaded = usage_loaded + %s, session_loaded = session_loaded + %s,"
            " duplicates = duplicates + %s WHERE load_id = %s",
            (counts.usage, counts.session, counts.duplicates, load_id))
        return counts

    def _check_conflicts(self) -> None:
        """A record_id seen again must be the same record: the ledger never reuses an id."""
        conn = self.conn
        for k in KINDS.values():
            cols = [c for c in k.columns if c != "record_id"]
            a = ", ".join(f"a.{c}" for c in cols)
            b = ", ".join(f"b.{c}" for c in cols)
            hit = conn.execute(
                f"SELECT a.src, a.record_id FROM {k.stage} a JOIN {k.table} b USING (record_id) "
                f"WHERE ({a}) IS DISTINCT FROM ({b}) ORDER BY a.seq LIMIT 1").fetchone()
            if hit:
                raise InputError(
                    f"{hit[0]}: record_id {hit[1]} differs from the {k.name} record already loaded "
                    f"with that id (record ids are never reused)")
            hit = conn.execute(
                f"SELECT b.src, a.src, a.record_id FROM {k.stage} a JOIN {k.stage} b "
                f"ON a.record_id = b.record_id AND a.seq < b.seq "
                f"WHERE ({a}) IS DISTINCT FROM ({b}) ORDER BY b.seq LIMIT 1").fetchone()
            if hit:
                raise InputError(f"{hit[0]}: record_id {hit[2]} repeats {hit[1]} with different content")
        for k, other in ((USAGE, SESSION), (SESSION, USAGE)):
            hit = conn.execute(
                f"SELECT a.src, a.record_id FROM {k.stage} a WHERE "
                f"EXISTS (SELECT 1 FROM {other.table} o WHERE o.record_id = a.record_id) OR "
                f"EXISTS (SELECT 1 FROM {other.stage} o WHERE o.record_id = a.record_id) "
                f"ORDER BY a.seq LIMIT 1").fetchone()
            if hit:
                raise InputError(
                    f"{hit[0]}: record_id {hit[1]} is also a {other.name} record's "
                    f"(ids are unique across kinds)")

    def _upsert_tenants(self) -> None:
        parts = " UNION ALL ".join(
            f"SELECT tenant, {k.seen[0]} AS t0, {k.seen[1]} AS t1 FROM {k.stage}" for k in KINDS.values())
        # Sorted so concurrent loaders lock tenant rows in the same order.
        self.conn.execute(
            f"INSERT INTO billing.tenant (name, first_seen, last_seen) "
            f"SELECT tenant, min(t0), max(t1) FROM ({parts}) s GROUP BY tenant ORDER BY tenant "
            f"ON CONFLICT (name) DO UPDATE SET "
            f"first_seen = least(billing.tenant.first_seen, EXCLUDED.first_seen), "
            f"last_seen = greatest(billing.tenant.last_seen, EXCLUDED.last_seen)")


def load_file(conn, path: Path, fmt: str, batch_size: int) -> Counts:
    """Loads one export file in one transaction: a bad line anywhere leaves the database as it was."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    loader = Loader(conn)
    total = Counts()
    with conn.transaction():
        load_id = loader.start_run(f"file:{path}")
        for batch in batched(read_file(path, fmt), batch_size):
            total.add(loader.load_batch(batch, load_id))
        loader.finish_run(load_id)
    return total


# --------------------------------------------------------------------------
# Kafka

@dataclass
class _KafkaState:
    assigned: bool = False
    last_activity: float = field(default_factory=time.monotonic)
    stop: bool = False


def load_kafka(conn, bootstrap: str, topic: str, group: str, until_idle: float | None,
               batch_size: int, extra_config: dict[str, str], log: Callable[[str], None],
               progress: Callable[[str], None] | None = None) -> Counts:
    """Consumes the topic into the database until idle (or a signal).

    Each batch of messages is loaded in one transaction together with the
    next offset of every partition in it (billing.kafka_offset); the
    consumer group's offsets are committed only after that. On assignment
    the consumer starts from the database's offsets (from the beginning for a
    partition it has none for), so the database alone decides where loading
    resumes and a lost group commit costs nothing but re-reading duplicates.
    """
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

    loader = Loader(conn)
    state = _KafkaState()

    def on_assign(consumer, partitions):
        rows = conn.execute(
            "SELECT partition, next_offset FROM billing.kafka_offset WHERE topic = %s", (topic,)).fetchall()
        known = dict(rows)
        for p in partitions:
            p.offset = known.get(p.partition, OFFSET_BEGINNING)
        consumer.assign(partitions)
        state.assigned = True
        state.last_activity = time.monotonic()

    def on_signal(signum, frame):
        state.stop = True

    config = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        # The outbox producer is idempotent, not transactional, but a
        # transactional producer's aborted records must never be billed.
        "isolation.level": "read_committed",
        "enable.partition.eof": False,
    }
    config.update(extra_config)
    consumer = Consumer(config)
    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    total = Counts()
    # Without an assignment there is nothing to be idle on; give the group
    # join this long before giving up.
    assign_deadline = time.monotonic() + max(30.0, until_idle or 0.0)
    try:
        consumer.subscribe([topic], on_assign=on_assign)
        with conn.transaction():
            load_id = loader.start_run(f"kafka:{bootstrap}/{topic}")
        while not state.stop:
            messages = consumer.consume(num_messages=batch_size, timeout=0.5)
            batch: list[Record] = []
            next_offsets: dict[int, int] = {}
            for m in messages:
                err = m.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        continue
                    if err.fatal() or err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART,
                                                     KafkaError._UNKNOWN_TOPIC,
                                                     KafkaError.TOPIC_AUTHORIZATION_FAILED):
                        raise InputError(f"kafka: {err.str()}")
                    log(f"kafka: {err.str()} (retrying)")
                    continue
                src = f"{m.topic()}[{m.partition()}]@{m.offset()}"
                if m.value() is None:
                    raise InputError(f"{src}: message has no value")
                batch.append(parse_json_record(m.value(), src))
                next_offsets[m.partition()] = max(next_offsets.get(m.partition(), 0), m.offset() + 1)
            now = time.monotonic()
            if batch:
                with conn.transaction():
                    counts = loader.load_batch(batch, load_id)
                    for partition, offset in sorted(next_offsets.items()):
                        conn.execute(
                            "INSERT INTO billing.kafka_offset (topic, partition, next_offset, group_id, load_id)"
                            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (topic, partition) DO UPDATE SET"
                            " next_offset = greatest(billing.kafka_offset.next_offset, EXCLUDED.next_offset),"
                            " group_id = EXCLUDED.group_id, load_id = EXCLUDED.load_id, updated_at = now()",
                            (topic, partition, offset, group, load_id))
                total.add(counts)
                try:
                    consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in next_offsets.items()],
                                    asynchronous=False)
                except KafkaException as e:
                    # The database already holds the offsets it resumes from.
                    log(f"kafka: committing offsets to group {group} failed: {e}")
                state.last_activity = now
                if progress:
                    progress(f"{counts} from {topic} (next offsets {dict(sorted(next_offsets.items()))})")
            elif until_idle is not None:
                if state.assigned and now - state.last_activity >= until_idle:
                    break
                if not state.assigned and now >= assign_deadline:
                    log(f"kafka: no partition of {topic} was assigned to group {group}; stopping")
                    break
        with conn.transaction():
            loader.finish_run(load_id)
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
        consumer.close()
    return total


# --------------------------------------------------------------------------
# Rate card

def _yaml_loader():
    import yaml

    class DecimalLoader(yaml.SafeLoader):
        """YAML floats as Decimal, so a price keeps the digits written in the file."""

    def construct_decimal(loader, node):
        text = loader.construct_scalar(node)
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = text  # .inf / .nan: rejected below with the field's name
        return value

    DecimalLoader.add_constructor("tag:yaml.org,2002:float", construct_decimal)
    return yaml, DecimalLoader


@dataclass
class RateCard:
    currency: str
    rates: dict[str, dict[str, Decimal | None]]   # sla -> price kind -> price (None: default's)
    source: str


def read_rate_card(path: Path) -> RateCard:
    """The `billing:` section of a daemon configuration file (docs/billing.md)."""
    yaml, loader = _yaml_loader()
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.load(f, Loader=loader)
    except OSError as e:
        raise InputError(f"{path}: cannot read the rate card: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise InputError(f"{path}: malformed YAML: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("billing"), dict):
        raise InputError(f"{path}: no `billing:` section")
    billing = doc["billing"]
    currency = billing.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InputError(f"{path}: billing.currency: expected an ISO 4217 code like EUR, got {currency!r}")
    rates = billing.get("rates")
    if not isinstance(rates, dict) or not rates:
        raise InputError(f"{path}: billing.rates: missing or empty")
    out: dict[str, dict[str, Decimal | None]] = {}
    for sla, prices in rates.items():
        where = f"{path}: billing.rates.{sla}"
        if sla != "default" and sla not in SLA_CLASSES:
            raise InputError(f"{where}: unknown SLA class (expected default, {', '.join(SLA_CLASSES)})")
        if prices is None:
            prices = {}
        if not isinstance(prices, dict):
            raise InputError(f"{where}: expected a mapping of prices like {{cpu_hour: 0.04}}")
        unknown = [k for k in prices if k not in PRICE_KINDS]
        if unknown:
            raise InputError(f"{where}.{unknown[0]}: unknown price (expected {', '.join(PRICE_KINDS)})")
        row: dict[str, Decimal | None] = {}
        for kind in PRICE_KINDS:
            v = prices.get(kind)
            if v is None:
                row[kind] = None
                continue
            if isinstance(v, bool) or not isinstance(v, (int, Decimal)) or (
                    isinstance(v, Decimal) and not v.is_finite()):
                raise InputError(f"{where}.{kind}: not a price: {v!r}")
            v = Decimal(v)
            if v < 0:
                raise InputError(f"{where}.{kind}: negative price {v}")
            row[kind] = v
        out[sla] = row
    return RateCard(currency=currency, rates=out, source=str(path))


def parse_valid_from(text: str | None, now: dt.datetime | None = None) -> dt.datetime:
    """--valid-from, which must be a full UTC hour; by default the next full hour (never retroactive)."""
    if text is None:
        now = now or dt.datetime.now(dt.timezone.utc)
        return now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--valid-from: not an ISO 8601 time: {text!r}") from None
    if t.tzinfo is None:
        raise InputError(f"--valid-from: {text!r} has no time zone (write e.g. 2026-12-01T00:00:00Z)")
    t = t.astimezone(dt.timezone.utc)
    if (t.minute, t.second, t.microsecond) != (0, 0, 0):
        raise InputError(
            f"--valid-from: {text} is not on a full UTC hour (usage intervals close on the hour, "
            f"so a price change can only take effect there)")
    return t


def _card_rows(conn, valid_from: dt.datetime) -> tuple[str, dict]:
    currency = conn.execute(
        "SELECT currency FROM billing.rate_card_version WHERE valid_from = %s", (valid_from,)).fetchone()[0]
    rows = conn.execute(
        "SELECT sla, cpu_hour, memory_gib_hour, gpu_hour FROM billing.rate_card WHERE valid_from = %s",
        (valid_from,)).fetchall()
    return currency, {sla: dict(zip(PRICE_KINDS, prices)) for sla, *prices in rows}


def load_rate_card(conn, card: RateCard, valid_from: dt.datetime) -> str:
    """Adds the card as a new version from valid_from; returns what it did, for printing."""
    require_schema(conn)
    stamp = valid_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    with conn.transaction():
        # One loader at a time decides whether this is a new version.
        conn.execute("LOCK TABLE billing.rate_card_version IN SHARE ROW EXCLUSIVE MODE")
        currencies = [r[0] for r in conn.execute(
            "SELECT DISTINCT currency FROM billing.rate_card_version").fetchall()]
        if currencies and currencies != [card.currency]:
            raise InputError(
                f"{card.source}: billing.currency is {card.currency} but the loaded rate card is in "
                f"{', '.join(currencies)}; the reports do not convert currencies")
        same = conn.execute(
            "SELECT 1 FROM billing.rate_card_version WHERE valid_from = %s", (valid_from,)).fetchone()
        if same:
            if _card_rows(conn, valid_from) == (card.currency, card.rates):
                return f"rate card valid from {stamp} already loaded"
            raise InputError(
                f"{card.source}: a different rate card is already loaded valid from {stamp}; "
                f"load the change with a later --valid-from")
        prev = conn.execute(
            "SELECT max(valid_from) FROM billing.rate_card_version WHERE valid_from < %s",
            (valid_from,)).fetchone()[0]
        if prev is not None and _card_rows(conn, prev) == (card.currency, card.rates):
            return (f"rate card unchanged since {prev.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%M:%SZ}; "
                    f"nothing loaded")
        conn.execute(
            "INSERT INTO billing.rate_card_version (valid_from, currency, source) VALUES (%s, %s, %s)",
            (valid_from, card.currency, card.source))
        for sla, prices in sorted(card.rates.items()):
            conn.execute(
                "INSERT INTO billing.rate_card (valid_from, sla, cpu_hour, memory_gib_hour, gpu_hour)"
                " VALUES (%s, %s, %s, %s, %s)",
                (valid_from, sla, *(prices[k] for k in PRICE_KINDS)))
    return f"loaded rate card ({card.currency}, {', '.join(sorted(card.rates))}) valid from {stamp}"


def rate_card_warnings(card: RateCard) -> list[str]:
    default = card.rates.get("default", {})
    out = []
    for kind in PRICE_KINDS:
        if default.get(kind) is None:
            lacking = [s for s in SLA_CLASSES if card.rates.get(s, {}).get(kind) is None]
            if lacking:
                out.append(f"warning: {card.source}: billing.rates.default has no {kind}, so "
                           f"{', '.join(lacking)} usage of it is unpriced (NULL cost in the reports)")
    return out


# --------------------------------------------------------------------------
# Command line

DESCRIPTION = """\
Load sessiond's billing records into PostgreSQL (see docs/billing.md and sql/README.md).

Sources, in the order they run when several are given:
  --init            create or update the schema (sql/schema.sql) and the report
                    functions (sql/reports/*.sql); idempotent
  --rates FILE      add the `billing:` rate card of a daemon configuration file as a
                    new price version from --valid-from (default: the next full UTC
                    hour); a card identical to the one in force loads nothing
  --file PATH       an export file: JSON lines (both kinds) or CSV of usage or of
                    session records, told apart by extension (.csv, .jsonl/.json/.ndjson),
                    else by content; the CSV header says which kind. Each file is
                    one transaction: a bad line loads nothing from that file
  --kafka BOOTSTRAP --topic TOPIC
                    the billing topic; each batch is one transaction together with
                    its partitions' next offsets (billing.kafka_offset), and the
                    group's offsets are committed to Kafka only after it. Runs until
                    --until-idle seconds pass without a message, or until SIGINT/SIGTERM

Records are idempotent on record_id: a record loaded before is skipped (and
counted as a duplicate); one that reuses an id with different content is an
error. Prints "loaded N usage, M session records (K duplicates skipped)".
"""

EPILOG = """\
exit status: 0 loaded, 1 bad input or database error (nothing from the failing
file or batch was written), 2 bad command line

examples:
  load_usage.py --dsn "host=db dbname=billing" --init --rates /etc/sessiond/sessiond.yaml
  load_usage.py --dsn "$BILLING_DSN" --file usage-2026-11.jsonl
  load_usage.py --dsn "$BILLING_DSN" --kafka broker:9092 --topic sessiond.billing --until-idle 10
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="load_usage.py", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", default=os.environ.get("BILLING_DSN"),
                   help="libpq connection string or URL (default: $BILLING_DSN, else libpq's "
                        "PGHOST/PGDATABASE/... environment)")
    p.add_argument("--init", action="store_true",
                   help="create or update the schema and report functions first")
    p.add_argument("--rates", metavar="CONFIG.yaml", type=Path,
                   help="daemon configuration file whose billing: section is the rate card")
    p.add_argument("--valid-from", metavar="TIME",
                   help="when --rates takes effect, a full UTC hour such as 2026-12-01T00:00:00Z "
                        "(default: the next full hour)")
    p.add_argument("--file", metavar="PATH", type=Path, action="append", default=[],
                   help="export file to load (repeatable; each file is its own transaction)")
    p.add_argument("--format", choices=("auto", "jsonl", "csv"), default="auto",
                   help="format of --file (default: auto)")
    p.add_argument("--kafka", metavar="BOOTSTRAP", help="Kafka bootstrap servers, host:port[,...]")
    p.add_argument("--topic", help="Kafka topic of the billing records (with --kafka)")
    p.add_argument("--group", default=DEFAULT_GROUP,
                   help=f"Kafka consumer group (default: {DEFAULT_GROUP})")
    p.add_argument("--until-idle", metavar="SECONDS", type=float,
                   help="stop after this many seconds without a message (default: run until signalled)")
    p.add_argument("--kafka-config", metavar="KEY=VALUE", action="append", default=[],
                   help="extra librdkafka consumer setting, e.g. security.protocol=SSL (repeatable)")
    p.add_argument("--batch-size", metavar="N", type=int, default=DEFAULT_BATCH,
                   help=f"records per batch (default: {DEFAULT_BATCH})")
    p.add_argument("--check", action="store_true",
                   help="only read and check --file inputs and --rates, without a database")
    p.add_argument("-v", "--verbose", action="store_true", help="print each Kafka batch")
    return p


def main(argv: list[str] | None = None, out=None, err=None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.kafka and not args.topic:
        parser.error("--kafka needs --topic")
    if args.topic and not args.kafka:
        parser.error("--topic needs --kafka")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.until_idle is not None and args.until_idle < 0:
        parser.error("--until-idle must not be negative")
    if args.valid_from and not args.rates:
        parser.error("--valid-from needs --rates")
    if not (args.init or args.rates or args.file or args.kafka):
        parser.error("nothing to do: give --init, --rates, --file or --kafka")
    if args.check and (args.kafka or args.init):
        parser.error("--check reads files only (not --kafka or --init)")
    extra: dict[str, str] = {}
    for kv in args.kafka_config:
        if "=" not in kv:
            parser.error(f"--kafka-config {kv!r}: expected KEY=VALUE")
        k, v = kv.split("=", 1)
        extra[k] = v

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    def warn(line: str) -> None:
        print(line, file=err, flush=True)

    db_errors: tuple = ()  # psycopg's, once it is imported
    try:
        card = read_rate_card(args.rates) if args.rates else None
        valid_from = parse_valid_from(args.valid_from) if card else None
        if card:
            for w in rate_card_warnings(card):
                warn(w)
        if args.check:
            if card:
                say(f"rate card ok ({card.currency}, {', '.join(sorted(card.rates))})")
            for path in args.file:
                if not path.is_file():
                    raise InputError(f"{path}: no such file")
                n = {"usage": 0, "session": 0}
                for r in read_file(path, args.format):
                    n[r.kind.name] += 1
                say(f"{path}: ok, {n['usage']} usage, {n['session']} session records")
            return 0

        import psycopg

        db_errors = (psycopg.Error,)
        try:
            conn = connect(args.dsn or "")
        except psycopg.Error as e:
            warn(f"load_usage: cannot connect to the database: {e}")
            return 1
        try:
            if args.init:
                n = install_schema(conn)
                say(f"schema and {n} report files installed")
            if card:
                say(load_rate_card(conn, card, valid_from))
            total = Counts()
            for path in args.file:
                counts = load_file(conn, path, args.format, args.batch_size)
                say(f"{counts} from {path}")
                total.add(counts)
            if args.kafka:
                counts = load_kafka(conn, args.kafka, args.topic, args.group, args.until_idle,
                                    args.batch_size, extra, log=warn,
                                    progress=say if args.verbose else None)
                say(f"{counts} from kafka topic {args.topic}")
                total.add(counts)
            if len(args.file) + bool(args.kafka) > 1:
                say(f"{total} in all")
        finally:
            conn.close()
    except InputError as e:
        warn(f"load_usage: error: {e}")
        return 1
    except db_errors as e:
        warn(f"load_usage: database error: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
