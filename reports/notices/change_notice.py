"""税額変更通知書 (通知区分 2): the 納税通知書's page with 変更前 / 変更後 / 差額 columns, the 変更前年税額
and 差額 box, 変更事由 and 過誤納額."""

from __future__ import annotations

from typing import Any

from .primitives import signed, yen

CHANGE_BOX_WIDTHS = [24.0, 28.0, 16.0, 26.0]  # 変更前年税額 | amount | 差額 | amount


class ChangeNotice:
    """The 税額変更通知書 (a mixin of ``NoticeWriter``; uses ``TaxNotice``'s tables)."""

    def _change_notice(self, row: dict[str, Any]) -> None:
        comps = self._components_of(row)
        y_detail, y_annual, y_inst, y_footer = self._geometry()

        def body() -> None:
            self._household_row_static(88)
            self._detail_static(comps, y_detail)
            x = self.margin_l
            widths = CHANGE_BOX_WIDTHS
            self.box(x, y_annual, widths[0], 9, width=0, fill=0.92)
            self.box(x + sum(widths[:2]), y_annual, widths[2], 9, width=0, fill=0.92)
            self.grid(x, y_annual, widths, [9.0], head_fill=None)
            self.text(x + widths[0] / 2, y_annual + 6, "変更前年税額", 8.5, "c")
            self.text(x + sum(widths[:2]) + widths[2] / 2, y_annual + 6, "差額", 8.5, "c")
            self._annual_static(y_annual, "変更後年税額")
            self._ordinary_static(y_inst, True)
            self._withholding_static(y_inst, True)
            self._footer_static(y_footer)

        form = f"change_notice_{len(comps)}"
        self._page_common(row, str(self.titles["change_notice"]), self.texts["change_notice_intro"], form, body)
        self._household_row(row, 88)
        self._detail(row, comps, y_detail)
        x = self.margin_l
        widths = CHANGE_BOX_WIDTHS
        prev = int(row["previous_annual_tax"] or 0)
        self.text(x + sum(widths[:2]) - 2, y_annual + 6.2, f"{yen(prev)}円", 10, "r")
        self.text(x + sum(widths) - 2, y_annual + 6.2, f"{signed(int(row['annual_tax']) - prev)}円", 10, "r")
        self.bold(210 - self.margin_r - 7, y_annual + 6.4, yen(row["annual_tax"]), 13, "r")
        self._ordinary(row, y_inst, True)
        self._withholding(row, y_inst, True)
        x_note, _ = self._withholding_geometry(True)
        y_note = y_inst + 6 + 30 + 5.5 + 5
        if row["change_reason"]:
            self.text(x_note, y_note, f"変更事由：{row['change_reason']}", 8.5)
        if row["overpayment"]:
            self.text(x_note, y_note + 5, f"過誤納額：{yen(row['overpayment'])}円", 8.5)
            self.wrap(x_note, y_note + 9.5, str(self.texts["overpayment"]), 210 - self.margin_r - x_note, 7.5, 3.6)
