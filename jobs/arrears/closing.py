"""月次締め (KB700 月次締めジョブネット; registered in ``jobs/registry.py``).

    TN510 月次締め    the month before the business date: 調定, 収入, 還付・充当, 不納欠損 and 収入未済 per
                      年度区分 (現年度 / 滞納繰越分) and component, from the ledger's postings; the money
                      conservation checked to the yen (RC 8 if it fails); the month locked (closing_month)
    TN520 決算帳票    the month's book (and the fiscal year's, to date) as CSV and PDF with charts

年度区分: a 期別 of 賦課年度 ≥ the month's fiscal year is 現年度, an older one 滞納繰越分. The
滞納繰越分's 調定額 is its 収入未済 at the fiscal year's start (繰越調定額) plus the 更正 since; its
収入・還付・不納欠損 count from the fiscal year's start. Once TN610 (KB710, jobs/arrears/year_close.py)
has recorded the 滞納繰越 at the 出納閉鎖 (5/31), the months after it count the 滞納繰越分 from that
date instead (its 調定 = the recorded 繰越調定額 + 更正; ``_carry_basis``). 現年度 figures are cumulative.

Components (医療・支援・介護・子ども・子育て支援金): the ledger keeps them on the 調定 only (期別 and
調定履歴 columns), not on the 納付履歴. The 現年度 調定 is exact per component; every other figure is
allocated by the 調定's component shares of its 年度区分 at the month's end (largest remainder, so
the components add up to the total to the yen).

Money conservation (収支保全), at every closing, over the whole ledger: Σ調定 − Σ収入 + Σ還付 −
Σ不納欠損 from the postings (調定履歴, 納付履歴, 不納欠損情報) = Σ収入未済 from the 期別's own stock
(期別税額 − 累計収納額 − 不納欠損額; 還付未済 counted negative). A difference ends the step with
KKB664E (RC 8) and the month is not closed.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from jobs.common import paths
from jobs.common.step import StepContext, StepError
from jobs.ledger import now_stamp, open_ledger, run_of

FAR = dt.date(9999, 12, 31)
CATEGORIES = {"current": "現年度", "carried": "滞納繰越分", "total": "合計"}
COMPONENTS = {"medical": "医療給付費分", "support": "後期高齢者支援金等分", "care": "介護納付金分",
              "child": "子ども・子育て支援金分", "total": "計"}
PARTS = ("medical", "support", "care", "child")
MONEY = ("levy", "income", "refund", "write_off", "unpaid", "levy_month", "income_month", "refund_month",
         "offset_month", "write_off_month")
BOOK_COLUMNS = ("category", "category_label", "component", "component_label", *MONEY, "overpaid", "rate")
CSV_LABELS = {"category": "年度区分コード", "category_label": "年度区分", "component": "区分コード",
              "component_label": "区分", "levy": "調定額", "income": "収入済額", "refund": "還付額",
              "write_off": "不納欠損額", "unpaid": "収入未済額", "levy_month": "当月調定増減額",
              "income_month": "当月収入額", "refund_month": "当月還付額", "offset_month": "当月充当額",
              "write_off_month": "当月不納欠損額", "overpaid": "還付未済額", "rate": "収納率(%)"}


@dataclass(frozen=True)
class Period:
    month_start: dt.date
    month_end: dt.date
    fiscal_year: int
    fy_start: dt.date

    @property
    def ym(self) -> str:
        return f"{self.month_start:%Y%m}"

    def params(self, municipality: str) -> dict:
        return {"m": municipality, "d0": self.fy_start - dt.timedelta(days=1),
                "dm": self.month_start - dt.timedelta(days=1), "d1": self.month_end, "dx": FAR}


def period_of(month_start: dt.date, cal) -> Period:
    last = _calendar.monthrange(month_start.year, month_start.month)[1]
    fy = cal.fiscal_year(month_start)
    return Period(month_start, month_start.replace(day=last), fy, cal.fiscal_year_first_day(fy))


def previous_month(d: dt.date) -> dt.date:
    first = d.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


@dataclass
class Figures:
    """What a closing computes: the book, the 滞納繰越 by 賦課年度 and the conservation."""

    period: Period
    books: pl.DataFrame
    by_year: pl.DataFrame  # levy_year, unpaid at the month's end (the age chart)
    conservation: dict[str, int]

    def total(self, column: str, category: str = "total") -> int:
        row = self.books.filter((pl.col("category") == category) & (pl.col("component") == "total"))
        return int(row[column][0]) if row.height else 0


def compute(ledger, municipality: str, period: Period) -> Figures:
    """The month's figures from the ledger (read only)."""
    p = period.params(municipality)
    lv = ledger.query("closing/levy_as_of", p)
    fl = ledger.query("closing/flows_as_of", p)
    wo = ledger.query("closing/write_offs_as_of", p)
    st = ledger.query("closing/installment_balances", {"m": municipality})
    years = pl.concat([f.select(pl.col("levy_year").cast(pl.Int32)) for f in (lv, fl, wo, st) if f.height]
                      or [pl.DataFrame(schema={"levy_year": pl.Int32})]).unique().sort("levy_year")
    y = years
    for f in (lv, fl, wo):
        if f.height:
            y = y.join(f.with_columns(pl.col("levy_year").cast(pl.Int32)), on="levy_year", how="left")
    names = ([f"levy_{s}" for s in ("d0", "dm", "d1", "dx")] + [f"{p_}_d1" for p_ in PARTS]
             + [f"{k}_{s}" for k in ("income", "refund", "write_off") for s in ("d0", "dm", "d1", "dx")]
             + ["offset_in_dm", "offset_in_d1"])
    y = y.with_columns([(pl.col(n) if n in y.columns else pl.lit(0)).cast(pl.Int64).fill_null(0).alias(n)
                        for n in names])
    fy = period.fiscal_year
    y = y.with_columns(pl.when(pl.col("levy_year") >= fy).then(pl.lit("current")).otherwise(pl.lit("carried"))
                       .alias("category"))
    y = _carry_basis(ledger, municipality, period, p, y)

    def u(s: str) -> pl.Expr:  # 収入未済 at a date
        return pl.col(f"levy_{s}") - pl.col(f"income_{s}") + pl.col(f"refund_{s}") - pl.col(f"write_off_{s}")

    cur = pl.col("category") == "current"
    y = y.with_columns(
        pl.when(cur).then(pl.col("levy_d1")).otherwise(u("d0") + pl.col("levy_d1") - pl.col("levy_d0")).alias("levy"),
        pl.when(cur).then(pl.col("income_d1")).otherwise(pl.col("income_d1") - pl.col("income_d0")).alias("income"),
        pl.when(cur).then(pl.col("refund_d1")).otherwise(pl.col("refund_d1") - pl.col("refund_d0")).alias("refund"),
        pl.when(cur).then(pl.col("write_off_d1")).otherwise(pl.col("write_off_d1") - pl.col("write_off_d0"))
        .alias("write_off"),
        u("d1").alias("unpaid"),
        (pl.col("levy_d1") - pl.col("levy_dm")).alias("levy_month"),
        (pl.col("income_d1") - pl.col("income_dm")).alias("income_month"),
        (pl.col("refund_d1") - pl.col("refund_dm")).alias("refund_month"),
        (pl.col("offset_in_d1") - pl.col("offset_in_dm")).alias("offset_month"),
        (pl.col("write_off_d1") - pl.col("write_off_dm")).alias("write_off_month"),
    )
    stock = (st.with_columns(pl.col("levy_year").cast(pl.Int32)).cast(
        {c: pl.Int64 for c in ("installments", "levy", "paid", "write_off", "unpaid", "overpaid")})
        if st.height else pl.DataFrame(schema={"levy_year": pl.Int32, "overpaid": pl.Int64, "levy": pl.Int64,
                                               "paid": pl.Int64, "write_off": pl.Int64, "unpaid": pl.Int64}))
    over = y.select("levy_year", "category").join(stock.select("levy_year", "overpaid"), on="levy_year", how="left")
    rows = []
    for cat in ("current", "carried"):
        part = y.filter(pl.col("category") == cat)
        sums = {c: int(part[c].sum() or 0) for c in MONEY}
        shares = {p_: int(part[f"{p_}_d1"].sum() or 0) for p_ in PARTS}
        overpaid = int(over.filter(pl.col("category") == cat)["overpaid"].sum() or 0)
        rows += _component_rows(cat, sums, shares, overpaid, exact_levy=(cat == "current"))
    books = pl.DataFrame(rows)
    total = (books.group_by("component", maintain_order=True).agg([pl.col(c).sum() for c in (*MONEY, "overpaid")])
             .with_columns(pl.lit("total").alias("category")))
    books = pl.concat([books.drop("rate"), total.select(books.drop("rate").columns)], how="vertical")
    books = books.with_columns(
        pl.col("category").replace_strict(CATEGORIES).alias("category_label"),
        pl.col("component").replace_strict(COMPONENTS).alias("component_label"),
        pl.struct("levy", "income", "refund").map_elements(lambda r: rate(r["levy"], r["income"] - r["refund"]),
                                                           return_dtype=pl.String).alias("rate"),
    ).select(BOOK_COLUMNS)

    flows = {k: int(y[f"{k}_dx"].sum() or 0) for k in ("levy", "income", "refund", "write_off")}
    flows["lhs"] = flows["levy"] - flows["income"] + flows["refund"] - flows["write_off"]
    flows["stock"] = int((stock["levy"] - stock["paid"] - stock["write_off"]).sum() or 0) if stock.height else 0
    flows["unpaid"] = int(stock["unpaid"].sum() or 0) if stock.height else 0
    flows["overpaid"] = int(stock["overpaid"].sum() or 0) if stock.height else 0
    by_year = y.select("levy_year", "category", "unpaid").filter(pl.col("category") == "carried")
    return Figures(period, books, by_year, flows)


