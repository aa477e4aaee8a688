"""What the 滞納 documents share (督促状 reports/dunning.py, 催告書 reports/reminder.py, 分割納付 納付書
reports/arrears_records.py): the page/slip counts of a PDF, the column check, and the vendor's
print-data file (header, one data record per row, trailer) written through the codec."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common.config import Config

from .notices import NoticeError, NoticeWriter

__all__ = ["DocStats", "DocWriter", "as_date", "require_columns", "write_print_records"]


@dataclass
class DocStats:
    """What one PDF file of documents holds (the step's figures)."""

    path: Path
    pages: int = 0
    documents: int = 0
    slips: int = 0
    barcodes: int = 0


class DocWriter(NoticeWriter):
    """A 滞納 document with 納付書 (督促状, 催告書, 分割納付 納付書): the notice machinery's page and slips,
    counted in ``DocStats``; ``doc_title`` names the PDF, ``creator`` its producer, and ``no_cvs`` is
    the text a slip prints where it cannot be paid at a コンビニ."""

    doc_title = ""
    creator = "kokuho-batch reports"

    def __init__(self, cfg: Config, path: str | Path, *, no_cvs: str):
        super().__init__(cfg, path)
        self.stats = DocStats(path=self.path)
        self.texts = {**self.texts, "slip_no_cvs": no_cvs}

    def __enter__(self) -> DocWriter:
        self.open_canvas(self.doc_title, str(self.issuer["name"]), self.creator)
        return self

    def notice_no_text(self, row: dict[str, Any]) -> str:
        return str(row.get("notice_no") or "")

    def end_page(self) -> None:
        self.c.showPage()
        self.stats.pages += 1


def require_columns(rows: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise NoticeError(f"{what}: 列がありません: {', '.join(missing)}")


def as_date(v: Any) -> dt.date | None:
    if v is None or isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def write_print_records(layout_id: str, rows: pl.DataFrame, cfg: Config, path: Path, *, creation_date: dt.date,
                        header: Mapping[str, Any], year_column: str,
                        trailer: Mapping[str, Any] | None = None) -> None:
    """The print-data file of ``layout_id``: one group (header with the 市区町村コード, 作成日, the
    issuer and ``header``; the rows, their ``year_column`` as a 4-digit 年度; the trailer with its
    counts and sums, plus ``trailer``). Written atomically by the codec's FileWriter."""
    layout = fw.load_layout(layout_id)
    muni = str(cfg.get("municipality.code"))
    head = {"municipality_code": muni, "creation_date": creation_date, **header,
            "issuer_name": str(cfg.get("notices.issuer.name"))}
    data_cols = [f.name for f in layout.data_type.columns if f.name != "record_kind"]
    frame = rows.with_columns(pl.lit(muni).alias("municipality_code"),
                              pl.col(year_column).cast(pl.Int64).cast(pl.String).str.zfill(4),
                              pl.col("postal_code").cast(pl.String))
    with fw.FileWriter(layout, path) as w:
        w.begin_group(head)
        if frame.height:
            w.write(frame.select(data_cols))
        w.end_group({"municipality_code": muni, **(trailer or {})})
