"""jobs.ledger.sql: the one reader of sql/ — names, Jinja2 per dialect (StrictUndefined), the
comment header dropped from the statement text, staged-table declarations; and the layering of
jobs.ledger (it imports jobs.common only)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from jobs.ledger import LedgerError, sql

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sql_root(tmp_path, monkeypatch):
    monkeypatch.setattr(sql, "root", lambda: tmp_path)
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "both.sql").write_text(
        "-- Counts rows.\n-- stage: _k(levy_year INTEGER, notice_number VARCHAR)\n-- Parameters: :m.\n"
        "-- Returns: n.\n"
        "SELECT COUNT(*) AS n FROM {{ table }} JOIN _k USING (levy_year)\n"
        "{% if dialect == 'postgresql' %}\nWHERE m = :m -- pg\n{% else %}\nWHERE m = :m\n{% endif %}\n",
        encoding="utf-8")
    return tmp_path


def test_renders_per_dialect_without_the_comments(sql_root):
    pg = sql.statement("t/both", dialect="postgresql", table="x")
    duck = sql.statement("t/both", dialect="duckdb", table="x")
    assert pg == "SELECT COUNT(*) AS n FROM x JOIN _k USING (levy_year)\nWHERE m = :m -- pg"
    assert duck == "SELECT COUNT(*) AS n FROM x JOIN _k USING (levy_year)\nWHERE m = :m"
    assert sql.names() == ["t/both"] and sql.names("t") == ["t/both"]
    assert sql.stages("t/both") == {"_k": "levy_year INTEGER, notice_number VARCHAR"}


def test_undefined_variables_unknown_names_and_dialects_are_errors(sql_root):
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        sql.statement("t/both", dialect="duckdb")  # {{ table }} not given
    with pytest.raises(LedgerError, match="SQL 文がありません"):
        sql.statement("t/missing", dialect="duckdb")
    with pytest.raises(LedgerError, match="名前が不正"):
        sql.statement("../etc/passwd", dialect="duckdb")
    with pytest.raises(LedgerError, match="未対応"):
        sql.statement("t/both", dialect="sqlite", table="x")


def test_the_real_root_is_the_checkouts_sql_folder():
    assert sql.root() == ROOT / "sql"
    assert "ledger/installment_apply_delta" in sql.names("ledger")


def test_jobs_ledger_imports_only_jobs_common():
    for path in sorted((ROOT / "jobs" / "ledger").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name == "jobs" or name.startswith("jobs."):
                    assert name.startswith("jobs.common") or name.startswith("jobs.ledger"), \
                        f"{path.name} imports {name}: jobs.ledger may import only jobs.common"


def test_collection_steps_borrow_nothing_from_each_other():
    for mod in ("debit_steps", "refund_steps", "report_steps"):
        tree = ast.parse((ROOT / "jobs" / "collection" / f"{mod}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("steps", "jobs.collection.steps"), f"{mod} imports from steps"
