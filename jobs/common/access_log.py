"""The access log (アクセス記録): who read or changed whose records, append-only.

One JSON line per event in ``var/audit/access_<YYYYMM>.jsonl`` (mode 0600, folder 0700),
written with a single ``os.write`` on a descriptor opened ``O_WRONLY | O_APPEND | O_CREAT`` —
the program never opens it for anything but appending, has no code that rewrites or deletes a
line, and the purge (jobs.retention) leaves var/audit/ alone. A file rather than a ledger table:
the log must also cover what never opens the ledger (``kokuho shisan``, ``kokuho archive cat``)
and must survive a ledger restore; production ships it to the WORM/SIEM store with the other
logs (``chattr +a`` on the folder is the host's part).

A line (keys short, the values the 評価書 names):

    {"ts": 処理日時 (ISO, local), "op": 職員 (operator id), "why": 処理事由 (run id / command),
     "act": read|write|purge|export, "step": job id or command, "file": path or null,
     "n": rows, "atena": "宛名番号 …", "notice": "通知書番号 …", "extra": {…}}

(``atena`` / ``notice``: the distinct ids, sorted, space-separated; ``lines()`` gives lists.)

``atena`` holds 宛名番号 (person_id / household_id), never 個人番号. Ledger rows keyed only by
通知書番号 (payment, reconciliation: the 5M-row 消込) are logged by their distinct 通知書番号 —
``kokuho audit --atena`` maps a 宛名番号 to its 通知書番号 through the ledger's notice table —
so a step costs one ``unique()`` per written frame and one line per step, not one per payment.

Ledger writes are collected by ``collect()`` (jobs.runner.run_job, around each step) from
``Tx.insert`` / ``Tx.stage`` (``note_frame``) and written as one line when the step ends.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common import paths
from jobs.common.operator import current_operator

PERSON_COLUMNS = ("person_id", "household_id")  # 宛名番号 (個人 / 世帯); never my_number
NOTICE_COLUMN = "notice_number"
FORBIDDEN = ("my_number", "kojin_bango", "individual_number")  # 個人番号 never enters the log


def audit_root() -> Path:
    return paths.var_root() / "audit"


def log_path(when: dt.datetime | None = None) -> Path:
    when = when or dt.datetime.now()
    return audit_root() / f"access_{when:%Y%m}.jsonl"


def _ids(values: Iterable[Any] | pl.Series | None) -> str:
    """The distinct ids, sorted, as one space-separated string (compact: a 5M-row 消込 names ~2M
    通知書番号; one string is dumped and parsed far faster than a JSON list of them)."""
    if values is None:
        return ""
    series = values if isinstance(values, pl.Series) else pl.Series("id", [str(v) for v in values], dtype=pl.String)
    series = series.cast(pl.String).drop_nulls()
    series = series.filter(series != "").unique().sort()
    return series.str.join(" ").item() if series.len() else ""


def record(*, operator: str | None = None, reason: str | None = None, action: str, step: str,
           file: str | os.PathLike | None = None, atena: Iterable[Any] | pl.Series | None = None,
           notices: Iterable[Any] | pl.Series | None = None, rows: int | None = None,
           extra: dict[str, Any] | None = None, when: dt.datetime | None = None) -> dict[str, Any]:
    """Append one event to the access log and return it.

    ``operator`` / ``reason`` default to the running step's (jobs.common.operator.current_operator).
    For ``kokuho archive cat`` (t4): ``record(action="read", step="archive cat", file=path,
    atena=[...] or None, rows=n)``."""
    op = current_operator()
    for key in (extra or {}):
        if any(f in key.lower() for f in FORBIDDEN):
            raise ValueError(f"個人番号はアクセス記録に書けません: {key}")
    when = when or dt.datetime.now()
    line = {"ts": when.isoformat(timespec="seconds"), "op": operator or op.operator_id,
            "why": reason if reason is not None else op.run_id, "act": action, "step": step,
            "file": None if file is None else str(file), "n": rows, "atena": _ids(atena),
            "notice": _ids(notices)}
    if extra:
        line["extra"] = extra
    append_line(log_path(when), json.dumps(line, ensure_ascii=False, default=str))
    return _parsed(line)


def append_line(path: Path, text: str) -> None:
    """One line appended with one write (O_APPEND: never overwrites, even with other writers)."""
    paths.ensure_dir(path.parent, 0o700)
    data = (text.replace("\n", " ") + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


# --- the records a step touches in the ledger ------------------------------------------------

@dataclass
class Touched:
    """Whose rows a step wrote (or staged) in the ledger: rows per table, and the distinct
    宛名番号 and 通知書番号 as Polars series (no Python objects per row)."""

    rows: dict[str, int] = field(default_factory=dict)
    atena: list[pl.Series] = field(default_factory=list)
    notice: list[pl.Series] = field(default_factory=list)

    def add(self, table: str, frame: pl.DataFrame) -> None:
        self.rows[table] = self.rows.get(table, 0) + frame.height
        persons = [c for c in PERSON_COLUMNS if c in frame.columns]
        for name in persons:
            self.atena.append(frame.get_column(name).cast(pl.String).unique())
        if NOTICE_COLUMN in frame.columns and not persons:
            self.notice.append(frame.get_column(NOTICE_COLUMN).cast(pl.String).unique())


_TOUCHED: contextvars.ContextVar[Touched | None] = contextvars.ContextVar("kokuho_touched", default=None)


@dataclass(frozen=True)
class _Step:
    step: str
    extra: dict[str, Any]


_STEP: contextvars.ContextVar[_Step | None] = contextvars.ContextVar("kokuho_access_step", default=None)


def note_frame(table: str, frame: pl.DataFrame) -> None:
    """Called by the ledger (Tx.insert / Tx.stage): remember whose rows this transaction writes."""
    touched = _TOUCHED.get()
    if touched is not None and frame.height:
        touched.add(table, frame)


@contextlib.contextmanager
def collect(step: str | None = None, extra: dict[str, Any] | None = None) -> Iterator[Touched]:
    """The scope of one step (``jobs.runner.run_job``): the ledger transactions committed inside it
    are logged under ``step``. Used alone (a test, a tool), it yields a Touched to ``flush``."""
    touched = Touched()
    token = _TOUCHED.set(touched)
    step_token = _STEP.set(_Step(step, dict(extra or {})) if step else _STEP.get())
    try:
        yield touched
    finally:
        _STEP.reset(step_token)
        _TOUCHED.reset(token)


@contextlib.contextmanager
def transaction() -> Iterator[Touched]:
    """Whose rows one ledger transaction writes (``Ledger.transaction``). The caller logs them
    with ``committed`` once the database has committed: a transaction that rolls back is never
    logged, and one that committed is logged even if the step is killed a moment later."""
    touched = Touched()
    token = _TOUCHED.set(touched)
    try:
        yield touched
    finally:
        _TOUCHED.reset(token)


def committed(touched: Touched) -> int:
    """Log a committed transaction's writes under the running step (``collect``), or as
    ``ledger`` outside a step; 0 when it wrote nobody's rows."""
    scope = _STEP.get()
    return flush(touched, step=scope.step if scope else "ledger", extra=scope.extra if scope else None)