def _carry_basis(ledger, municipality: str, period: Period, p: dict, y: pl.DataFrame) -> pl.DataFrame:
    """After the 出納閉鎖 (TN610 recorded the 滞納繰越 into the month's fiscal year, dated before the
    month's end), the 滞納繰越分 counts from the 出納閉鎖 date: its 調定 is the 繰越調定額 (the
    収入未済 at that date) plus the 更正 since, its 収入・還付・不納欠損 those after it (the 出納整理期間's
    belong to the year closed)."""
    c = ledger.value("closing/carry_date_of_year", {"m": municipality, "cy": period.fiscal_year})
    if c is None or not (p["d0"] < c < period.month_end):
        return y
    pc = {**p, "d0": c}
    cols = {"levy": "closing/levy_as_of", "flows": "closing/flows_as_of", "write_off": "closing/write_offs_as_of"}
    names = {"levy": ["levy_d0"], "flows": ["income_d0", "refund_d0"], "write_off": ["write_off_d0"]}
    for key, sql in cols.items():
        f = ledger.query(sql, pc)
        if f.height == 0:
            f = pl.DataFrame(schema={"levy_year": pl.Int32, **{n: pl.Int64 for n in names[key]}})
        f = f.select(pl.col("levy_year").cast(pl.Int32), *[pl.col(n).cast(pl.Int64).alias(n + "_c")
                                                          for n in names[key]])
        y = y.join(f, on="levy_year", how="left")
        carried = pl.col("category") == "carried"
        y = y.with_columns([pl.when(carried).then(pl.col(n + "_c").fill_null(0)).otherwise(pl.col(n)).alias(n)
                            for n in names[key]]).drop([n + "_c" for n in names[key]])
    return y


