"""決算帳票 (TN520): the month's book of the 国保税 as PDF, with two charts.

    stats = render_books(books, cfg, "var/reports/closing/kessan_202607.pdf", title=..., subtitle=...,
                         rates=rates, ages=ages)

``books``: one row per 年度区分 (現年度 / 滞納繰越分 / 合計) × 区分 (医療・支援・介護・子ども・計) with
調定額, 収入済額, 還付額, 不納欠損額, 収入未済額, 還付未済額, 収納率 and the month's own movements
(jobs/arrears/closing.py BOOK_COLUMNS). ``rates``: rows (month 1–12 of the fiscal year from its first
month, fiscal_year, rate_bp: 現年度 収納率 in 1/100 %) of the closed months of the year and the year
before (the line chart: 収納率 by month against last year). ``ages``: rows (label, amount) of the
滞納繰越分 収入未済 by 賦課年度 (the bar chart: balance by age).

The font (IPAexゴシック, embedded subset), the atomic write and the deterministic output (reportlab
invariant mode) are the notices' (reports.notices.primitives.PdfWriter).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from reportlab.graphics import renderPDF
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from jobs.common.config import Config

from .notices.primitives import PdfWriter, yen

__all__ = ["BOOK_HEAD", "RenderStats", "render_books"]

#: the table's columns: (book column, heading)
BOOK_HEAD = (("levy", "調定額"), ("income", "収入済額"), ("refund", "還付額"), ("overpaid", "還付未済額"),
             ("write_off", "不納欠損額"), ("unpaid", "収入未済額"), ("rate", "収納率(%)"))
MONTH_HEAD = (("levy_month", "当月調定増減"), ("income_month", "当月収入"), ("refund_month", "当月還付"),
              ("offset_month", "うち充当"), ("write_off_month", "当月不納欠損"))


@dataclass(frozen=True)
class RenderStats:
    pages: int
    rows: int
    charts: int


class _Book(PdfWriter):
    def __enter__(self):
        return self


def render_books(books: pl.DataFrame, cfg: Config, path: str | Path, *, title: str, subtitle: str,
                 rates: pl.DataFrame, ages: pl.DataFrame, fiscal_year: int) -> RenderStats:
    w = _Book(cfg, path)
    c = w.open_canvas(title, str(cfg.get("municipality.name", "")), "kokuho-batch TN520")
    with w:
        page_h = 297
        y = 18.0
        w.bold(15, y, title, 14)
        y += 7
        w.text(15, y, subtitle, 9)
        y += 8
        y = _table(w, books, BOOK_HEAD, y, "累計 (現年度: 年度当初から / 滞納繰越分: 繰越調定から)")
        y += 4
        y = _table(w, books, MONTH_HEAD, y, "当月")
        # charts (reportlab graphics), drawn below the tables
        d1 = _rate_chart(w.font, rates, fiscal_year)
        d2 = _age_chart(w.font, ages)
        top = y + 6
        renderPDF.draw(d1, c, 15 * mm, (page_h - top) * mm - d1.height)
        renderPDF.draw(d2, c, 110 * mm, (page_h - top) * mm - d2.height)
        c.showPage()
    return RenderStats(pages=1, rows=books.height, charts=2)


def _table(w: PdfWriter, books: pl.DataFrame, head, y: float, caption: str) -> float:
    w.text(15, y, caption, 8)
    y += 2
    widths = [22, 30] + [19.5] * len(head)
    x0 = 15.0
    rows = books.rows(named=True)
    heights = [6] + [5] * len(rows)
    w.grid(x0, y, widths, heights, width=0.3)
    cy = y + 4.2
    w.text(x0 + 1, cy, "年度区分", 7)
    w.text(x0 + widths[0] + 1, cy, "区分", 7)
    x = x0 + widths[0] + widths[1]
    for (_, label), cw in zip(head, widths[2:], strict=True):
        w.text(x + cw / 2, cy, label, 6.5, align="c")
        x += cw
    cy += 5.5
    for r in rows:
        w.text(x0 + 1, cy, r["category_label"] if r["component"] == "medical" else "", 7)
        w.fit(x0 + widths[0] + 1, cy, r["component_label"], widths[1] - 2, 7)
        x = x0 + widths[0] + widths[1]
        for (key, _), cw in zip(head, widths[2:], strict=True):
            v = r[key]
            w.text(x + cw - 1, cy, v if isinstance(v, str) else yen(int(v)), 7, align="r")
            x += cw
        cy += 5
    return y + sum(heights)


def _rate_chart(font: str, rates: pl.DataFrame, fy: int) -> Drawing:
    d = Drawing(90 * mm, 70 * mm)
    d.add(String(2 * mm, 66 * mm, "現年度 収納率の推移 (月別・前年度比較)", fontName=font, fontSize=8))
    ch = HorizontalLineChart()
    ch.x, ch.y, ch.width, ch.height = 12 * mm, 12 * mm, 74 * mm, 48 * mm
    series = []
    for year in (fy - 1, fy):
        part = {int(m): int(bp) for m, y_, bp in rates.select("month", "fiscal_year", "rate_bp").iter_rows()
                if int(y_) == year}
        series.append([part.get(m, None) / 100 if part.get(m) is not None else None for m in range(1, 13)])
    ch.data = [[v if v is not None else 0 for v in s] for s in series]
    ch.categoryAxis.categoryNames = [f"{(m + 2) % 12 + 1}月" for m in range(1, 13)]
    ch.categoryAxis.labels.fontName = font
    ch.categoryAxis.labels.fontSize = 6
    ch.valueAxis.valueMin, ch.valueAxis.valueMax, ch.valueAxis.valueStep = 0, 100, 20
    ch.valueAxis.labels.fontSize = 6
    ch.lines[0].strokeColor = colors.grey
    ch.lines[1].strokeColor = colors.black
    ch.lines[1].strokeWidth = 1.5
    d.add(ch)
    lg = Legend()
    lg.x, lg.y = 14 * mm, 8 * mm
    lg.fontName, lg.fontSize, lg.columnMaximum, lg.deltax = font, 6, 1, 30 * mm
    lg.colorNamePairs = [(colors.grey, f"{fy - 1}年度"), (colors.black, f"{fy}年度")]
    d.add(lg)
    return d


def _age_chart(font: str, ages: pl.DataFrame) -> Drawing:
    d = Drawing(90 * mm, 70 * mm)
    d.add(String(2 * mm, 66 * mm, "滞納繰越分 収入未済額 (賦課年度別, 千円)", fontName=font, fontSize=8))
    ch = VerticalBarChart()
    ch.x, ch.y, ch.width, ch.height = 16 * mm, 12 * mm, 70 * mm, 48 * mm
    vals = [int(a) // 1000 for a in ages["amount"].to_list()] or [0]
    ch.data = [vals]
    ch.categoryAxis.categoryNames = [str(s) for s in ages["label"].to_list()] or ["なし"]
    ch.categoryAxis.labels.fontName = font
    ch.categoryAxis.labels.fontSize = 6
    ch.valueAxis.valueMin = 0
    ch.valueAxis.labels.fontSize = 6
    ch.bars[0].fillColor = colors.darkgrey
    d.add(ch)
    return d
