"""納税通知書 (通知区分 1): one A4 page — 宛名, 通知者, the 税額の内訳 table (component × item),
年税額, the installment tables (普通徴収: 期別 / 納期限 / 税額; 特別徴収: 徴収月 / 税額), 教示 and
問い合わせ先. The tables are shared with the 税額変更通知書 (``change=True``)."""

from __future__ import annotations

from typing import Any

from ..print_data import COMPONENT_ITEMS, debited_slots
from .primitives import signed, triangle, yen

ITEM_LABELS = dict(COMPONENT_ITEMS)
ITEM_LABELS["amount"] = "税額"
METHOD_LABELS = {"1": "普通徴収", "2": "特別徴収", "3": "普通徴収・特別徴収"}
REDUCTION_LABELS = {"0": "なし", "2": "2割軽減", "5": "5割軽減", "7": "7割軽減"}
# items printed as deductions (△) in the 税額の内訳 table
DEDUCTIONS = {"minor_reduction", "reduction", "preschool_reduction", "specified_household_reduction",
              "former_dependent_reduction", "perinatal_reduction", "over_cap", "exemption"}
# installment tables (mm): [当初, 変更]
ORDINARY_WIDTHS = {False: [16.0, 40.0, 30.0], True: [12.0, 30.0, 20.0, 20.0, 18.0]}
WITHHOLDING_WIDTHS = {False: [16.0, 36.0, 30.0], True: [12.0, 20.0, 20.0, 18.0]}


