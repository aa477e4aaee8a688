"""The ledger connection: the one place where DuckDB and PostgreSQL differ.

    ledger = Ledger.open()                     # var/ledger/ledger.duckdb, schema migrated
    with ledger.transaction() as tx:           # one transaction: all or nothing
        tx.stage("pay", frame)                 # a temporary table from a Polars frame
        tx.execute("UPDATE installment ... FROM pay ...")
        tx.insert("payment", rows)             # bulk insert of a Polars frame
        df = tx.frame("SELECT ... FROM installment JOIN pay USING (...)")

The URL: ``KOKUHO_LEDGER_URL``, else ``collection.ledger.url`` in config, else the DuckDB file
``var/ledger/ledger.duckdb``. Job code writes portable SQL (``UPDATE … FROM``, ``INSERT …
SELECT``, ``ON CONFLICT DO NOTHING`` all mean the same on both); bulk transfers go through
Arrow on DuckDB and ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

from jobs.common import paths

from . import migrations

ENV_URL = "KOKUHO_LEDGER_URL"
_DUCK_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")  # :name (SQLAlchemy) → $name (DuckDB)


class LedgerError(RuntimeError):
    """The ledger cannot be used (URL, schema version, lock). The message is for operators."""


def ledger_url(cfg=None) -> str:
    url = os.environ.get(ENV_URL, "").strip()
    if not url and cfg is not None:
        url = str(cfg.get("collection.ledger.url", "") or "").strip()
    if not url:
        path = paths.var_root() / "ledger" / "ledger.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"duckdb:///{path}"
    return url


def redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a bad URL is reported as it was given, minus nothing secret
        return url.split("@")[-1]


class Ledger:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect.name  # duckdb | postgresql
        if self.dialect not in ("duckdb", "postgresql"):
            raise LedgerError(f"未対応のデータベースです: {self.dialect} (duckdb / postgresql)")

    @classmethod
    def open(cls, url: str | None = None, *, cfg=None, migrate: bool = True) -> Ledger:
        url = url or ledger_url(cfg)
        try:
            duck = sa.engine.make_url(url).get_backend_name() == "duckdb"
            memory = duck and duckdb_path(url) is None
            args = {}
            limit = str(cfg.get("collection.ledger.duckdb_memory_limit", "") or "") if cfg is not None else ""
            if duck and limit:
                args["connect_args"] = {"config": {"memory_limit": limit}}
            # one connection for an in-memory DuckDB (each new one would be an empty database)
            engine = sa.create_engine(url, poolclass=StaticPool if memory else NullPool, **args)
            ledger = cls(engine)
            if migrate:
                ledger.migrate()
        except LedgerError:
            raise
        except Exception as exc:
            raise LedgerError(f"収納台帳に接続できません ({redact(url)}): {type(exc).__name__}: {exc}") from exc
        return ledger

    @property
    def url(self) -> str:
        return redact(str(self.engine.url))

    def migrate(self) -> list[int]:
        """Create or upgrade the schema (``schema_migrations``); returns the versions applied."""
        return migrations.upgrade(self.engine)

    def schema_version(self) -> int:
        return migrations.current_version(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self.engine.begin() as conn:
            yield Tx(conn, self.dialect)

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        with self.engine.connect() as conn:
            return Tx(conn, self.dialect).frame(sql, params)

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), dict(params or {})).scalar()

    def dispose(self) -> None:
        self.engine.dispose()


# --- one transaction --------------------------------------------------------------------------

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


class Tx:
    """A connection inside one transaction, with the bulk operations of its database."""

    def __init__(self, conn: Connection, dialect: str):
        self.conn = conn
        self.dialect = dialect
        self._views: list[str] = []

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None):
        return self.conn.execute(sa.text(sql), params if params is not None else {})

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        if self.dialect == "duckdb":  # through the native connection: no pending cursor left behind
            f = self.frame(sql, params)
            return f.item(0, 0) if f.height else None
        return self.execute(sql, params).scalar()

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """The result of ``sql`` as a Polars frame (Arrow on DuckDB, COPY on PostgreSQL)."""
        if self.dialect == "duckdb":
            raw = self._duck()
            rel = raw.sql(_DUCK_PARAM.sub(r"$\1", sql), params=dict(params)) if params else raw.sql(sql)
            return pl.from_arrow(rel.to_arrow_table()) if rel is not None else pl.DataFrame()
        if params:
            result = self.conn.execute(sa.text(sql), dict(params))
            schema = {c[0]: _PG_OIDS.get(c[1], pl.String) for c in result.cursor.description}
            return pl.DataFrame([tuple(r) for r in result.fetchall()], schema=schema, orient="row")
        # no parameters: COPY the result out as CSV (much faster than row fetches)
        cur = self.conn.connection.driver_connection.cursor()
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

    def stage(self, name: str, frame: pl.DataFrame) -> str:
        """A temporary table ``name`` holding ``frame`` (dropped at the end of the transaction)."""
        if self.dialect == "duckdb":
            self._duck_from_arrow(frame, f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {{view}}")
            return name
        cols = ", ".join(f'"{c}" {_pg_type(t)}' for c, t in frame.schema.items())
        self.execute(f"DROP TABLE IF EXISTS {name}")
        self.execute(f"CREATE TEMP TABLE {name} ({cols}) ON COMMIT DROP")
        self._pg_copy(name, frame)
        self.execute(f"ANALYZE {name}")  # the planner sees the real size of the staged rows
        return name

    def insert(self, table: str, frame: pl.DataFrame) -> int:
        """Bulk insert ``frame`` into ``table`` (columns by name). Returns the row count."""
        if frame.height == 0:
            return 0
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        if self.dialect == "duckdb":
            self._duck_from_arrow(frame, f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {{view}}")
        else:
            self._pg_copy(table, frame)
        return frame.height

    # --- internals ------------------------------------------------------------------------

    def _duck(self):
        return self.conn.connection.driver_connection

    def _duck_from_arrow(self, frame: pl.DataFrame, sql: str) -> None:
        """Run ``sql`` (with ``{view}``) over ``frame`` registered as an Arrow view (no copy)."""
        raw = self._duck()
        view = "_arrow_frame"
        raw.register(view, frame.to_arrow())
        try:
            raw.execute(sql.format(view=view))
        finally:
            raw.unregister(view)

    def _pg_copy(self, table: str, frame: pl.DataFrame, chunk: int = 500_000) -> None:
        cols = ", ".join(f'"{c}"' for c in frame.columns)
        cur = self.conn.connection.driver_connection.cursor()
        try:
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, NULL '\\N')") as cp:
                for start in range(0, frame.height, chunk):
                    buf = io.BytesIO()
                    frame.slice(start, chunk).write_csv(buf, include_header=False, null_value="\\N",
                                                        date_format="%Y-%m-%d")
                    cp.write(buf.getvalue())
        finally:
            cur.close()


def _pg_type(t: pl.DataType) -> str:
    for k, v in _PG_TYPES.items():
        if t == k:
            return v
    raise LedgerError(f"PostgreSQL に一時表を作れない型です: {t}")


def now_stamp() -> tuple[dt.date, str]:
    """操作年月日 and 操作時刻 (HHMMSS) of a posting: wall-clock time (the ledger's audit trail;
    never written to an output file, which stay byte-identical on a rerun)."""
    now = dt.datetime.now()
    return now.date(), now.strftime("%H%M%S")


def audit_columns(job_id: str, stamp: tuple[dt.date, str] | None = None) -> list[pl.Expr]:
    """削除フラグ, 操作者ID (the job id), 操作年月日, 操作時刻 of rows a batch step writes."""
    op_date, op_time = stamp or now_stamp()
    return [pl.lit(False).alias("deleted"), pl.lit(job_id).alias("operator_id"),
            pl.lit(op_date).alias("operated_date"), pl.lit(op_time).alias("operated_time")]


def duckdb_path(url: str) -> Path | None:
    u = sa.engine.make_url(url)
    return Path(u.database) if u.get_backend_name() == "duckdb" and u.database not in (None, "", ":memory:") else None
