"""The parts every notice page shares: 宛名 in the envelope window, 通知者, the 年度 / 通知書番号
table, 教示 and 問い合わせ先, the title and the introduction (``NoticePage``, a mixin of
``NoticeWriter``; the collection reports reuse the address and issuer blocks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .primitives import postal, wrap_lines


class NoticePage:
    """Shared page parts; needs a ``PdfWriter`` with the notice settings of ``NoticeWriter``."""

    def _fy_label(self, row: dict[str, Any]) -> str:
        return self.wareki.fiscal_year(int(row["fiscal_year"]), self.fy_start)

    def notice_no_text(self, row: dict[str, Any]) -> str:
        n = row["notice_no"]
        return f"{n[:10]}-{n[10:]}"

    def address_block(self, row: dict[str, Any]) -> None:
        w = self.window
        x, y, width = float(w["x"]) + 4, float(w["y"]), float(w["width"]) - 8
        self.text(x, y + 6, postal(row["postal_code"]), 10)
        yy = y + 12
        for line in wrap_lines(row["address"] or "", self.font, 10, width)[:2]:
            self.text(x, yy, line, 10)
            yy += 5
        if row["address_building"]:
            self.fit(x, yy, row["address_building"], width, 10)
        self.fit(x + 4, y + 32, f"{row['addressee_name']}　様", width - 4, 14)
        self.text(x, y + float(w["height"]) - 3, f"通知書番号 {self.notice_no_text(row)}", 7)

    def issuer_block(self, row: dict[str, Any]) -> None:
        right = 210 - self.margin_r
        self.text(right, 18, self.wareki.date(row["issue_date"]), 10, "r")
        self.text(right, 25, str(self.issuer["name"]), 11, "r")
        self.text(right, 30.5, str(self.issuer.get("seal_note", "")), 8, "r")

    def _id_table_static(self) -> None:
        x, y = 125.0, 38.0
        widths, heights = [26.0, 44.0], [6.0, 6.0, 6.0, 6.0]
        self.grid(x, y, widths, heights, head_fill=None)
        for k, label in enumerate(("年度", "通知書番号", "世帯主宛名番号", "世帯番号")):
            self.box(x, y + 6 * k, widths[0], 6, width=0, fill=0.92)
            self.text(x + 2, y + 6 * k + 4.2, label, 8)
        self.grid(x, y, widths, heights, head_fill=None)

    def _id_table(self, row: dict[str, Any]) -> None:
        x, y = 125.0 + 28, 38.0
        self.text(x, y + 4.2, self._fy_label(row), 9)
        self.text(x, y + 10.2, self.notice_no_text(row), 9)
        self.text(x, y + 16.2, row["taxpayer_person_id"], 9)
        self.text(x, y + 22.2, row["household_id"], 9)

    def _footer_static(self, top: float) -> None:
        x0, width = self.margin_l, 210 - self.margin_l - self.margin_r
        self.text(x0 + 2, top + 4.5, "【教示】", 7.5)
        y = self.wrap(x0 + 2, top + 8.5, str(self.texts["appeal"]).strip(), width - 4, 7, 3.6)
        c = self.contact
        y += 1.5
        self.text(x0 + 2, y, "【問い合わせ先】", 7.5)
        self.text(x0 + 26, y, f"{c['department']}　{c['address']}", 7.5)
        self.text(x0 + 26, y + 4, f"電話 {c['phone']}（{c['hours']}）", 7.5)
        self.box(x0, top, width, y + 6.5 - top, width=0.4)

    def _page_common(self, row: dict[str, Any], title: str, intro: str, form_name: str,
                     body_static: Callable[[], None]) -> None:
        def static() -> None:
            # fold marks for a three-fold (三つ折り) into a 長3 envelope
            self.line(3, 99, 7, 99, 0.3)
            self.line(3, 198, 7, 198, 0.3)
            self._id_table_static()
            body_static()

        self.form(form_name, static)
        self.address_block(row)
        self.issuer_block(row)
        self._id_table(row)
        self.bold(105, 72, f"{self._fy_label(row)}　{title}", 15, "c")
        self.wrap(self.margin_l, 78.5, str(intro).strip(), 210 - self.margin_l - self.margin_r, 8.5, 4.0)
