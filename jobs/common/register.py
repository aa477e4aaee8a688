"""One 国保資格 row per person, chosen the same way by every job that needs a 宛名.

The 資格 register (``nhi_qualification``) is one row per insured member, 擬制世帯主 and 特定同一世帯所属者,
but nothing in a city's file forbids a person twice (a 喪失 and a 再取得 in one extract). Every document
that prints a 宛名 — the 納税通知書 (FK150/FK230), the 口座振替不能通知 (SN130), the 還付充当通知書,
the 督促状 (TN020) and the 催告書 and arrears records — takes the same row: the newest 資格 period
(greatest 資格取得日), the later record in the dataset's order (file, record number) on a tie. Never an
arbitrary one: ``unique(keep="any")`` could change an address between two runs of the same step.
"""

from __future__ import annotations

import polars as pl

_ROW = "__register_row"


def one_per_person(frame: pl.DataFrame, person: str = "person_id") -> pl.DataFrame:
    """``frame`` with one row per ``person``, in the order of each person's first row; see the module doc."""
    if frame.height == 0 or not frame[person].is_duplicated().any():
        return frame
    order = [person, "acquired_date", _ROW] if "acquired_date" in frame.columns else [person, _ROW]
    first = frame.with_row_index(_ROW).group_by(person, maintain_order=True).agg(pl.col(_ROW).min().alias("_first"))
    chosen = (frame.with_row_index(_ROW).sort(order, nulls_last=False)
              .unique(person, keep="last", maintain_order=True))
    return (chosen.join(first, on=person).sort("_first").drop(_ROW, "_first"))
