"""Dataset store: Parquet generations, like a GDG (generation data group).

    var/datasets/<dataset>/<generation>/part-0.parquet
    var/datasets/<dataset>/<generation>/_totals.json

A generation is named from the run parameters (``m111007_fy2026_d20260615``), so re-running a
step replaces its own generation and nothing else. Writing is two-phase: ``stage`` writes a
hidden temp folder, ``commit`` swaps it into place:

    1. write  .tmp-<gen>-<host>-<pid>-<token>/   (files fsync'ed)
    2. rename <gen>            → .old-<gen>-<token>     (only when <gen> exists)
    3. rename .tmp-…           → <gen>
    4. delete .old-<gen>-<token>

A crash at any point leaves either the old or the new generation complete: readers fall back
to ``.old-<gen>-*`` when ``<gen>`` is missing (crash between 2 and 3), and the next writer of
the dataset cleans up (``recover``). One writer per generation at a time (Airflow runs one DAG
run per municipality and business date).

Same frame + same totals → the same bytes: compression, level, statistics and row-group size
are fixed below, and _totals.json holds no timestamps. Steps sort what they write by the
dataset's natural key (``sort_by_key``), so the same inputs give the same frame.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from . import paths, staging

PART = "part-0.parquet"
TOTALS = "_totals.json"
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "statistics": True,
    "row_group_size": 262_144,
    "use_pyarrow": False,
}
_GEN_RE = re.compile(r"^m(?P<m>\d{6})_fy(?P<fy>\d{4})_d(?P<d>\d{8})$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class DatasetNotFound(LookupError):
    """No such dataset or generation (message in Japanese, for operators)."""


def generation_name(municipality: str, fy: int, business_date: dt.date) -> str:
    """``m111007_fy2026_d20260615``: the generation a run with these parameters writes."""
    if len(str(municipality)) != 6 or not str(municipality).isdigit():
        raise ValueError(f"団体コードは6桁です: {municipality!r}")
    return f"m{municipality}_fy{int(fy):04d}_d{business_date:%Y%m%d}"


def parse_generation(name: str) -> tuple[str, int, dt.date]:
    """Inverse of ``generation_name``: (municipality, fy, business_date)."""
    m = _GEN_RE.match(name)
    if not m:
        raise ValueError(f"世代名が不正です: {name!r}")
    return m["m"], int(m["fy"]), dt.datetime.strptime(m["d"], "%Y%m%d").date()


def dataset_dir(dataset: str) -> Path:
    return paths.datasets_root() / _check_name(dataset, "データセット名")


def generation_path(dataset: str, generation: str) -> Path:
    """The folder of a committed generation (or of its aside copy after a crash)."""
    return _resolve(dataset, generation)


# --- writing ---------------------------------------------------------------------------------


@dataclass
class StagedGeneration:
    """A generation written to its temp folder, not yet visible. ``commit`` or ``discard`` it."""

    dataset: str
    generation: str
    tmp_dir: Path
    rows: int
    totals: dict[str, Any] = field(default_factory=dict)
    state: str = "staged"  # staged | committed | discarded

    @property
    def final_dir(self) -> Path:
        return dataset_dir(self.dataset) / self.generation

    def commit(self) -> Path:
        if self.state != "staged":
            raise RuntimeError(f"generation {self.dataset}/{self.generation} is {self.state}")
        final = self.final_dir
        base = final.parent
        recover(self.dataset)
        aside = None
        if final.exists():
            aside = base / f".old-{self.generation}-{secrets.token_hex(4)}"
            _rename(final, aside)
            paths.fsync_dir(base)
        _rename(self.tmp_dir, final)
        staging.release(self.tmp_dir)
        paths.fsync_dir(base)
        if aside is not None:
            shutil.rmtree(aside)
        self.state = "committed"
        return final

    def discard(self) -> None:
        if self.state == "staged":
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            staging.release(self.tmp_dir)
            self.state = "discarded"


def stage(
    dataset: str, generation: str, frame: pl.DataFrame, *, totals: Mapping[str, Any] | None = None
) -> StagedGeneration:
    """Write ``frame`` (+ _totals.json) to a hidden temp folder of the dataset."""
    _check_name(generation, "世代名")
    base = paths.ensure_dir(dataset_dir(dataset))
    recover(dataset)
    tmp = staging.hold(base / f".tmp-{generation}-{staging.tag()}")
    tmp.mkdir()
    try:
        doc = _totals_doc(dataset, generation, frame, totals)
        _write_parquet(frame, tmp / PART)
        _write_text(tmp / TOTALS, json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2, default=str) + "\n")
        paths.fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        staging.release(tmp)
        raise
    return StagedGeneration(dataset, generation, tmp, frame.height, doc)


def sort_by_key(frame: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    """``frame`` in the order of its natural ``key`` (the columns of it that it has), rows equal
    in the key in the order of their other columns: the same rows always give the same order,
    so a step writes the same bytes whatever order its joins and group-bys produced them in."""
    cols = [c for c in key if c in frame.columns]
    rest = [c for c, t in frame.schema.items()
            if c not in cols and not isinstance(t, (pl.List, pl.Array, pl.Struct, pl.Object))]
    if frame.height < 2 or not cols + rest:
        return frame
    return frame.sort(cols + rest, maintain_order=True)


def write(
    dataset: str, generation: str, frame: pl.DataFrame, *, totals: Mapping[str, Any] | None = None
) -> Path:
    """Stage and commit in one go; returns the generation folder."""
    return stage(dataset, generation, frame, totals=totals).commit()


def recover(dataset: str) -> list[str]:
    """Clean crash leftovers of ``dataset``; returns what was done (for logs)."""
    base = dataset_dir(dataset)
    if not base.is_dir():
        return []
    done = []
    for old in sorted(base.glob(".old-*")):
        gen = _aside_generation(old.name)
        final = base / gen
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            done.append(f"削除 {old.name}")
        else:
            _rename(old, final)
            done.append(f"復旧 {gen}")
    for tmp in sorted(base.glob(".tmp-*")):
        if _tmp_is_dead(tmp.name):
            shutil.rmtree(tmp, ignore_errors=True)
            done.append(f"削除 {tmp.name}")
    if done:
        paths.fsync_dir(base)
    return done


# --- reading ---------------------------------------------------------------------------------


def datasets() -> list[str]:
    root = paths.datasets_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def generations(dataset: str, *, municipality: str | None = None) -> list[str]:
    """Committed generations, oldest first (names sort by municipality, fiscal year, date)."""
    base = dataset_dir(dataset)
    if not base.is_dir():
        return []
    names = {p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")}
    names |= {_aside_generation(p.name) for p in base.glob(".old-*")}  # crash between swap steps
    if municipality is not None:
        names = {n for n in names if n.startswith(f"m{municipality}_")}
    return sorted(names)


def latest(dataset: str, *, municipality: str | None = None, upto: str | None = None,
           before: str | None = None) -> str | None:
    """The newest generation (of ``municipality``; ``<= upto``; ``< before``), or None."""
    gens = generations(dataset, municipality=municipality)
    if upto is not None:
        gens = [g for g in gens if g <= upto]
    if before is not None:
        gens = [g for g in gens if g < before]
    return gens[-1] if gens else None


def scan(dataset: str, generation: str | None = None, *, municipality: str | None = None) -> pl.LazyFrame:
    gen = generation or latest(dataset, municipality=municipality)
    if gen is None:
        raise DatasetNotFound(f"データセットがありません: {dataset}")
    return pl.scan_parquet(_resolve(dataset, gen) / PART)


def read(dataset: str, generation: str | None = None, *, municipality: str | None = None) -> pl.DataFrame:
    """Read a generation (default: the latest) into memory."""
    return scan(dataset, generation, municipality=municipality).collect()


def read_totals(dataset: str, generation: str | None = None, *, municipality: str | None = None) -> dict[str, Any]:
    gen = generation or latest(dataset, municipality=municipality)
    if gen is None:
        raise DatasetNotFound(f"データセットがありません: {dataset}")
    return json.loads((_resolve(dataset, gen) / TOTALS).read_text(encoding="utf-8"))


# --- internals -------------------------------------------------------------------------------


def _resolve(dataset: str, generation: str) -> Path:
    base = dataset_dir(dataset)
    final = base / _check_name(generation, "世代名")
    if final.is_dir():
        return final
    asides = sorted(base.glob(f".old-{generation}-*")) if base.is_dir() else []
    if asides:
        return asides[0]
    raise DatasetNotFound(f"世代がありません: {dataset}/{generation}")


def _totals_doc(dataset: str, generation: str, frame: pl.DataFrame, extra: Mapping[str, Any] | None) -> dict:
    doc: dict[str, Any] = {
        "dataset": dataset,
        "generation": generation,
        "rows": frame.height,
        "columns": [[name, str(dtype)] for name, dtype in frame.schema.items()],
    }
    for key, value in (extra or {}).items():
        if key in doc:
            raise ValueError(f"totals key {key!r} is reserved")
        doc[key] = value
    return doc


def _write_parquet(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path, **PARQUET_OPTIONS)
    paths.fsync_file(path)


def _write_text(path: Path, text: str) -> None:
    path.write_bytes(text.encode("utf-8"))
    paths.fsync_file(path)


def _rename(src: Path, dst: Path) -> None:
    os.rename(src, dst)


def _aside_generation(name: str) -> str:
    # .old-<generation>-<token>
    return name[len(".old-"):].rsplit("-", 1)[0]


def _host() -> str:
    return staging.host()


def _tmp_is_dead(name: str) -> bool:
    """A .tmp-<gen>-<host>-<pid>-<token> folder whose writer (on this host) has exited."""
    return staging.is_dead(name)


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or ".." in name:
        raise ValueError(f"{what}が不正です: {name!r}")
    return name
