"""特別徴収開始通知書: the pension withholdings (仮徴収 / 本徴収, 徴収月, 年金支払日, 税額) of a household
with pension withholdings (当初 only)."""

from __future__ import annotations

from typing import Any

from .primitives import yen


class WithholdingStart:
    """The 特別徴収開始通知書 (a mixin of ``NoticeWriter``)."""

    def _withholding_start(self, row: dict[str, Any]) -> None:
        y_tab = 100.0
        x = self.margin_l
        widths = [30.0, 30.0, 60.0, 40.0]

        def body() -> None:
            self.text(x, y_tab - 1.5, "年金から差し引く国民健康保険税", 8.5)
            self.grid(x, y_tab, widths, [7.0] + [6.0] * 6 + [6.5])
            xx = x
            for w, h in zip(widths, ("区分", "徴収月", "年金支払日", "税額（円）"), strict=True):
                self.text(xx + w / 2, y_tab + 4.8, h, 8.5, "c")
                xx += w
            self.text(x + widths[0] / 2, y_tab + 7 + 36 + 4.5, "計", 8.5, "c")
            self._annual_static(y_tab + 54, "年税額")
            self._footer_static(190)

        self._page_common(row, str(self.titles["withholding_start"]), self.texts["withholding_start_intro"],
                          "withholding_start", body)
        yy = y_tab + 7
        total = 0
        for j in range(1, 7):
            month = row[f"withholding_{j}_month"]
            if month is None:
                break
            amount = int(row[f"withholding_{j}_amount"] or 0)
            total += amount
            kind = "仮徴収" if month in self.provisional else "本徴収"
            self.text(x + widths[0] / 2, yy + 4.2, kind, 9, "c")
            self.text(x + widths[0] + widths[1] / 2, yy + 4.2, f"{month}月", 9, "c")
            self.text(x + widths[0] + widths[1] + widths[2] / 2, yy + 4.2,
                      self.wareki.date(row[f"withholding_{j}_due_date"]), 9, "c")
            self.text(x + sum(widths) - 2, yy + 4.2, yen(amount), 9, "r")
            yy += 6
        self.text(x + sum(widths) - 2, y_tab + 7 + 36 + 4.5, yen(total), 9, "r")
        self.bold(210 - self.margin_r - 7, y_tab + 54 + 6.4, yen(row["annual_tax"]), 13, "r")
        if row["ordinary_total"]:
            self.text(x, y_tab + 72, f"このほか普通徴収分 {yen(row['ordinary_total'])}円 は、納税通知書の納期限までに納付書または口座振替で納めてください。", 8.5)
