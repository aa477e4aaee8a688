"""SQL lives in sql/: no Python module under jobs/ holds a statement (a string constant, f-string
parts included, with SELECT / UPDATE / INSERT / DELETE as a word) outside the few places named
here; every file under sql/ has its comment header."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from jobs.ledger import sql

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = re.compile(r"\b(SELECT|UPDATE|INSERT|DELETE)\b")  # case-sensitive: SQL keywords, not prose

#: The only modules that may build statement text: the bulk copy helpers of each dialect (a staged
#: table's CREATE … AS SELECT, the INSERT … SELECT of a frame and PostgreSQL's COPY are made from a
#: frame's column names). The loader itself (jobs/ledger/sql.py) holds none.
ALLOWED = {"jobs/ledger/bulk.py"}


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants (prose about a statement is not a statement)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def sql_strings(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string constant of the module that looks like SQL (f-string parts too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip \
                and KEYWORDS.search(node.value):
            hits.append((node.lineno, node.value))
    return hits


def job_modules() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "jobs").rglob("*.py"))


@pytest.mark.parametrize("module", job_modules())
def test_no_sql_statement_in_python(module):
    if module in ALLOWED:
        return
    hits = sql_strings(ROOT / module)
    assert not hits, (f"{module} holds SQL (move it to sql/<area>/<name>.sql and run it by name): "
                      + "; ".join(f"line {n}: {s.strip()[:60]!r}" for n, s in hits))


def test_the_scan_finds_statements():
    """The allowed places do hold SQL (the scan is not vacuous), and every allowed place exists."""
    for module in ALLOWED:
        assert sql_strings(ROOT / module), f"{module} is allowed but holds no SQL: drop it from ALLOWED"
    probe = ROOT / "jobs" / "ledger" / "bulk.py"
    assert any("INSERT INTO" in s for _, s in sql_strings(probe))


def test_the_scan_sees_f_string_parts(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text('"""UPDATE in a docstring is prose."""\n'
                   'def f(t):\n    """SELECT here too."""\n    return f"DELETE FROM {t} WHERE x"\n'
                   'Q = ("select lower case is not a keyword " "but this INSERT is")\n', encoding="utf-8")
    assert sorted(n for n, _ in sql_strings(mod)) == [4, 5]


@pytest.mark.parametrize("name", sql.names())
def test_every_sql_file_has_its_header(name):
    text = (sql.root() / f"{name}.sql").read_text(encoding="utf-8")
    head = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        head.append(line)
    assert len(head) >= 2, f"sql/{name}.sql: a comment header first (what it does, parameters, returns)"
    header = "\n".join(head)
    assert re.search(r"Parameters:", header), f"sql/{name}.sql: the header names its parameters"
    if not name.startswith("ledger/migrations/"):
        assert re.search(r"Returns:", header), f"sql/{name}.sql: the header says what it returns"
    # every :name bind parameter of the statement is in the header
    body = sql.statement(name, dialect="postgresql")
    for param in set(re.findall(r"(?<![:\w]):([A-Za-z_]\w*)", body)):
        assert f":{param}" in header, f"sql/{name}.sql: parameter :{param} is not described in the header"
