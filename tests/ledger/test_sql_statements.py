"""Every statement file under sql/, rendered for both dialects, against a freshly migrated empty
ledger: ``EXPLAIN`` on DuckDB (the bind parameters NULL), ``PREPARE`` / ``DEALLOCATE`` on
PostgreSQL — so a broken statement fails here, not in a night run. The staged temporary tables a
statement reads are created first from its ``-- stage: <table>(<columns>)`` header lines.

The schema files (the migrations and schema_migrations) are DDL: they run when the ledger is
migrated (and tests/ledger/test_migrations.py compares what they make with the models). Every
other file gets a case of its own, so a new file is covered the moment it exists."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from jobs.ledger import Ledger, migrations, sql
from jobs.ledger.bulk import _DUCK_PARAM

#: DDL, run by Ledger.migrate() (the fixture's ledger is made by them)
SCHEMA = {"ledger/schema_migrations_create", *(m.statement for m in migrations.migrations())}
STATEMENTS = [n for n in sql.names() if n not in SCHEMA]
#: run outside a transaction (VACUUM cannot be prepared): on PostgreSQL these run, in AUTOCOMMIT, against
#: the empty migrated ledger instead
OUTSIDE_TRANSACTION = {"bench/vacuum_analyze"}
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@pytest.fixture
def migrated(new_ledger_url):
    led = Ledger.open(new_ledger_url())
    try:
        yield led
    finally:
        led.dispose()


def test_every_file_is_covered():
    every = set(sql.names())
    assert every == SCHEMA | set(STATEMENTS)
    assert len(STATEMENTS) >= 35 and "ledger/installment_apply_delta" in STATEMENTS
    # the staged tables a statement names are declared in its header, and the other way round
    for name in STATEMENTS:
        text = sql.statement(name, dialect="duckdb")
        used = {t for t in re.findall(r"\b(_[a-z]+)\b", text) if re.search(rf"\b(FROM|JOIN)\s+{t}\b", text)}
        assert used == set(sql.stages(name)), f"sql/{name}.sql: staged tables used {used} vs declared"


@pytest.mark.parametrize("name", STATEMENTS)
def test_statement_compiles_on_a_migrated_ledger(migrated, name):
    text = migrated.statement(name)
    if name in OUTSIDE_TRANSACTION and migrated.dialect == "postgresql":
        with migrated.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(text)
        return
    with migrated.engine.connect() as conn:
        trans = conn.begin()
        try:
            for table, columns in sql.stages(name).items():
                conn.execute(sa.text(f"CREATE TEMP TABLE {table} ({columns})"))
            if migrated.dialect == "duckdb":
                raw = conn.connection.driver_connection
                params = {p: None for p in dict.fromkeys(_DUCK_PARAM.findall(text))}
                raw.execute("EXPLAIN " + _DUCK_PARAM.sub(r"$\1", text), params).fetchall()
            else:
                order = list(dict.fromkeys(_PARAM.findall(text)))
                numbered = _PARAM.sub(lambda m: f"${order.index(m.group(1)) + 1}", text)
                cur = conn.connection.driver_connection.cursor()
                try:
                    cur.execute(f"PREPARE kb_check AS {numbered}")
                    cur.execute("DEALLOCATE kb_check")
                finally:
                    cur.close()
        finally:
            trans.rollback()


def test_a_broken_statement_fails_the_check(migrated, tmp_path, monkeypatch):
    """The check is not vacuous: a statement naming a column the ledger lacks is refused."""
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "broken.sql").write_text("-- a typo\n-- Parameters: :m.\n-- Returns: nothing.\n"
                                               "SELECT no_such_column FROM installment WHERE municipality_code = :m\n",
                                               encoding="utf-8")
    monkeypatch.setattr(sql, "root", lambda: tmp_path)
    with pytest.raises(Exception, match="no_such_column"):
        test_statement_compiles_on_a_migrated_ledger(migrated, "x/broken")
