"""納付書: one slip per ordinary installment with an amount (変更: those not yet due at the issue
date), except those paid by 口座振替 (``print_data.debited_slots``), three to an A4 page — 領収済通知書 with the GS1-128 コンビニ barcode and its human-readable
line, and 領収証書. The collection's 口座振替不能通知書 prints the same slip."""

from __future__ import annotations

from typing import Any

from reportlab.lib.rl_accel import fp_str
from reportlab.lib.units import mm

from jobs.common import gs1

from ..print_data import NOTICE_CHANGE, debited_slots
from . import barcodes
from .primitives import PAGE_H, yen


class PaymentSlip:
    """The 納付書 (a mixin of ``NoticeWriter``)."""

    def _slips_of(self, row: dict[str, Any]) -> list[int]:
        out = []
        debited = set(debited_slots(row))
        for i in range(1, 11):
            amount = row[f"ordinary_{i}_amount"]
            if not amount:
                continue
            if row["notice_kind"] == NOTICE_CHANGE and row[f"ordinary_{i}_due_date"] < row["issue_date"]:
                continue  # already due: the collection side handles it
            if i in debited:
                continue  # 口座振替: the bank debits it on its 納期限, no 納付書
            out.append(i)
        return out

    def _slip_static(self) -> None:
        """One slip at the top third of the page (y 0..99 mm); drawn at offsets for the others."""
        left_w, x0 = 128.0, 4.0
        top = 5.0
        # 領収済通知書 (for the bank / CVS) — left
        self.bold(x0 + 2, top + 5, str(self.titles["payment_slip"]), 11)
        self.text(x0 + left_w - 2, top + 5, "（領収済通知書）", 8, "r")
        self.grid(x0, top + 8, [20.0, 30.0, 18.0, 60.0], [7.0, 7.0], head_fill=None)
        for (cx, cy, label) in ((x0, top + 8, "年度"), (x0 + 50, top + 8, "期別"), (x0, top + 15, "通知書番号"),
                                (x0 + 50, top + 15, "納期限")):
            self.box(cx, cy, 20 if cx == x0 else 18, 7, width=0, fill=0.92)
            self.text(cx + 1.5, cy + 4.8, label, 8)
        self.grid(x0, top + 8, [20.0, 30.0, 18.0, 60.0], [7.0, 7.0], head_fill=None)
        self.text(x0, top + 27, "納付者", 8)
        self.grid(x0 + 70, top + 24, [18.0, 40.0], [10.0], head_fill=None)
        self.box(x0 + 70, top + 24, 18, 10, width=0, fill=0.85)
        self.grid(x0 + 70, top + 24, [18.0, 40.0], [10.0], head_fill=None, width=0.8)
        self.text(x0 + 79, top + 30.5, "納付額", 9, "c")
        self.text(x0 + 126, top + 31, "円", 9, "r")
        self.text(x0, top + 40, f"取りまとめ：{self.issuer['name']}", 7)
        self.text(x0, top + 44, str(self.texts["slip_note"]), 7)
        # cut line between the two parts
        self.line(x0 + left_w + 2, 2, x0 + left_w + 2, 97, 0.3, dash=(2, 2))
        # 領収証書 (for the taxpayer) — right
        rx, rw = x0 + left_w + 5, 210 - (x0 + left_w + 5) - 4
        self.bold(rx + rw / 2, top + 5, "領収証書", 11, "c")
        self.grid(rx, top + 8, [18.0, rw - 18.0], [6.0] * 5, head_fill=None)
        for k, label in enumerate(("年度", "期別", "納期限", "通知書番号", "納付額")):
            self.box(rx, top + 8 + 6 * k, 18, 6, width=0, fill=0.92)
            self.text(rx + 1.5, top + 8 + 6 * k + 4.2, label, 7.5)
        self.grid(rx, top + 8, [18.0, rw - 18.0], [6.0] * 5, head_fill=None)
        self.text(rx + rw - 1.5, top + 8 + 24 + 4.3, "円", 8, "r")
        self.text(rx, top + 44, "上記のとおり領収しました。", 7)
        self.c.setLineWidth(0.4)
        self.c.circle((rx + rw / 2) * mm, PAGE_H - (top + 66) * mm, 13 * mm, stroke=1, fill=0)
        self.text(rx + rw / 2, top + 83, "領収日付印", 7, "c")
        # cut line under the slip
        self.line(0, 99, 210, 99, 0.3, dash=(3, 2))

    def slip(self, row: dict[str, Any], slot: int, pos: int) -> None:
        c = self.c
        dy = pos * 99.0
        # saveState() + translate(0, -dy mm), written directly (the same operators; ~10 µs less a
        # slip): nothing drawn below changes the canvas's tracked state but the line width
        line_width = c._lineWidth
        c._code.append("q")
        c._code.append(f"{fp_str(1, 0, 0, 1, 0, -dy * mm)} cm")
        self.form("slip", self._slip_static)
        x0, top, left_w = 4.0, 5.0, 128.0
        fy = self._fy_label(row)
        no = row[f"ordinary_{slot}_no"]
        due = self.wareki.date(row[f"ordinary_{slot}_due_date"])
        amount = int(row[f"ordinary_{slot}_amount"])
        notice_no = self.notice_no_text(row)
        self.text(x0 + 21.5, top + 12.8, fy, 9)
        self.text(x0 + 69.5, top + 12.8, f"第{no}期", 9)
        self.text(x0 + 21.5, top + 19.8, notice_no, 9)
        self.text(x0 + 69.5, top + 19.8, due, 9)
        self.fit(x0, top + 31.5, f"{row['addressee_name']}　様", 66, 10)
        addr = (row["address"] or "") + ("　" + row["address_building"] if row["address_building"] else "")
        self.fit(x0, top + 35.5, addr, 66, 7)
        self.bold(x0 + 120, top + 31.2, yen(amount), 13, "r")
        code = row[f"ordinary_{slot}_barcode"]
        if code:
            self.barcode(x0 + 2, top + 64, code)
            self.text(x0 + 2 + self.quiet * self.module / mm, top + 68.5, gs1.human_readable(code), 7.2)
            self.stats.barcodes += 1
            if self.record_barcodes:
                self.stats.drawn_barcodes.append((self.stats.pages + 1, row["household_id"], slot, code))
        else:
            self.text(x0 + 2, top + 58, str(self.texts["slip_no_cvs"]), 7.5)
        rx, rw = x0 + left_w + 5, 210 - (x0 + left_w + 5) - 4
        self.text(rx + 19.5, top + 12.3, fy, 8)
        self.text(rx + 19.5, top + 18.3, f"第{no}期", 8)
        self.text(rx + 19.5, top + 24.3, due, 8)
        self.text(rx + 19.5, top + 30.3, notice_no, 8)
        self.text(rx + rw - 5, top + 36.3, yen(amount), 9, "r")
        self.fit(rx, top + 48, f"{row['addressee_name']}　様", rw, 9)
        c._code.append("Q")  # restoreState()
        c._lineWidth = line_width
        self.stats.slips += 1

    def barcode(self, x: float, y_bottom: float, code: str) -> None:
        """The GS1-128 symbol with its left edge (quiet zone included) at x and its bottom at
        y_bottom (mm)."""
        barcodes.draw(self.c, x, y_bottom, code, module=self.module, bar_height=self.bar_height, quiet=self.quiet)