class TaxNotice:
    """The 納税通知書 and the tables it shares with the 税額変更通知書 (a mixin of ``NoticeWriter``)."""

    def _household_row_static(self, y: float) -> None:
        x = self.margin_l
        widths = [22.0, 40.0, 22.0, 14.0, 22.0, 60.0]
        self.grid(x, y, widths, [6.0], head_fill=None)
        xx = x
        for k, label in enumerate(("世帯主氏名", None, "被保険者数", None, "軽減・徴収", None)):
            if label:
                self.box(xx, y, widths[k], 6, width=0, fill=0.92)
                self.text(xx + 1.5, y + 4.2, label, 8)
            xx += widths[k]
        self.grid(x, y, widths, [6.0], head_fill=None)

    def _household_row(self, row: dict[str, Any], y: float) -> None:
        x = self.margin_l
        self.fit(x + 23.5, y + 4.3, row["householder_name"], 37, 9)
        self.text(x + 84 + 12.5, y + 4.3, f"{row['insured_count']}人", 9, "r")
        method = METHOD_LABELS.get(row["collection_method"], "")
        reduction = REDUCTION_LABELS.get(row["reduction_class"], "")
        self.text(x + 120 + 1.5, y + 4.3, f"{reduction}／{method}", 9)

    def _components_of(self, row: dict[str, Any]) -> list[tuple[str, str]]:
        return [(k, label) for k, label in self.components if row.get(f"{k}_amount") is not None]

    def _detail_geometry(self, n_comp: int) -> tuple[float, list[float]]:
        label_w = 38.0
        width = 210 - self.margin_l - self.margin_r
        col = (width - label_w) / (n_comp + 1)
        return label_w, [label_w] + [col] * (n_comp + 1)

    def _row_h(self) -> float:
        return min(5.2, 66.0 / len(self.items))

    def _geometry(self) -> tuple[float, float, float, float]:
        """y (mm) of the 内訳 table, the 年税額 box, the installment tables and the footer."""
        y_detail = 100.0
        y_annual = y_detail + 7 + self._row_h() * len(self.items) + 3
        y_inst = y_annual + 17
        return y_detail, y_annual, y_inst, y_inst + 6 + 50 + 5.5 + 4

    def _detail_static(self, comps: list[tuple[str, str]], y: float) -> None:
        x = self.margin_l
        rh = self._row_h()
        self.text(x, y - 1.5, "税額の内訳（単位：円）", 8.5)
        _, widths = self._detail_geometry(len(comps))
        heights = [7.0] + [rh] * len(self.items)
        self.grid(x, y, widths, heights)
        xx = x + widths[0]
        for _k, label in comps + [("total", "合計")]:
            w = widths[1]
            self.fit(xx + w / 2, y + 4.8, label, w - 2, 8, "c")
            xx += w
        yy = y + 7.0
        for item in self.items:
            label = ITEM_LABELS[item] + ("（△）" if item in DEDUCTIONS else "")
            self.fit(x + 1.5, yy + rh - 1.3, label, widths[0] - 3, min(8, rh * 1.6))
            yy += rh
        self.box(x, yy - rh, sum(widths), rh, width=1.0)

    def _detail(self, row: dict[str, Any], comps: list[tuple[str, str]], y: float) -> None:
        x = self.margin_l
        _, widths = self._detail_geometry(len(comps))
        rh = self._row_h()
        fs = min(8.5, rh * 1.65)
        yy = y + 7.0
        for item in self.items:
            show = triangle if item == "proration" else yen
            xx = x + widths[0]
            total = 0
            for key, _label in comps:
                v = int(row[f"{key}_{item}"] or 0)
                total += v
                self.text(xx + widths[1] - 1.5, yy + rh - 1.4, show(v), fs, "r")
                xx += widths[1]
            self.text(xx + widths[1] - 1.5, yy + rh - 1.4, show(total), fs, "r")
            yy += rh

    def _annual_static(self, y: float, label: str) -> None:
        x = 210 - self.margin_r - 80
        self.grid(x, y, [30.0, 50.0], [9.0], head_fill=None)
        self.box(x, y, 30, 9, width=0, fill=0.85)
        self.grid(x, y, [30.0, 50.0], [9.0], head_fill=None, width=0.8)
        self.text(x + 15, y + 6, label, 10, "c")
        self.text(x + 80 - 2, y + 6.2, "円", 10, "r")

    def _ordinary_static(self, y: float, change: bool) -> None:
        x = self.margin_l
        self.text(x, y - 1.5, "普通徴収（納付書・口座振替）", 8.5)
        widths = ORDINARY_WIDTHS[change]
        heights = [6.0] + [5.0] * 10 + [5.5]
        self.grid(x, y, widths, heights)
        heads = ("期別", "納期限", "変更前", "変更後", "差額") if change else ("期別", "納期限", "税額（円）")
        xx = x
        for w, h in zip(widths, heads, strict=True):
            self.text(xx + w / 2, y + 4.2, h, 8, "c")
            xx += w
        self.text(x + widths[0] / 2, y + 6 + 50 + 3.9, "計", 8, "c")

    def _ordinary(self, row: dict[str, Any], y: float, change: bool) -> None:
        x = self.margin_l
        widths = ORDINARY_WIDTHS[change]
        fs = 8.0 if change else 8.5
        yy = y + 6
        tot_new = tot_prev = 0
        debited = set(debited_slots(row))
        if debited:  # 口座振替: the account, above the table's right end
            kinds = {str(k): str(v) for k, v in (self.cfg.get("notices.account_types", None) or {}).items()}
            kind = str(row["debit_account_type"] or "")
            line = str(self.texts["debit_account"]).format(
                bank=row["debit_bank_code"], branch=row["debit_branch_code"], kind=kinds.get(kind, kind),
                number=row["debit_account_number"])
            self.fit(x + sum(widths), y - 1.5, line, sum(widths) / 2, 7.5, "r")
        for i in range(1, 11):
            no = row[f"ordinary_{i}_no"]
            if no is None:
                break
            amount = int(row[f"ordinary_{i}_amount"] or 0)
            tot_new += amount
            self.text(x + widths[0] / 2, yy + 3.6, f"第{no}期", fs, "c")
            due = self.wareki.date(row[f"ordinary_{i}_due_date"])
            if i in debited:  # the 振替日 (= 納期限) with the mark: the bank debits it, no 納付書
                self.fit(x + widths[0] + 1.5, yy + 3.6, f"{due}　{self.texts['debit_mark']}", widths[1] - 3, fs)
            else:
                self.text(x + widths[0] + 1.5, yy + 3.6, due, fs)
            if change:
                prev = int(row[f"previous_ordinary_{i}_amount"] or 0)
                tot_prev += prev
                x3 = x + widths[0] + widths[1]
                self.text(x3 + widths[2] - 1.5, yy + 3.6, yen(prev), fs, "r")
                self.text(x3 + widths[2] + widths[3] - 1.5, yy + 3.6, yen(amount), fs, "r")
                self.text(x3 + sum(widths[2:5]) - 1.5, yy + 3.6, signed(amount - prev), fs, "r")
            else:
                self.text(x + sum(widths) - 1.5, yy + 3.6, yen(amount), fs, "r")
            yy += 5
        if row["ordinary_count"] == 0:
            self.text(x + widths[0] + 1.5, y + 6 + 3.6, str(self.texts["none"]), fs)
        ty = y + 6 + 50 + 3.9
        if change:
            x3 = x + widths[0] + widths[1]
            self.text(x3 + widths[2] - 1.5, ty, yen(tot_prev), fs, "r")
            self.text(x3 + widths[2] + widths[3] - 1.5, ty, yen(tot_new), fs, "r")
            self.text(x3 + sum(widths[2:5]) - 1.5, ty, signed(tot_new - tot_prev), fs, "r")
        else:
            self.text(x + sum(widths) - 1.5, ty, yen(tot_new), fs, "r")

    def _withholding_geometry(self, change: bool) -> tuple[float, list[float]]:
        widths = WITHHOLDING_WIDTHS[change]
        return 210 - self.margin_r - sum(widths), widths

    def _withholding_static(self, y: float, change: bool) -> None:
        x, widths = self._withholding_geometry(change)
        self.text(x, y - 1.5, "特別徴収（年金から差し引き）", 8.5)
        heights = [6.0] + [5.0] * 6 + [5.5]
        self.grid(x, y, widths, heights)
        heads = ("徴収月", "変更前", "変更後", "差額") if change else ("徴収月", "区分", "税額（円）")
        xx = x
        for w, h in zip(widths, heads, strict=True):
            self.text(xx + w / 2, y + 4.2, h, 8, "c")
            xx += w
        self.text(x + widths[0] / 2, y + 6 + 30 + 3.9, "計", 8, "c")

    def _withholding(self, row: dict[str, Any], y: float, change: bool) -> None:
        x, widths = self._withholding_geometry(change)
        fs = 8.0 if change else 8.5
        yy = y + 6
        tot_new = tot_prev = 0
        for j in range(1, 7):
            month = row[f"withholding_{j}_month"]
            if month is None:
                break
            amount = int(row[f"withholding_{j}_amount"] or 0)
            tot_new += amount
            self.text(x + widths[0] / 2, yy + 3.6, f"{month}月", fs, "c")
            if change:
                prev = int(row[f"previous_withholding_{j}_amount"] or 0)
                tot_prev += prev
                self.text(x + widths[0] + widths[1] - 1.5, yy + 3.6, yen(prev), fs, "r")
                self.text(x + sum(widths[:3]) - 1.5, yy + 3.6, yen(amount), fs, "r")
                self.text(x + sum(widths) - 1.5, yy + 3.6, signed(amount - prev), fs, "r")
            else:
                kind = "仮徴収" if month in self.provisional else "本徴収"
                self.text(x + widths[0] + widths[1] / 2, yy + 3.6, kind, fs, "c")
                self.text(x + sum(widths) - 1.5, yy + 3.6, yen(amount), fs, "r")
            yy += 5
        if row["withholding_count"] == 0:
            self.text(x + widths[0] + 1.5, y + 6 + 3.6, str(self.texts["none"]), fs)
        ty = y + 6 + 30 + 3.9
        if change:
            self.text(x + widths[0] + widths[1] - 1.5, ty, yen(tot_prev), fs, "r")
            self.text(x + sum(widths[:3]) - 1.5, ty, yen(tot_new), fs, "r")
            self.text(x + sum(widths) - 1.5, ty, signed(tot_new - tot_prev), fs, "r")
        else:
            self.text(x + sum(widths) - 1.5, ty, yen(tot_new), fs, "r")

    def _tax_notice(self, row: dict[str, Any]) -> None:
        comps = self._components_of(row)
        y_detail, y_annual, y_inst, y_footer = self._geometry()

        def body() -> None:
            self._household_row_static(88)
            self._detail_static(comps, y_detail)
            self._annual_static(y_annual, "年税額")
            self._ordinary_static(y_inst, False)
            self._withholding_static(y_inst, False)
            self._footer_static(y_footer)

        form = f"tax_notice_{len(comps)}"
        self._page_common(row, str(self.titles["tax_notice"]), self.texts["tax_notice_intro"], form, body)
        self._household_row(row, 88)
        self._detail(row, comps, y_detail)
        self.bold(210 - self.margin_r - 7, y_annual + 6.4, yen(row["annual_tax"]), 13, "r")
        self._ordinary(row, y_inst, False)
        self._withholding(row, y_inst, False)
