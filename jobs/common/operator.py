"""Who runs a step (操作者ID) and in which run (処理事由): set once per run by ``operator_scope``
(jobs.runner.run_job, from jobs.airflow_task or jobs.cli), read by the ledger's audit columns
(jobs.ledger.audit) and the access log (jobs.common.access_log).

The operator is the Airflow user who triggered the DAG run, ``scheduler`` for a scheduled run,
or the login (``$USER``) at ``kokuho run`` / ``kokuho shisan``.
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import re
from collections.abc import Iterator
from dataclasses import dataclass

OPERATOR_WIDTH = 16  # operator_id VARCHAR(16)
SCHEDULER = "scheduler"  # the operator of a scheduled (timetable) run


@dataclass(frozen=True)
class Operator:
    """Who started a run (操作者ID) and why (処理事由: the run id)."""

    operator_id: str
    run_id: str = ""


_CURRENT: contextvars.ContextVar[Operator | None] = contextvars.ContextVar("kokuho_operator", default=None)
_ID = re.compile(r"[^0-9A-Za-z._@-]")


def clean_operator(name: str | None) -> str:
    """An operator id fit for the 16-character 操作者ID: ASCII login characters, at most 16."""
    text = _ID.sub("_", str(name or "").strip())[:OPERATOR_WIDTH]
    return text or "unknown"


def cli_operator() -> str:
    """The operator of a command-line run: the login name ($USER)."""
    try:
        return clean_operator(getpass.getuser())
    except Exception:  # no login name (a container without passwd entry)
        return "unknown"


def current_operator() -> Operator:
    """The operator of the running step (``operator_scope``), else the CLI login."""
    return _CURRENT.get() or Operator(cli_operator(), "")


@contextlib.contextmanager
def operator_scope(operator_id: str | None, run_id: str | None = None) -> Iterator[Operator]:
    """Within the block, ledger rows carry ``operator_id`` and the run ``run_id``."""
    op = Operator(clean_operator(operator_id) if operator_id else cli_operator(), str(run_id or ""))
    token = _CURRENT.set(op)
    try:
        yield op
    finally:
        _CURRENT.reset(token)


def in_scope() -> bool:
    """Whether an ``operator_scope`` is active."""
    return _CURRENT.get() is not None
