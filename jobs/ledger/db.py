"""The ledger connection: the one place where DuckDB and PostgreSQL differ.

    ledger = Ledger.open()                           # var/ledger/ledger.duckdb, schema migrated
    with ledger.transaction() as tx:                 # one transaction: all or nothing
        tx.stage("_delta", frame)                    # a temporary table from a Polars frame
        tx.run("ledger/installment_apply_delta", {"op": ...})   # sql/ledger/installment_apply_delta.sql
        tx.insert("payment", rows)                   # bulk insert of a Polars frame
        df = tx.query("collection/dedup_seen", {"s": sha})  # a named statement's result as a Polars frame

The statements are files, ``sql/<area>/<name>.sql`` (``jobs.ledger.sql``), rendered for the
ledger's dialect. The URL: ``KOKUHO_LEDGER_URL``, else ``collection.ledger.url`` in config, else
the DuckDB file ``var/ledger/ledger.duckdb``. Bulk transfers go through Arrow on DuckDB and
``COPY`` on PostgreSQL (``jobs.ledger.bulk``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, StaticPool

from jobs.common import access_log, paths

from . import bulk, closing_lock, migrations
from .errors import LedgerError
from .sql import statement

ENV_URL = "KOKUHO_LEDGER_URL"


def ledger_url(cfg=None) -> str:
    url = os.environ.get(ENV_URL, "").strip()
    if not url and cfg is not None:
        url = str(cfg.get("collection.ledger.url", "") or "").strip()
    if not url:
        path = paths.var_root() / "ledger" / "ledger.duckdb"
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"duckdb:///{path}"
    return url


def ledger_present(cfg=None) -> bool:
    """Whether this city keeps a 収納台帳 here: a URL is set (``KOKUHO_LEDGER_URL`` or
    ``collection.ledger.url``) or the default DuckDB file exists. A city running 賦課 only has
    neither; nothing is created by asking."""
    if os.environ.get(ENV_URL, "").strip():
        return True
    if cfg is not None and str(cfg.get("collection.ledger.url", "") or "").strip():
        return True
    return (paths.var_root() / "ledger" / "ledger.duckdb").is_file()


# DuckDB settings a deployment may set (``collection.ledger.duckdb``): the memory the ledger's
# connection may use before it spills to its temp directory, its threads, and whether results
# keep insertion order (off: less memory for the large INSERT … SELECT of a 消込)
DUCKDB_SETTINGS = ("memory_limit", "threads", "preserve_insertion_order", "temp_directory",
                   "max_temp_directory_size")


def _given_settings(cfg, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The settings under ``key`` of the config (empty values left out); unknown keys are an error."""
    if cfg is None:
        return {}
    given = cfg.get(key, None) or {}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise LedgerError(f"{key} に未知の設定があります: {', '.join(unknown)} (使える設定: {', '.join(allowed)})")
    return {k: v for k, v in given.items() if v is not None and v != ""}


def duckdb_settings(cfg=None) -> dict[str, Any]:
    """The DuckDB connection settings of ``collection.ledger.duckdb`` (empty values left out:
    DuckDB's own default, e.g. 80% of RAM for ``memory_limit``). Unknown keys are an error."""
    return _given_settings(cfg, "collection.ledger.duckdb", DUCKDB_SETTINGS)


# PostgreSQL settings a deployment may set (``collection.ledger.postgresql``), applied to each
# ledger transaction with SET LOCAL (``sql/ledger/set_local.sql``): the server's own defaults
# stay for everyone else
POSTGRESQL_SETTINGS = ("work_mem", "maintenance_work_mem", "temp_buffers", "jit")


def postgresql_settings(cfg=None) -> dict[str, str]:
    """The per-transaction settings of ``collection.ledger.postgresql`` (empty values left out)."""
    given = _given_settings(cfg, "collection.ledger.postgresql", POSTGRESQL_SETTINGS)
    return {k: ("on" if v is True else "off" if v is False else str(v)) for k, v in given.items()}


def redact(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a bad URL is reported as it was given, minus nothing secret
        return url.split("@")[-1]


class Ledger:
    def __init__(self, engine: Engine, settings: Mapping[str, str] | None = None):
        self.engine = engine
        self.dialect = engine.dialect.name  # duckdb | postgresql
        if self.dialect not in ("duckdb", "postgresql"):
            raise LedgerError(f"未対応のデータベースです: {self.dialect} (duckdb / postgresql)")
        # PostgreSQL: SET LOCAL at the start of each transaction (collection.ledger.postgresql)
        self.settings = dict(settings or {}) if self.dialect == "postgresql" else {}

    @classmethod
    def open(cls, url: str | None = None, *, cfg=None, migrate: bool = True) -> Ledger:
        url = url or ledger_url(cfg)
        try:
            duck = sa.engine.make_url(url).get_backend_name() == "duckdb"
            memory = duck and duckdb_path(url) is None
            args = {}
            settings = duckdb_settings(cfg) if duck else {}
            if settings:
                args["connect_args"] = {"config": settings}
            # one connection for an in-memory DuckDB (each new one would be an empty database)
            engine = sa.create_engine(url, poolclass=StaticPool if memory else NullPool, **args)
            ledger = cls(engine, postgresql_settings(cfg))
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
        """One transaction: all or nothing. Once it has committed, whose rows it wrote goes to the
        access log (``jobs.common.access_log``), one line; a rollback logs nothing."""
        with access_log.transaction() as touched:
            with self.engine.begin() as conn:
                try:
                    tx = Tx(conn, self.dialect)
                    for name, value in self.settings.items():
                        tx.run("ledger/set_local", {"name": name, "value": value})
                    yield tx
                except BaseException:  # the error, not a failed cleanup of the aborted transaction
                    bulk.unstage_all(conn, quiet=True)
                    raise
                bulk.unstage_all(conn)  # the frames staged as DuckDB views are let go (bulk.stage)
        access_log.committed(touched)

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        with self.engine.connect() as conn:
            return Tx(conn, self.dialect).frame(sql, params)

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), dict(params or {})).scalar()

    def statement(self, name: str, **variables) -> str:
        """The text of ``sql/<name>.sql`` for this ledger's dialect."""
        return statement(name, dialect=self.dialect, **variables)

    def query(self, name: str, params: Mapping[str, Any] | None = None, **variables) -> pl.DataFrame:
        """The result of the named statement as a Polars frame (outside a transaction)."""
        return self.frame(self.statement(name, **variables), params)

    def value(self, name: str, params: Mapping[str, Any] | None = None, **variables) -> Any:
        """The first column of the first row of the named statement."""
        return self.scalar(self.statement(name, **variables), params)

    def dispose(self) -> None:
        self.engine.dispose()