def rate(levy: int, net_income: int) -> str:
    """収納率 (%) to 2 places, rounded half up, from integers (no float)."""
    if levy <= 0:
        return ""
    bp = (net_income * 20000 // levy + 1) // 2  # 1/100 %
    return f"{bp // 100}.{bp % 100:02d}"


def allocate(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """``amount`` split by ``weights`` (largest remainder): the parts add up to ``amount``."""
    total = sum(weights.values())
    if total == 0:
        return {k: (amount if k == "medical" else 0) for k in weights}
    sign = -1 if amount < 0 else 1
    a = abs(amount)
    base = {k: a * w // total for k, w in weights.items()}
    rest = a - sum(base.values())
    order = sorted(weights, key=lambda k: (-(a * weights[k] % total), list(weights).index(k)))
    for k in order[:rest]:
        base[k] += 1
    return {k: sign * v for k, v in base.items()}


def allocate_frame(frame: pl.DataFrame, amount: str, weights: Sequence[str]) -> pl.DataFrame:
    """``allocate`` for every row at once: the columns ``<weight>_part`` split ``amount`` by the
    ``weights`` columns (largest remainder, ties to the earlier column; all weights 0: the first
    column takes it all), so each row's parts add up to its amount, to the yen."""
    a = pl.col(amount).abs()
    total = pl.sum_horizontal([pl.col(w) for w in weights])
    base = {w: pl.when(total == 0).then(0).otherwise(a * pl.col(w) // total) for w in weights}
    rem = {w: pl.when(total == 0).then(0).otherwise(a * pl.col(w) % total) for w in weights}
    rest = pl.when(total == 0).then(0).otherwise(a - pl.sum_horizontal(list(base.values())))
    out = []
    for k, w in enumerate(weights):
        ahead = pl.sum_horizontal([((rem[v] > rem[w]) | ((rem[v] == rem[w]) & pl.lit(j < k))).cast(pl.Int64)
                                   for j, v in enumerate(weights) if v != w]) if len(weights) > 1 else pl.lit(0)
        part = base[w] + (ahead < rest).cast(pl.Int64)
        if k == 0:
            part = pl.when(total == 0).then(a).otherwise(part)
        out.append((pl.col(amount).sign() * part).cast(pl.Int64).alias(f"{w}_part"))
    return frame.with_columns(out)


def _component_rows(cat: str, sums: dict[str, int], shares: dict[str, int], overpaid: int, *,
                    exact_levy: bool) -> list[dict]:
    split = {c: allocate(sums[c], shares) for c in MONEY}
    if exact_levy and sum(shares.values()) == sums["levy"]:
        split["levy"] = dict(shares)
    rows = []
    for p_ in PARTS:
        rows.append({"category": cat, "component": p_, **{c: split[c][p_] for c in MONEY},
                     "overpaid": allocate(overpaid, shares)[p_], "rate": ""})
    rows.append({"category": cat, "component": "total", **sums, "overpaid": overpaid, "rate": ""})
    return rows


def conservation_fields(fig: Figures, when: str) -> dict:
    c = fig.conservation
    return {"when": when, "levy": c["levy"], "income": c["income"], "refund": c["refund"],
            "write_off": c["write_off"], "lhs": c["lhs"], "unpaid": c["stock"]}


def check_conservation(ctx: StepContext, fig: Figures, when: str) -> None:
    """KKB661I when Σ調定 − Σ収入 + Σ還付 − Σ不納欠損 = Σ収入未済 (to the yen), else KKB664E (RC 8)."""
    f = conservation_fields(fig, when)
    for k in ("levy", "income", "refund", "write_off"):
        ctx.totals.add_money(f"conservation.{k}", f[k], label={"levy": "Σ調定", "income": "Σ収入", "refund": "Σ還付",
                                                               "write_off": "Σ不納欠損"}[k])
    ctx.totals.add_money("conservation.unpaid", f["unpaid"], label="Σ収入未済(還付未済差引)")
    if f["lhs"] != f["unpaid"]:
        raise StepError.of("KKB664E", when=f["when"], levy=f["levy"], income=f["income"], refund=f["refund"],
                           write_off=f["write_off"], lhs=f["lhs"], unpaid=f["unpaid"], diff=f["lhs"] - f["unpaid"])
    ctx.message("KKB661I", when=f["when"], levy=f["levy"], income=f["income"], refund=f["refund"],
                write_off=f["write_off"], lhs=f["lhs"], unpaid=f["unpaid"])


def close_month(ctx: StepContext) -> int | None:
    """TN510 月次締め: the month before the business date (``--option month=YYYYMM`` for another)."""
    period = _period(ctx)
    rule = _rule(ctx)
    ledger = open_ledger(ctx)
    try:
        fig = compute(ledger, ctx.municipality, period)
        check_conservation(ctx, fig, f"{period.ym} 締め")
        totals = {"levy": fig.total("levy"), "income": fig.total("income"), "refund": fig.total("refund"),
                  "wo": fig.total("write_off"), "unpaid": fig.total("unpaid"),
                  "clevy": fig.total("levy", "current"), "cincome": fig.total("income", "current")}
        run = run_of(ctx)
        with ledger.transaction() as tx:
            got = tx.query("closing/month_get", {"m": ctx.municipality, "ym": period.ym})
            if got.height:  # a rerun: the closed month must give the same figures
                row = got.row(0, named=True)
                for what, key, col_ in (("調定額", "levy", "levy_total"), ("収入額", "income", "income_total"),
                                        ("還付額", "refund", "refund_total"), ("不納欠損額", "wo", "write_off_total"),
                                        ("収入未済額", "unpaid", "unpaid_total")):
                    if int(row[col_]) != totals[key]:
                        raise StepError.of("KKB666E", month=period.ym, closed=row["closed_date"], what=what,
                                           before=int(row[col_]), after=totals[key])
                ctx.message("KKB665I", month=period.ym, closed=row["closed_date"])
            else:
                od, ot = now_stamp()
                tx.run("closing/month_insert", {"m": ctx.municipality, "ym": period.ym, "fy": period.fiscal_year,
                                                "d": ctx.business_date, "rule": rule, **totals, "j": ctx.job_id,
                                                "op": run.operator_id, "od": od, "ot": ot, "rs": run.reason})
    finally:
        ledger.dispose()
    _totals(ctx, fig)
    ctx.message("KKB660I", month=period.ym, levy=totals["levy"], income=totals["income"], refund=totals["refund"],
                write_off=totals["wo"], unpaid=totals["unpaid"])
    ctx.write_dataset("closing_month_books", fig.books.with_columns(pl.lit(period.ym).alias("closing_month")))
    return None


def _rule(ctx: StepContext) -> str:
    rule = str(ctx.config.get("closing.late_posting_rule"))
    if rule not in ("refuse", "next_month"):
        raise StepError.of("KKB675E", rule=rule)
    return rule


def _period(ctx: StepContext) -> Period:
    opt = ctx.options.get("month")
    if opt:
        s = str(opt)
        start = dt.date(int(s[:4]), int(s[4:6]), 1)
    else:
        start = previous_month(ctx.business_date)
    return period_of(start, ctx.calendar)


def _totals(ctx: StepContext, fig: Figures) -> None:
    n = fig.books.height
    ctx.totals.count("books", label="決算集計行", read=n, accepted=n)
    for cat, label in CATEGORIES.items():
        for c in ("levy", "income", "refund", "write_off", "unpaid"):
            ctx.totals.add_money(f"{cat}.{c}", fig.total(c, cat), label=f"{label} {CSV_LABELS[c]}")


def books_csv(books: pl.DataFrame) -> bytes:
    """The book as the CSV operators open in Excel: Japanese headings, BOM, CRLF."""
    buf = io.BytesIO()
    books.select(BOOK_COLUMNS).rename(CSV_LABELS).write_csv(buf, line_terminator="\r\n")
    return "\ufeff".encode() + buf.getvalue()


def month_books(ctx: StepContext) -> int | None:
    """TN520 決算帳票: the closed month's book (CSV + PDF with charts); in the fiscal year's last
    month also the year's (kessan_nendo_<FY>)."""
    period = _period(ctx)
    ledger = open_ledger(ctx)
    try:
        if ledger.query("closing/month_get", {"m": ctx.municipality, "ym": period.ym}).height == 0:
            raise StepError.of("KKB676E", month=period.ym)
        fig = compute(ledger, ctx.municipality, period)
        months = ledger.query("closing/months_of_year", {"m": ctx.municipality, "fy": period.fiscal_year,
                                                          "fy_before": period.fiscal_year - 1})
    finally:
        ledger.dispose()
    check_conservation(ctx, fig, f"{period.ym} 決算帳票")
    start_month = period.fy_start.month
    rates = pl.DataFrame(
        [{"month": (int(ym[4:]) - start_month) % 12 + 1, "fiscal_year": int(fy),
          "rate_bp": (int(ci) * 20000 // int(cl) + 1) // 2 if int(cl) > 0 else 0}
         for ym, fy, cl, ci in months.select("closing_month", "fiscal_year", "current_levy_total",
                                             "current_income_total").iter_rows()],
        schema={"month": pl.Int64, "fiscal_year": pl.Int64, "rate_bp": pl.Int64})
    ages = fig.by_year.sort("levy_year").select(pl.format("{}年度", "levy_year").alias("label"),
                                                pl.col("unpaid").alias("amount"))
    from reports import closing as rc

    folder = paths.reports_root() / "closing" / ctx.generation
    name = str(ctx.config.get("municipality.name", ""))
    kinds = [("month", f"kessan_{period.ym}", f"国民健康保険税 決算帳票 (月次) {period.month_start:%Y年%m月}")]
    if period.month_end == ctx.calendar.fiscal_year_last_day(period.fiscal_year):
        kinds.append(("year", f"kessan_nendo_{period.fiscal_year}",
                      f"国民健康保険税 決算帳票 ({period.fiscal_year}年度)"))
    for kind, stem, title in kinds:
        csv, pdf = folder / f"{stem}.csv", folder / f"{stem}.pdf"
        ctx.stage_file(csv).write_bytes(books_csv(fig.books))
        stats = rc.render_books(fig.books, ctx.config, ctx.stage_file(pdf), title=title,
                                subtitle=f"{name} 会計年度 {period.fiscal_year} 締め年月 {period.ym} "
                                         f"(作成 {ctx.business_date:%Y-%m-%d})",
                                rates=rates, ages=ages, fiscal_year=period.fiscal_year)
        ctx.totals.count(f"book.{kind}", label=f"決算帳票 ({'月次' if kind == 'month' else '年度'}) 行",
                         read=stats.rows, accepted=stats.rows)
        ctx.totals.add_figure(f"book.{kind}.pages", stats.pages, label="PDF ページ")
        ctx.totals.add_figure(f"book.{kind}.charts", stats.charts, label="グラフ")
        ctx.message("KKB667I", kind="月次" if kind == "month" else "年度", pdf=pdf, csv=csv)
    _totals(ctx, fig)
    ctx.write_dataset("closing_books", fig.books.with_columns(pl.lit(period.ym).alias("closing_month")))
    return None
