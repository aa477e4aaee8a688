"""Schema migrations of the 収納 ledger: the numbered files ``sql/ledger/migrations/NNN_<name>.sql``,
applied once each in number order, recorded in ``schema_migrations`` (version = NNN, name = the
file's ``-- name:`` line, applied_at). ``Ledger.open()`` upgrades a ledger to the newest version; a
ledger newer than the code is refused.

Migration 1 (``001_initial.sql``) creates the tables of ``models`` as ``metadata.create_all`` made
them at version 1 (tests/ledger/test_migrations.py proves the catalogs equal). Later changes are
new files (ALTER TABLE …, data fixes) — never edit a migration that has shipped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import sql
from .errors import LedgerError

AREA = "ledger/migrations"
_FILE = re.compile(r"^ledger/migrations/(\d{3})_([a-z0-9_]+)$")
_NAME_LINE = re.compile(r"^--\s*name:\s*(.+?)\s*$", re.MULTILINE)
_SPLIT = re.compile(r";[ \t]*(?:\n|$)")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str  # recorded in schema_migrations
    statement: str  # the statement name: ledger/migrations/NNN_<name>


def migrations() -> list[Migration]:
    """Every migration file, by version (a gap or a duplicate number is an error)."""
    found = []
    for name in sql.names(AREA):
        m = _FILE.match(name)
        if not m:
            raise LedgerError(f"マイグレーションのファイル名が不正です: sql/{name}.sql (NNN_<name>.sql)")
        text = (sql.root() / f"{name}.sql").read_text(encoding="utf-8")
        label = _NAME_LINE.search(text)
        if not label:
            raise LedgerError(f"マイグレーションに -- name: の行がありません: sql/{name}.sql")
        found.append(Migration(int(m.group(1)), label.group(1), name))
    found.sort(key=lambda mg: mg.version)
    if [mg.version for mg in found] != list(range(1, len(found) + 1)):
        raise LedgerError(f"マイグレーションの番号が連番ではありません: {[mg.version for mg in found]}")
    return found


def latest() -> int:
    return migrations()[-1].version


def __getattr__(name: str):
    if name == "LATEST":  # the newest version, read from the files when asked
        return latest()
    raise AttributeError(name)


def statements(migration: Migration, dialect: str) -> list[str]:
    """The migration's statements for ``dialect`` (the file splits at a ``;`` ending a line)."""
    return [s.strip() for s in _SPLIT.split(sql.statement(migration.statement, dialect=dialect)) if s.strip()]


def _ensure_table(conn: Connection) -> None:
    conn.execute(sa.text(sql.statement("ledger/schema_migrations_create", dialect=conn.dialect.name)))


def _version(conn: Connection) -> int:
    return int(conn.execute(sa.text(sql.statement("ledger/schema_version", dialect=conn.dialect.name))).scalar())


def current_version(engine: Engine) -> int:
    with engine.begin() as conn:
        _ensure_table(conn)
        return _version(conn)


def upgrade(engine: Engine) -> list[int]:
    applied = []
    todo = migrations()
    newest = todo[-1].version
    with engine.begin() as conn:
        _ensure_table(conn)
        have = _version(conn)
    if have > newest:
        raise LedgerError(f"収納台帳のスキーマ版 {have} はこのプログラム (版 {newest}) より新しいため使えません")
    for mg in todo:
        if mg.version <= have:
            continue
        with engine.begin() as conn:  # each migration is one transaction
            for text in statements(mg, conn.dialect.name):
                conn.execute(sa.text(text))
            conn.execute(sa.text(sql.statement("ledger/schema_migration_record", dialect=conn.dialect.name)),
                         {"v": mg.version, "n": mg.name, "t": dt.datetime.now().isoformat(timespec="seconds")})
        applied.append(mg.version)
    return applied