# --- one transaction --------------------------------------------------------------------------


class Tx:
    """A connection inside one transaction, with the bulk operations of its database.

    ``run`` / ``query`` / ``value`` take a statement name (``sql/<name>.sql``); ``execute`` /
    ``frame`` / ``scalar`` take statement text (tests, ad-hoc checks)."""

    def __init__(self, conn: Connection, dialect: str):
        self.conn = conn
        self.dialect = dialect

    # --- named statements (sql/<area>/<name>.sql) -------------------------------------------

    def statement(self, name: str, **variables) -> str:
        return statement(name, dialect=self.dialect, **variables)

    def run(self, name: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
            **variables):
        """Execute the named statement; returns the SQLAlchemy result (``rowcount``, ``mappings()``)."""
        return self.execute(self.statement(name, **variables), params)

    def query(self, name: str, params: Mapping[str, Any] | None = None, **variables) -> pl.DataFrame:
        """The result of the named statement as a Polars frame."""
        return self.frame(self.statement(name, **variables), params)

    def value(self, name: str, params: Mapping[str, Any] | None = None, **variables) -> Any:
        """The first column of the first row of the named statement (None without rows)."""
        return self.scalar(self.statement(name, **variables), params)

    # --- statement text ----------------------------------------------------------------------

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None):
        return self.conn.execute(sa.text(sql), params if params is not None else {})

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        if self.dialect == "duckdb":  # through the native connection: no pending cursor left behind
            f = self.frame(sql, params)
            return f.item(0, 0) if f.height else None
        return self.execute(sql, params).scalar()

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> pl.DataFrame:
        """The result of ``sql`` as a Polars frame (Arrow on DuckDB, COPY on PostgreSQL)."""
        return bulk.read_frame(self.conn, self.dialect, sql, params)

    # --- bulk --------------------------------------------------------------------------------

    def stage(self, name: str, frame: pl.DataFrame, order: Sequence[str] | None = None) -> str:
        """A temporary table ``name`` holding ``frame`` (dropped at the end of the transaction);
        ``order``: PostgreSQL copies the rows sorted by these columns (``bulk.stage``)."""
        if any(c in frame.columns for c in access_log.PERSON_COLUMNS):  # an upsert's rows (whose: 宛名番号)
            access_log.note_frame(name, frame)
        return bulk.stage(self.conn, self.dialect, name, frame, order)

    def analyze(self, table: str) -> None:
        """Fresh planner statistics of ``table`` after a bulk load (PostgreSQL; nothing on DuckDB)."""
        bulk.analyze(self.conn, self.dialect, table)

    @contextmanager
    def bulk_load(self, table: str, rows: int) -> Iterator[bool]:
        """Around the ``insert`` of ``rows`` rows into ``table`` (any number of calls): on PostgreSQL,
        when the load is large against what the table holds (``bulk.rebuild_indexes``), its secondary
        indexes are dropped before and built again, as the catalog defined them, after the block —
        all in this transaction (an error inside rolls the drop back with the rest; other sessions
        wait for the table until the commit). Yields whether it did. DuckDB: nothing."""
        if self.dialect != "postgresql" or rows < bulk.REBUILD_MIN_ROWS:
            yield False
            return
        held = int(self.value("ledger/table_rows", {"t": table}) or 0)
        indexes = self.query("ledger/secondary_indexes", {"t": table}) if bulk.rebuild_indexes(rows, held) else None
        if indexes is None or indexes.height == 0:
            yield False
            return
        for schema, name in indexes.select("schema_name", "index_name").iter_rows():
            bulk.drop_index(self.conn, schema, name)
        yield True
        for definition in indexes["definition"]:
            bulk.create_index(self.conn, definition)

    def insert(self, table: str, frame: pl.DataFrame) -> int:
        """Bulk insert ``frame`` into ``table`` (columns by name). Returns the row count.
        納付履歴 / 調定履歴 rows dated in a closed month: refused or moved (closing_lock, 月次締め)."""
        if table in closing_lock.DATE_COLUMN and frame.height:
            frame = closing_lock.check(table, frame, self.query("ledger/closing_months"))
        access_log.note_frame(table, frame)
        return bulk.insert(self.conn, self.dialect, table, frame)


def duckdb_path(url: str) -> Path | None:
    u = sa.engine.make_url(url)
    return Path(u.database) if u.get_backend_name() == "duckdb" and u.database not in (None, "", ":memory:") else None
