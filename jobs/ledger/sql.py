"""The SQL statements of the jobs: ``sql/<area>/<name>.sql`` at the project root, the only place
this package (or any job) reads SQL text from.

Each file is one Jinja2 template (``StrictUndefined``) rendered for a dialect::

    statement("collection/daily_totals", dialect="duckdb")       # → the statement text
    statement("ledger/installment_upsert", dialect="postgresql", updates=[...])

The template sees ``dialect`` (``duckdb`` | ``postgresql``) and the keyword arguments given;
values always travel as bind parameters (``:name``), never through the template. A file starts
with a comment header: what it does, its parameters, what it returns, and one line
``-- stage: <table>(<column> <TYPE>, …)`` per staged temporary table (``Tx.stage``) it reads — the
columns the job stages (tests/ledger/test_sql_statements.py creates them to check the statement).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2

from jobs.common import paths

from .errors import LedgerError

DIALECTS = ("duckdb", "postgresql")
_NAME = re.compile(r"^[a-z0-9_]+(/[a-z0-9_]+)+$")
_STAGE = re.compile(r"^--\s*stage:\s*(\w+)\s*\((.*)\)\s*$", re.MULTILINE)


def root() -> Path:
    """``<home>/sql`` (the project root as ``jobs.common.paths`` finds config/ and layouts/)."""
    return paths.home() / "sql"


@functools.lru_cache(maxsize=None)
def _env(folder: str) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
                              autoescape=False, keep_trailing_newline=False, trim_blocks=True,
                              lstrip_blocks=True, auto_reload=False)


def _template(folder: str, name: str) -> jinja2.Template:
    if not _NAME.match(name):
        raise LedgerError(f"SQL 文の名前が不正です: {name!r} (例: collection/daily_totals)")
    try:
        return _env(folder).get_template(f"{name}.sql")
    except jinja2.TemplateNotFound as exc:
        raise LedgerError(f"SQL 文がありません: {folder}/{name}.sql") from exc


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


@functools.lru_cache(maxsize=512)
def _render(folder: str, name: str, dialect: str, frozen: tuple) -> str:
    text = _template(folder, name).render(dialect=dialect, **dict(frozen))
    # the comments go: a ``:word`` in a comment would be a bind parameter to SQLAlchemy, and a last
    # line of comment would swallow the ")" of PostgreSQL's ``COPY (…) TO STDOUT`` wrapper (bulk.py)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("--")]
    return "\n".join(lines)


def statement(name: str, *, dialect: str, **variables) -> str:
    """The text of the statement ``sql/<name>.sql`` for ``dialect`` (cached per arguments)."""
    if dialect not in DIALECTS:
        raise LedgerError(f"未対応のデータベースです: {dialect} ({' / '.join(DIALECTS)})")
    frozen = tuple(sorted((k, _freeze(v)) for k, v in variables.items()))
    return _render(str(root()), name, dialect, frozen)


def names(area: str | None = None) -> list[str]:
    """Every statement name under ``sql/`` (or ``sql/<area>/``), sorted."""
    base = root()
    top = base / area if area else base
    return sorted(p.relative_to(base).with_suffix("").as_posix() for p in top.rglob("*.sql"))


def stages(name: str) -> dict[str, str]:
    """The staged temporary tables the statement declares: table → its column list
    (``-- stage: _delta(levy_year INTEGER, …)``)."""
    text = (root() / f"{name}.sql").read_text(encoding="utf-8")
    return {m.group(1): m.group(2).strip() for m in _STAGE.finditer(text)}
