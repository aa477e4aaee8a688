"""管理外データ退避及び削除: which files under var/ are past their retention (config/common/retention.yaml).

A file belongs to a data kind (賦課, 収納, 滞納, 資格・宛名, 受信ファイル, エラーリスト) by the first
``paths`` pattern of a kind it matches, and to a fiscal year by the generation in its path
(``m<団体>_fy<YYYY>_d<YYYYMMDD>``), else a YYYYMMDD date in its name, else its modification time.
It expires on 4月1日 of ``fy + 1 + years + margin_years`` (its fiscal year's end plus the kind's
years). The newest generation of each dataset is never deleted; the ``never`` patterns (the
access log, keys, Airflow, the ledger file, the inbox) are never looked at.

``plan`` is pure (what would go), ``delete`` removes a plan's files; the ledger rows are
jobs.ledger.retention's part, the KR900 step and ``kokuho purge`` put the two together.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobs.common import bizcal, paths
from jobs.common.bizcal import BusinessCalendar

_GENERATION = re.compile(r"m\d{6}_fy(\d{4})_d(\d{8})")
_DATE = re.compile(r"(?<!\d)(20\d{2})(0[1-9]|1[0-2])([0-3]\d)(?!\d)")


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    years: int
    margin_years: int
    basis: str
    verified: bool
    patterns: tuple[str, ...]

    def expires_on(self, fy: int, cal: BusinessCalendar | None = None) -> dt.date:
        """The first day the data of fiscal year ``fy`` may be deleted (its fiscal year's end plus
        the kind's years; the fiscal-year start is calendar.fiscal_year_start)."""
        return (cal or bizcal.calendar()).fiscal_year_first_day(fy + 1 + self.years + self.margin_years)

    def newest_expired_fy(self, today: dt.date, cal: BusinessCalendar | None = None) -> int:
        """The newest fiscal year whose data has expired on ``today``."""
        return (cal or bizcal.calendar()).fiscal_year(today) - 1 - self.years - self.margin_years


@dataclass(frozen=True)
class Policy:
    kinds: tuple[Kind, ...]
    never: tuple[str, ...]
    ledger_kind: str
    report_folder: str
    calendar: BusinessCalendar  # the city's (fiscal years: calendar.fiscal_year_start)

    def kind(self, name: str) -> Kind:
        for k in self.kinds:
            if k.name == name:
                return k
        raise KeyError(f"保存期間の種別がありません: {name}")

    def classify(self, rel: str) -> Kind | None:
        for k in self.kinds:
            if any(_match(rel, p) for p in k.patterns):
                return k
        return None

    def excluded(self, rel: str) -> bool:
        return any(_match(rel, p) for p in self.never)


@dataclass(frozen=True)
class Item:
    """One file past (or not past) its retention."""

    path: Path
    rel: str  # relative to var/
    kind: str
    label: str
    fiscal_year: int
    source: str  # generation | name | mtime
    expires_on: dt.date
    size: int

    def row(self) -> dict[str, Any]:
        return {"path": self.rel, "kind": self.kind, "label": self.label, "fiscal_year": self.fiscal_year,
                "dated_by": self.source, "expires_on": self.expires_on.isoformat(), "bytes": self.size}


def _match(rel: str, pattern: str) -> bool:
    """``datasets/assessment/**`` matches everything under a folder matching ``datasets/assessment``."""
    if pattern.endswith("/**"):
        base = pattern[:-3]
        depth = base.count("/") + 1
        parts = rel.split("/")
        return len(parts) > depth and fnmatch.fnmatchcase("/".join(parts[:depth]), base)
    return fnmatch.fnmatchcase(rel, pattern)


def policy(cfg) -> Policy:
    """The retention policy of a config (jobs.common.config.Config)."""
    section = cfg.get("retention")
    kinds = tuple(Kind(name, str(v["label"]), int(v["years"]), int(v.get("margin_years", 0)),
                       " ".join(str(v.get("basis", "")).split()), bool(v.get("verified", False)),
                       tuple(v.get("paths") or ())) for name, v in section["kinds"].items())
    ledger = section.get("ledger") or {}
    return Policy(kinds, tuple(section.get("never") or ()), str(ledger.get("kind", "collection")),
                  str(section.get("report_folder", "retention")), BusinessCalendar.from_config(cfg))


def dating(path: Path, rel: str, cal: BusinessCalendar) -> tuple[int, str]:
    """(fiscal year, how it was found) of a file."""
    m = _GENERATION.search(rel)
    if m:
        return int(m.group(1)), "generation"
    m = _DATE.search(path.name)
    if m:
        try:
            return cal.fiscal_year(dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))), "name"
        except ValueError:
            pass
    mtime = dt.datetime.fromtimestamp(path.stat().st_mtime).date()
    return cal.fiscal_year(mtime), "mtime"


def _newest_generations(var: Path) -> set[str]:
    """``datasets/<dataset>/<generation>`` of the newest generation of each dataset and 団体."""
    keep: set[str] = set()
    root = var / "datasets"
    if not root.is_dir():
        return keep
    for ds in root.iterdir():
        if not ds.is_dir():
            continue
        newest: dict[str, tuple[str, str]] = {}
        for gen in ds.iterdir():
            m = _GENERATION.match(gen.name)
            if not m:
                continue
            muni = gen.name[1:7]
            key = (m.group(1), m.group(2))
            if muni not in newest or key > newest[muni][0]:
                newest[muni] = (key, gen.name)
        keep.update(f"datasets/{ds.name}/{name}" for _, name in newest.values())
    return keep


def plan(pol: Policy, today: dt.date, *, var: Path | None = None) -> tuple[list[Item], list[str]]:
    """(the files past their retention on ``today``, the unclassified files kept)."""
    var = var or paths.var_root()
    keep = _newest_generations(var)
    expired: list[Item] = []
    unclassified: list[str] = []
    for dirpath, dirnames, filenames in os.walk(var):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(var).as_posix()
            if pol.excluded(rel):
                continue
            kind = pol.classify(rel)
            if kind is None:
                if not rel.startswith(f"reports/{pol.report_folder}/"):
                    unclassified.append(rel)
                continue
            if any(rel.startswith(k + "/") for k in keep):
                continue
            fy, source = dating(path, rel, pol.calendar)
            until = kind.expires_on(fy, pol.calendar)
            if today >= until:
                expired.append(Item(path, rel, kind.name, kind.label, fy, source, until, path.stat().st_size))
    return expired, unclassified


def delete(items: Iterable[Item], *, var: Path | None = None) -> int:
    """Remove the files of a plan and the folders they leave empty; returns the files removed."""
    var = var or paths.var_root()
    n = 0
    folders: set[Path] = set()
    for item in items:
        try:
            item.path.unlink()
            n += 1
        except FileNotFoundError:
            continue
        folders.add(item.path.parent)
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder != var and folder.is_relative_to(var):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
    return n
