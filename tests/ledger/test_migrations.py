"""The migration files against the SQLAlchemy models: a ledger migrated by
sql/ledger/migrations/001_initial.sql has exactly the schema ``metadata.create_all`` (+ the
PostgreSQL indexes and fillfactor of the former Python migration 1) made — same tables, columns,
types, nullability, defaults, primary keys and indexes — on DuckDB and PostgreSQL; and a ledger
made by the former migration 1 is at version 1 and stays valid."""

from __future__ import annotations

import sqlalchemy as sa

from jobs.ledger import Ledger, migrations, models

V1_NAME = "initial schema (別添2 収納 items, posted_file, 口座振替)"  # as the former migration 1 recorded it

# what the former migration 1 ran after metadata.create_all on PostgreSQL (verbatim)
FORMER_PG_V1 = [
    "CREATE INDEX IF NOT EXISTS ix_recon_key ON reconciliation (levy_year, notice_number, installment_no)",
    "CREATE INDEX IF NOT EXISTS ix_recon_status ON reconciliation (status)",
    "CREATE INDEX IF NOT EXISTS ix_recon_dedup ON reconciliation (dedup_key)",
    "CREATE INDEX IF NOT EXISTS ix_request_date ON debit_request (debit_date)",
    "ALTER TABLE installment SET (fillfactor = 85)",
]


def former_v1(url: str) -> None:
    """A ledger as the former Python migration 1 made it (schema_migrations included)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            models.SchemaMigration.__table__.create(conn, checkfirst=True)
            models.metadata.create_all(conn, tables=[t for t in models.metadata.sorted_tables
                                                     if t.name != "schema_migrations"])
            if conn.dialect.name == "postgresql":
                for stmt in FORMER_PG_V1:
                    conn.execute(sa.text(stmt))
            conn.execute(sa.text("INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, :n, :t)"),
                         {"n": V1_NAME, "t": "2026-04-01T00:00:00"})
    finally:
        engine.dispose()


def catalog(url: str) -> dict[str, list[tuple]]:
    """Tables, columns (type, length, nullability, default), constraints, indexes and table
    options of the ledger's schema, sorted, free of schema names."""
    led = Ledger.open(url, migrate=False)
    try:
        def rows(sql: str) -> list[tuple]:
            return sorted(tuple(r) for r in led.frame(sql).iter_rows())

        out = {
            "tables": rows("SELECT table_name, table_type FROM information_schema.tables "
                           "WHERE table_schema = current_schema()"),
            "columns": rows("SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, "
                            "numeric_precision, is_nullable, column_default FROM information_schema.columns "
                            "WHERE table_schema = current_schema()"),
        }
        if led.dialect == "duckdb":
            out["constraints"] = rows(
                "SELECT table_name, constraint_type, CAST(constraint_column_names AS VARCHAR), "
                "CAST(constraint_column_indexes AS VARCHAR) FROM duckdb_constraints() "
                "WHERE schema_name = current_schema()")
            out["indexes"] = rows("SELECT table_name, index_name, is_unique, is_primary, expressions, sql "
                                  "FROM duckdb_indexes() WHERE schema_name = current_schema()")
        else:
            out["constraints"] = rows(
                "SELECT tc.table_name, tc.constraint_type, tc.constraint_name, k.column_name, k.ordinal_position "
                "FROM information_schema.table_constraints tc LEFT JOIN information_schema.key_column_usage k "
                "ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name "
                "WHERE tc.table_schema = current_schema() AND tc.constraint_type <> 'CHECK'")
            out["not_null"] = rows(
                "SELECT c.relname, a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid "
                "AND d.adnum = a.attnum WHERE c.relnamespace = current_schema()::regnamespace "
                "AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped")
            out["indexes"] = rows(
                "SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes "
                "WHERE schemaname = current_schema()")
            out["options"] = rows(
                "SELECT relname, CAST(reloptions AS TEXT) FROM pg_class "
                "WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'i')")
        return out
    finally:
        led.dispose()


def test_001_initial_creates_the_schema_of_create_all(new_ledger_url):
    by_sql, by_models = new_ledger_url(), new_ledger_url()
    Ledger.open(by_sql).dispose()  # the migration files
    former_v1(by_models)
    got, want = catalog(by_sql), catalog(by_models)
    assert got.keys() == want.keys()
    for part in want:
        assert got[part] == want[part], f"{part} differs between 001_initial.sql and metadata.create_all"
    # not vacuous: every model table and column is there
    tables = {t for t, _ in got["tables"]}
    assert tables == {t.name for t in models.metadata.sorted_tables}
    assert len(got["columns"]) == sum(len(t.columns) for t in models.metadata.sorted_tables)
    if "duckdb" not in by_sql:
        assert {i[1] for i in got["indexes"]} >= {"ix_recon_key", "ix_recon_status", "ix_recon_dedup",
                                                  "ix_request_date"}
        assert ("installment", "{fillfactor=85}") in got["options"]


def test_a_ledger_made_by_the_former_migration_1_stays_valid(new_ledger_url):
    url = new_ledger_url()
    former_v1(url)
    led = Ledger.open(url, migrate=False)
    try:
        assert led.schema_version() == 1
        assert led.migrate() == []  # nothing to apply: same version number
        assert led.frame("SELECT version, name FROM schema_migrations").rows() == [(1, V1_NAME)]
    finally:
        led.dispose()


def test_migration_files_are_numbered_and_named():
    found = migrations.migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].statement == "ledger/migrations/001_initial"
    assert found[0].name == V1_NAME  # the name a version-1 ledger has recorded
    assert migrations.LATEST == found[-1].version
    for m in found:
        for dialect in ("duckdb", "postgresql"):
            assert migrations.statements(m, dialect), f"{m.statement} has no statement for {dialect}"
    # DuckDB gets the tables only, PostgreSQL the tables and the lookup indexes
    duck, pg = (migrations.statements(found[0], d) for d in ("duckdb", "postgresql"))
    assert len(duck) == len(models.metadata.sorted_tables) - 1  # schema_migrations: created before any migration
    assert pg[:len(duck)] == duck and len(pg) == len(duck) + 5