def flush(touched: Touched, *, step: str, file: str | None = None, extra: dict[str, Any] | None = None) -> int:
    """One ``write`` line (the tables and their row counts in ``extra``); 0 when it touched
    nobody's rows."""
    if not (touched.atena or touched.notice):
        return 0
    atena = pl.concat(touched.atena) if touched.atena else None
    notices = pl.concat(touched.notice) if touched.notice else None
    record(action="write", step=step, file=file, atena=atena, notices=notices, rows=sum(touched.rows.values()),
           extra={"tables": dict(sorted(touched.rows.items())), **(extra or {})})
    return 1


# --- reading ---------------------------------------------------------------------------------

def _parsed(event: dict[str, Any]) -> dict[str, Any]:
    """An event with ``atena`` / ``notice`` as lists."""
    for key in ("atena", "notice"):
        value = event.get(key)
        if isinstance(value, str):
            event[key] = value.split() if value else []
    return event


def lines(root: Path | None = None) -> Iterator[dict[str, Any]]:
    """Every event of the log, oldest first."""
    root = root or audit_root()
    for path in sorted(root.glob("access_*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for raw in fh:
                if raw.strip():
                    yield _parsed(json.loads(raw))


def history(atena: str, notices: Iterable[str] = (), root: Path | None = None) -> list[dict[str, Any]]:
    """The events naming ``atena`` (or one of its 通知書番号), oldest first. A cheap substring
    test skips the lines that cannot match before any JSON is parsed."""
    root = root or audit_root()
    wanted_notices = {str(n) for n in notices}
    needles = [atena, *wanted_notices]
    out = []
    for path in sorted(root.glob("access_*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for raw in fh:
                if not any(n in raw for n in needles):
                    continue
                event = _parsed(json.loads(raw))
                if atena in event.get("atena", ()) or wanted_notices.intersection(event.get("notice", ())):
                    out.append(event)
    return out
