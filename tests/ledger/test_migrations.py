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


#: The tables migration 001 creates (later migrations add their own tables).
V1_TABLES = {"card_applicant", "debit_mandate", "debit_request", "installment", "levy_history", "notice", "payment",
             "posted_file", "reconciliation", "refund", "refund_offset", "schema_migrations", "write_off"}
V2_COLUMNS = {"operation_reason"}  # what migration 002 adds to every table (the Audit mixin's last column)


def former_v1(url: str) -> None:
    """A ledger as the former Python migration 1 made it (schema_migrations included): the
    models' tables without the columns later migrations added."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            models.SchemaMigration.__table__.create(conn, checkfirst=True)
            models.metadata.create_all(conn, tables=[t for t in models.metadata.sorted_tables
                                                     if t.name in V1_TABLES - {"schema_migrations"}])
            for table in (t for t in models.metadata.sorted_tables if t.name in V1_TABLES):
                for column in V2_COLUMNS & set(table.columns.keys()):
                    conn.execute(sa.text(f"ALTER TABLE {table.name} DROP COLUMN {column}"))
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
        # column order as a rank: PostgreSQL keeps the number of a dropped column (former_v1 drops
        # the later migrations' columns), so ordinal positions may have gaps; the order must match
        ranked, seen = [], {}
        for row in sorted(out["columns"], key=lambda r: (r[0], r[2])):
            seen[row[0]] = seen.get(row[0], 0) + 1
            ranked.append((row[0], row[1], seen[row[0]], *row[3:]))
        out["columns"] = sorted(ranked)
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


def test_the_migrations_create_the_schema_of_create_all(new_ledger_url):
    """001 + 002 + … on an empty ledger = the former migration 1 upgraded by 002 + … = the models."""
    by_sql, by_models = new_ledger_url(), new_ledger_url()
    Ledger.open(by_sql).dispose()  # the migration files
    former_v1(by_models)
    Ledger.open(by_models).dispose()  # upgraded from version 1
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
        assert ("installment", "{fillfactor=70}") in got["options"]  # 85 by 001, 70 since 006


def test_a_ledger_made_by_the_former_migration_1_stays_valid(new_ledger_url):
    url = new_ledger_url()
    former_v1(url)
    led = Ledger.open(url, migrate=False)
    try:
        assert led.schema_version() == 1
        assert led.migrate() == list(range(2, migrations.LATEST + 1))  # 001 is not applied again
        assert led.frame("SELECT version, name FROM schema_migrations ORDER BY version").rows()[0] == (1, V1_NAME)
        assert led.schema_version() == migrations.LATEST
    finally:
        led.dispose()


def test_002_adds_the_operation_reason_to_every_table_with_an_operator(new_ledger_url):
    url = new_ledger_url()
    Ledger.open(url).dispose()
    led = Ledger.open(url, migrate=False)
    try:
        cols = led.frame("SELECT table_name, column_name, is_nullable, character_maximum_length "
                         "FROM information_schema.columns WHERE table_schema = current_schema() "
                         "AND column_name IN ('operator_id', 'operation_reason')").rows()
        with_operator = {t for t, c, _, _ in cols if c == "operator_id"}
        with_reason = {(t, n, w) for t, c, n, w in cols if c == "operation_reason"}
        assert with_operator == {t.name for t in models.metadata.sorted_tables if "operator_id" in t.columns}
        assert len(with_operator & V1_TABLES) == 12
        assert {(t, n) for t, n, _ in with_reason} == {(t, "YES") for t in with_operator}
        assert {w for _, _, w in with_reason} <= {100, None}  # DuckDB reports no VARCHAR length
    finally:
        led.dispose()


def test_007_the_status_index_holds_only_the_statuses_looked_up_by_status(new_ledger_url):
    """PostgreSQL: ix_recon_status leaves out posted and confirmed (most records, never looked up by
    status), and the planner proves its predicate for the other statuses the daily statements ask
    for; a posted lookup cannot use it. DuckDB: no secondary index at all (001)."""
    url = new_ledger_url()
    led = Ledger.open(url)
    try:
        if led.dialect == "duckdb":
            assert led.frame("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'reconciliation'").height == 0
            return
        (definition,) = led.frame("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                  "AND indexname = 'ix_recon_status'")["indexdef"]
        assert "WHERE" in definition and "posted" in definition and "confirmed" in definition

        def plan(where: str) -> str:
            with led.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))  # an index whenever one can serve
                return "\n".join(r[0] for r in conn.execute(sa.text(
                    f"EXPLAIN SELECT record_no FROM reconciliation WHERE {where}")))

        for where in ("status = 'unmatched' AND kind = 'confirmed'", "status = 'provisional'",
                      "status = 'reversed'", "status IN ('provisional', 'lapsed')"):
            assert "ix_recon_status" in plan(where), where
        assert "ix_recon_status" not in plan("status = 'posted'")
        assert "ix_recon_status" not in plan("status IN ('posted', 'debit_failed')")
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
    assert len(duck) == len(V1_TABLES) - 1  # schema_migrations: created before any migration
    assert V1_TABLES <= {t.name for t in models.metadata.sorted_tables}
    assert pg[:len(duck)] == duck and len(pg) == len(duck) + 5
