"""Bulk I/O per dialect: Polars frames in and out of the ledger.

DuckDB: Arrow (a frame registered as a view, no copy; a staged frame stays registered as the
view until the transaction ends). PostgreSQL: ``COPY … FROM STDIN`` / ``COPY (…) TO STDOUT`` as
CSV. The statements here are built from a frame's column names and a table name (PostgreSQL's
staged tables are created from the frame's schema), so they are the one place
besides ``sql.py`` that holds SQL text (tests/ledger/test_sql_files.py names it).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .errors import LedgerError

_DUCK_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # :name (SQLAlchemy) → $name (DuckDB)

_PG_TYPES = {
    pl.Int64: "BIGINT", pl.Int32: "INTEGER", pl.Int16: "SMALLINT", pl.Int8: "SMALLINT",
    pl.UInt32: "BIGINT", pl.UInt64: "NUMERIC", pl.Float64: "DOUBLE PRECISION", pl.Float32: "REAL",
    pl.String: "TEXT", pl.Date: "DATE", pl.Boolean: "BOOLEAN", pl.Datetime: "TIMESTAMP",
    pl.Binary: "BYTEA",
}

# PostgreSQL type OIDs → Polars
_PG_OIDS = {20: pl.Int64, 23: pl.Int32, 21: pl.Int16, 25: pl.String, 1043: pl.String, 1042: pl.String,
            1082: pl.Date, 16: pl.Boolean, 701: pl.Float64, 700: pl.Float32, 1700: pl.Int64,
            1114: pl.Datetime}


def _driver(conn: Connection):
    return conn.connection.driver_connection


def read_frame(conn: Connection, dialect: str, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The result of ``sql`` as a Polars frame (Arrow on DuckDB, COPY on PostgreSQL)."""
    if dialect == "duckdb":
        raw = _driver(conn)
        rel = raw.sql(_DUCK_PARAM.sub(r"$\1", sql), params=dict(params)) if params else raw.sql(sql)
        return pl.from_arrow(rel.to_arrow_table()) if rel is not None else pl.DataFrame()
    if params:
        result = conn.execute(sa.text(sql), dict(params))
        schema = {c[0]: _PG_OIDS.get(c[1], pl.String) for c in result.cursor.description}
        return pl.DataFrame([tuple(r) for r in result.fetchall()], schema=schema, orient="row")
    # no parameters: COPY the result out as CSV (much faster than row fetches)
    cur = _driver(conn).cursor()
    try:
        cur.execute(f"SELECT * FROM ({sql}) AS q LIMIT 0")
        schema = {c.name: _PG_OIDS.get(c.type_code, pl.String) for c in cur.description}
        buf = io.BytesIO()
        with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, NULL '\\N')") as cp:
            for block in cp:
                buf.write(block)
    finally:
        cur.close()
    if buf.tell() == 0:
        return pl.DataFrame(schema=schema)
    buf.seek(0)
    bools = [c for c, t in schema.items() if t == pl.Boolean]
    read_schema = {c: (pl.String if t == pl.Boolean else t) for c, t in schema.items()}
    out = pl.read_csv(buf, has_header=False, schema=read_schema, null_values="\\N")
    return out.with_columns([(pl.col(c) == "t").alias(c) for c in bools]) if bools else out


# DuckDB takes a frame in slices of this many rows (each one Arrow view, one statement, in the
# caller's transaction): the Arrow copy of a slice (Polars' string views become Arrow strings) is
# the only extra memory, not a copy of the whole frame (bench/bench_collection.py: 5M rows)
DUCK_CHUNK = 250_000


