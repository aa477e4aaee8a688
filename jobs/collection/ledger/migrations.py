"""Schema migrations of the 収納 ledger: an ordered list, applied once each, recorded in
``schema_migrations`` (version, name, applied_at). ``Ledger.open()`` upgrades a ledger to the
newest version; a ledger newer than the code is refused.

Migration 1 creates the tables of ``models`` as they were at version 1 (``metadata.create_all``
of that version). Later changes are appended as new functions (ALTER TABLE …, data fixes) —
never edit a migration that has shipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import models


def _v1_initial(conn: Connection) -> None:
    models.metadata.create_all(conn, tables=[t for t in models.metadata.sorted_tables
                                             if t.name != "schema_migrations"])
    # Lookups of the daily runs (unmatched records by key, duplicates by key, requests by date) on
    # PostgreSQL. DuckDB joins by hashing and does not use such indexes, while keeping them up to
    # date cost 54 of the 162 s of posting 5M payments (bench/bench_collection.py): none there.
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_recon_key ON reconciliation "
                             "(levy_year, notice_number, installment_no)"))
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_recon_status ON reconciliation (status)"))
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_recon_dedup ON reconciliation (dedup_key)"))
        conn.execute(sa.text("CREATE INDEX IF NOT EXISTS ix_request_date ON debit_request (debit_date)"))
        conn.execute(sa.text("ALTER TABLE installment SET (fillfactor = 85)"))  # room for in-place updates


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema (別添2 収納 items, posted_file, 口座振替)", _v1_initial),
]
LATEST = MIGRATIONS[-1][0]


def _ensure_table(conn: Connection) -> None:
    models.SchemaMigration.__table__.create(conn, checkfirst=True)


def current_version(engine: Engine) -> int:
    with engine.begin() as conn:
        _ensure_table(conn)
        return int(conn.execute(sa.text("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).scalar())


def upgrade(engine: Engine) -> list[int]:
    from .db import LedgerError

    applied = []
    with engine.begin() as conn:
        _ensure_table(conn)
        have = int(conn.execute(sa.text("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).scalar())
    if have > LATEST:
        raise LedgerError(f"収納台帳のスキーマ版 {have} はこのプログラム (版 {LATEST}) より新しいため使えません")
    for version, name, func in MIGRATIONS:
        if version <= have:
            continue
        with engine.begin() as conn:  # each migration is one transaction
            func(conn)
            conn.execute(sa.text("INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)"),
                         {"v": version, "n": name, "t": dt.datetime.now().isoformat(timespec="seconds")})
        applied.append(version)
    return applied
