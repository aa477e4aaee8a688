"""預貯金等の照会書 (財産調査 照会文書, TN150): one A4 page per (滞納者, bank).

    stats = render_inquiries(docs, cfg, "var/reports/arrears/<gen>/zaisan_shokai/shokai_0001_001.pdf")

``docs`` has ``INQUIRY_COLUMNS``, one row per 照会書. The page: the bank (名称 御中) top left, the
照会日 and the 通知者 (config ``notices.issuer``) top right, the 照会番号, the title and the legal
basis (config ``arrears_records.property_inquiry``), the text, the 滞納者 (氏名, フリガナ, 住所 — no
個人番号, no 宛名番号), the 照会事項, the 回答期限 and a 回答欄 for the bank (取引の有無, 店名, 種類,
口座番号, 残高, 回答日, 回答者). Deterministic output (reportlab invariant mode), written atomically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common.config import Config

from .notices import NoticeError, NoticeWriter
from .notices.primitives import postal

__all__ = ["INQUIRY_COLUMNS", "InquiryStats", "render_inquiries"]

INQUIRY_COLUMNS = ("inquiry_no", "inquiry_date", "reply_by", "bank_code", "bank_name", "taxpayer_name",
                   "taxpayer_kana", "postal_code", "address")
WIDTH = 180.0


@dataclass
class InquiryStats:
    path: Path
    pages: int = 0
    documents: int = 0


def render_inquiries(docs: pl.DataFrame, cfg: Config, path: str | Path) -> InquiryStats:
    """The 照会書 of ``docs`` in row order, one page each (at least one row)."""
    missing = [c for c in INQUIRY_COLUMNS if c not in docs.columns]
    if missing:
        raise NoticeError(f"財産調査照会書: 列がありません: {', '.join(missing)}")
    if docs.height == 0:
        raise NoticeError("財産調査照会書: 照会がありません")
    with _InquiryWriter(cfg, path) as w:
        for row in docs.select(INQUIRY_COLUMNS).iter_rows(named=True):
            w.add(row)
    return w.stats


def _date(v: Any) -> dt.date:
    return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))


class _InquiryWriter(NoticeWriter):
    def __init__(self, cfg: Config, path: str | Path):
        super().__init__(cfg, path)
        self.pi = cfg.get("arrears_records.property_inquiry")
        self.stats = InquiryStats(path=self.path)

    def __enter__(self) -> _InquiryWriter:
        self.open_canvas(str(self.pi["title"]), str(self.issuer["name"]), "kokuho-batch reports.property_inquiry")
        return self

    def add(self, row: dict[str, Any]) -> None:
        for c in ("inquiry_no", "bank_name", "taxpayer_name", "address"):
            if not row[c]:
                raise NoticeError(f"財産調査照会書: {c} が空です (照会番号 {row['inquiry_no']})")
        x, right = self.margin_l, 210 - self.margin_r
        self.fit(x, 22, f"{row['bank_name']}　御中", 100, 12)
        self.text(x, 28, f"(金融機関コード {row['bank_code']})", 8)
        self.text(right, 18, self.wareki.date(_date(row["inquiry_date"])), 10, "r")
        self.text(right, 25, str(self.issuer["name"]), 11, "r")
        self.text(right, 30.5, str(self.issuer.get("seal_note", "")), 8, "r")
        self.text(right, 38, f"照会番号 {row['inquiry_no']}", 9, "r")
        self.bold(105, 52, str(self.pi["title"]), 15, "c")
        y = self.wrap(x, 62, str(self.pi["intro"]).strip(), WIDTH, 9, 4.6)
        y = self.wrap(x, y + 2, f"根拠法令　{self.pi['basis']}", WIDTH, 8.5, 4.2)
        self.text(105, y + 6, "記", 10, "c")
        # 1 照会対象者
        y += 12
        self.text(x, y, "１　照会対象者（滞納者）", 9.5)
        widths, rows = [30.0, 150.0], (("フリガナ", row["taxpayer_kana"] or ""), ("氏名", row["taxpayer_name"]),
                                       ("住所", f"{postal(row['postal_code'])}　{row['address']}"))
        yy = y + 2
        self.grid(x, yy, widths, [7.0] * len(rows), head_fill=None)
        for k, (label, value) in enumerate(rows):
            self.box(x, yy + 7 * k, widths[0], 7, width=0, fill=0.92)
            self.text(x + 2, yy + 7 * k + 4.8, label, 8.5)
            self.fit(x + widths[0] + 2, yy + 7 * k + 4.8, str(value), widths[1] - 4, 10)
        self.grid(x, yy, widths, [7.0] * len(rows), head_fill=None)
        # 2 照会事項
        y = yy + 7 * len(rows) + 8
        self.text(x, y, "２　照会事項", 9.5)
        y += 5
        for k, item in enumerate(self.pi["items"]):
            y = self.wrap(x + 4, y, f"({k + 1}) {item}", WIDTH - 4, 8.5, 4.2) + 0.8
        y += 3
        self.text(x, y, f"３　回答期限　{self.wareki.date(_date(row['reply_by']))}", 9.5)
        y = self.wrap(x, y + 6, str(self.pi["note"]).strip(), WIDTH, 7.5, 3.8)
        # 回答欄 (the bank fills it in and returns the page)
        y += 4
        self.line(x, y, right, y, 0.4, dash=(2, 2))
        self.bold(105, y + 7, "回　答　書", 12, "c")
        self.text(x, y + 13, f"照会番号 {row['inquiry_no']}　　{self.issuer['name']} あて", 8.5)
        head = ("店名", "預貯金等の種類", "口座番号", "残高 (円)", "備考")
        w = [34.0, 34.0, 34.0, 38.0, 40.0]
        gy = y + 16
        self.text(x, gy + 4, "取引の有無　　有　・　無", 9)
        gy += 7
        self.grid(x, gy, w, [6.0] + [7.0] * 4)
        xx = x
        for width, h in zip(w, head, strict=True):
            self.text(xx + width / 2, gy + 4.2, h, 8, "c")
            xx += width
        gy += 6 + 7 * 4 + 7
        self.text(x, gy, "回答日　　　　年　　月　　日　　　金融機関名・担当者", 9)
        self.text(right, gy, "㊞", 9, "r")
        self.c.showPage()
        self.stats.pages += 1
        self.stats.documents += 1