def stage(conn: Connection, dialect: str, name: str, frame: pl.DataFrame, order: Sequence[str] | None = None) -> str:
    """A temporary table ``name`` holding ``frame`` (dropped at the end of the transaction).

    DuckDB: the frame itself, registered on the connection as a view of its Arrow data (Polars'
    string views, no copy), not a temporary table: a table would copy the rows into DuckDB's
    memory and keep them there until the transaction ends (a 消込 of 5M payments stages its
    keys, dedup keys and 期別 changes, 5M rows each). ``unstage_all`` (``Ledger.transaction``)
    unregisters the views at the end of the transaction; a name staged again is replaced;
    ``order`` is ignored.

    PostgreSQL: ``order`` (columns) copies the rows sorted so — the order of the table an
    ``UPDATE … FROM`` joins them to, whose rows it then rewrites page after page instead of at
    random."""
    if dialect == "duckdb":
        raw = _driver(conn)
        raw.register(name, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        conn.info.setdefault(_STAGED, set()).add(name)
        return name
    cols = ", ".join(f'"{c}" {pg_type(t)}' for c, t in frame.schema.items())
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(sa.text(f"CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP"))
    _pg_copy(conn, name, frame.sort(list(order)) if order else frame)
    conn.execute(sa.text(f"ANALYZE {name}"))  # the planner sees the real size of the staged rows
    return name


_STAGED = "kokuho_staged"  # Connection.info key: the names staged as DuckDB views


def unstage_all(conn: Connection, *, quiet: bool = False) -> None:
    """DuckDB: unregister the views ``stage`` registered on this connection (their Arrow data is
    freed with the frames); PostgreSQL's staged tables drop themselves at commit. ``quiet``: after
    an error (an aborted DuckDB transaction refuses it; the connection is closed after the
    rollback, an in-memory ledger's next ``stage`` of the name replaces the view)."""
    names = conn.info.pop(_STAGED, None)
    if not names:
        return
    raw = _driver(conn)
    for name in sorted(names):
        try:
            raw.unregister(name)
        except Exception:  # noqa: BLE001 - quiet: the transaction's own error is what is raised
            if not quiet:
                raise


def analyze(conn: Connection, dialect: str, table: str) -> None:
    """PostgreSQL: fresh planner statistics of ``table`` (in the transaction) after a bulk load, so
    that the next join over it sees its real size (not the autovacuum's later figure); DuckDB
    keeps its statistics as it writes."""
    if dialect == "postgresql":
        conn.execute(sa.text(f"ANALYZE {table}"))


def insert(conn: Connection, dialect: str, table: str, frame: pl.DataFrame) -> int:
    """Bulk insert ``frame`` into ``table`` (columns by name). Returns the row count."""
    if frame.height == 0:
        return 0
    cols = ", ".join(f'"{c}"' for c in frame.columns)
    if dialect == "duckdb":
        for start in range(0, frame.height, DUCK_CHUNK):
            _duck_from_arrow(conn, frame.slice(start, DUCK_CHUNK),
                             f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {{view}}")
    else:
        _pg_copy(conn, table, frame)
    return frame.height


def _duck_from_arrow(conn: Connection, frame: pl.DataFrame, sql: str) -> None:
    """Run ``sql`` (with ``{view}``) over ``frame`` registered as an Arrow view (no copy)."""
    raw = _driver(conn)
    view = "_arrow_frame"
    # Arrow's string / binary views (Polars' own layout): no copy of the strings, which the
    # default (large_string) export would make, and keep after the frame is gone
    raw.register(view, frame.to_arrow(compat_level=pl.CompatLevel.newest()))
    try:
        raw.execute(sql.format(view=view))
    finally:
        raw.unregister(view)


#: rows of a frame per CSV block of a ``COPY … FROM STDIN``: the blocks are handed to a thread that
#: sends them (psycopg's QueuedLibpqWriter, at most its queue's 128 MB ahead), so that Polars writes
#: the next block while the server parses this one (bench/bench_collection.py: the 消込データ and
#: 納付履歴 of 5M payments, about 18 s of the client's CSV writing no longer in series with the server)
COPY_BLOCK = 100_000


def _pg_copy(conn: Connection, table: str, frame: pl.DataFrame, chunk: int = COPY_BLOCK) -> None:
    from psycopg.copy import QueuedLibpqWriter  # (PostgreSQL only: DuckDB's steps do not load psycopg)

    cols = ", ".join(f'"{c}"' for c in frame.columns)
    cur = _driver(conn).cursor()
    try:
        with cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                      writer=QueuedLibpqWriter(cur)) as cp:
            for start in range(0, frame.height, chunk):
                buf = io.BytesIO()
                frame.slice(start, chunk).write_csv(buf, include_header=False, null_value="\\N",
                                                    date_format="%Y-%m-%d")
                cp.write(buf.getbuffer())  # a view: the sending thread slices it without a copy
    finally:
        cur.close()


# PostgreSQL: a bulk load (Tx.bulk_load) of at least REBUILD_MIN_ROWS rows that is at least
# REBUILD_SHARE of the rows the table already holds drops the table's secondary indexes first and
# builds them again after the load (one sorted build each, in the transaction), instead of inserting
# every row into each B-tree in random key order: the 消込データ of 5M payments has three (by 期別
# key, status, 重複判定キー) and their row-by-row upkeep was 424 s of a 915 s 消込
# (bench/bench_collection.py). A smaller load into a large table keeps them (a rebuild reads the
# whole table); the primary key always stays (it refuses a record posted twice).
REBUILD_MIN_ROWS = 200_000
REBUILD_SHARE = 0.25


def rebuild_indexes(rows: int, held: int) -> bool:
    """Whether a bulk load of ``rows`` into a table of ``held`` rows drops and rebuilds its
    secondary indexes (PostgreSQL)."""
    return rows >= REBUILD_MIN_ROWS and rows >= REBUILD_SHARE * held


def drop_index(conn: Connection, schema: str, name: str) -> None:
    """Drop one index (in the caller's transaction: a rollback brings it back)."""
    conn.execute(sa.text(f'DROP INDEX "{schema}"."{name}"'))


def create_index(conn: Connection, definition: str) -> None:
    """Build an index from its catalog definition (``pg_get_indexdef``)."""
    conn.execute(sa.text(definition))


def pg_type(t: pl.DataType) -> str:
    for k, v in _PG_TYPES.items():
        if t == k:
            return v
    raise LedgerError(f"PostgreSQL に一時表を作れない型です: {t}")
