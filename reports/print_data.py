"""The print-data file for the print vendor (印刷データ) and the notice frame behind every notice.

    frame = notice_frame(assessment, installments, addresses, cfg, issue_date=d)
    write_print_file(assessment, installments, addresses, cfg, path, issue_date=d)

``notice_frame`` joins the assessment (one row per household), the installments (one row per
household × 期) and the addresses (宛名, keyed by 宛名番号) into one wide row per notice with
exactly the data columns of ``layouts/tax_notice_print.yaml``. The print file is that frame
written by the codec; the PDFs (``reports.notices``) print the same rows, so the vendor's file and
the PDFs cannot disagree.

Checks (``NoticeError``, Japanese message naming the households): every household has an
address, Σ installments = 年税額, at most ``notices.max_ordinary_installments`` ordinary and
``notices.max_withholding_installments`` withholding installments.

The GS1-128 data (FORMATS.md §3.1) of every ordinary installment is built vectorized here (the
same digits as ``jobs.common.gs1.build``; tests compare them). 自由使用欄 is laid out by
``notices.cvs.free_field`` (``jobs.common.matching_keys``, where the collection side reads it back).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from jobs.common import fixedwidth as fw
from jobs.common import gs1, matching_keys
from jobs.common.config import Config
from jobs.common.fixedwidth.writer import date_numbers

LAYOUT_ID = "tax_notice_print"
#: records per block of the print file: some 30 MB of lines (1,802 bytes each), so the codec's
#: buffers and each field's block are mostly reused memory rather than fresh pages for every block
#: (with 50,000 a fresh process spent ~0.5 s more at 200,000 notices; with 8,192 the per-block
#: Polars work grows: measured)
CHUNK_ROWS = 16_384

# Items per component, in layout order: (suffix of the assessment column, label). The layout has
# a field <component>_<suffix> for each.
COMPONENT_ITEMS: tuple[tuple[str, str], ...] = (
    ("income_levy", "所得割額"),
    ("asset_levy", "資産割額"),
    ("per_capita_levy", "均等割額"),
    ("per_household_levy", "平等割額"),
    ("minor_reduction", "18歳未満均等割軽減額"),
    ("reduction", "軽減額"),
    ("preschool_reduction", "未就学児均等割軽減額"),
    ("specified_household_reduction", "特定世帯軽減額"),
    ("former_dependent_reduction", "旧被扶養者減免額"),
    ("perinatal_reduction", "産前産後軽減額"),
    ("over_cap", "限度超過額"),
    ("proration", "月割増減額"),
    ("exemption", "減免額"),
    ("amount", "賦課額"),
)
LAYOUT_COMPONENTS: tuple[str, ...] = ("medical", "elderly_support", "long_term_care", "child_support")

NOTICE_INITIAL = "1"  # 通知区分 1 当初 (納税通知書)
NOTICE_CHANGE = "2"  # 通知区分 2 変更 (税額変更通知書)
METHOD_ORDINARY = "1"  # 徴収方法 1 普通徴収
METHOD_WITHHOLDING = "2"  # 2 特別徴収
METHOD_BOTH = "3"  # 3 併用
FREE_FIELD_ITEMS = matching_keys.FREE_FIELD_ITEMS


class NoticeError(ValueError):
    """The notice data is inconsistent or a setting is invalid. The message is for operators."""


@dataclass(frozen=True)
class PrintSummary:
    """What ``write_print_file`` wrote: control totals for the step's job log."""

    path: Path
    notices: int
    annual_tax_total: int
    ordinary_total: int
    withholding_total: int
    barcodes: int
    slips_without_barcode: int
    money: dict[str, int] = field(default_factory=dict)


# --- public API --------------------------------------------------------------------------------


def write_print_file(
    assessment: pl.DataFrame,
    installments: pl.DataFrame,
    addresses: pl.DataFrame,
    cfg: Config,
    path: str | Path,
    *,
    issue_date: dt.date | None = None,
    notice_kind: str = NOTICE_INITIAL,
    previous_assessment: pl.DataFrame | None = None,
    previous_installments: pl.DataFrame | None = None,
    creation_date: dt.date | None = None,
    chunk_rows: int = CHUNK_ROWS,
    debit_accounts: pl.DataFrame | None = None,
) -> PrintSummary:
    """Write the print-data file (layout ``tax_notice_print``) atomically: a temporary file is
    renamed into place only when every record was written; on any error nothing appears."""
    frame = notice_frame(
        assessment, installments, addresses, cfg, issue_date=issue_date, notice_kind=notice_kind,
        previous_assessment=previous_assessment, previous_installments=previous_installments,
        debit_accounts=debit_accounts,
    )
    return write_frame(frame, cfg, path, creation_date=creation_date, chunk_rows=chunk_rows)


def write_frame(frame: pl.DataFrame, cfg: Config, path: str | Path, *, creation_date: dt.date | None = None,
                chunk_rows: int = CHUNK_ROWS) -> PrintSummary:
    """Write an already built notice frame (``notice_frame``) as the print-data file, ``chunk_rows``
    records at a time (the codec writes each block in the background while it encodes the next)."""
    layout = fw.load_layout(LAYOUT_ID)
    path = Path(path)
    fy = _fy(cfg, frame)
    issue = frame["issue_date"][0] if frame.height else resolve_issue_date(cfg, None)
    header = {
        "municipality_code": str(cfg.get("municipality.code")),
        "fiscal_year": f"{fy:04d}",
        "creation_date": creation_date or issue,
        "issue_date": issue,
        "issuer_name": str(cfg.get("notices.issuer.name")),
    }
    data_cols = [f.name for f in layout.data_type.columns if f.name != "record_kind"]
    with fw.FileWriter(layout, path) as w:
        w.begin_group(header)
        for start in range(0, max(frame.height, 1), chunk_rows):
            chunk = frame.slice(start, chunk_rows).select(data_cols)
            if chunk.height:
                w.write(chunk)
        w.end_group({"municipality_code": header["municipality_code"], "fiscal_year": header["fiscal_year"]})
    barcodes = sum(int(frame[f"ordinary_{i}_barcode"].is_not_null().sum()) for i in range(1, 11))
    slips = sum(int((frame[f"ordinary_{i}_amount"].fill_null(0) > 0).sum()) for i in range(1, 11))
    totals = {
        "annual_tax": int(frame["annual_tax"].sum() or 0),
        "ordinary_total": int(frame["ordinary_total"].sum() or 0),
        "withholding_total": int(frame["withholding_total"].sum() or 0),
    }
    return PrintSummary(
        path=path, notices=frame.height, annual_tax_total=totals["annual_tax"],
        ordinary_total=totals["ordinary_total"], withholding_total=totals["withholding_total"],
        barcodes=barcodes, slips_without_barcode=slips - barcodes, money=totals,
    )


def resolve_issue_date(cfg: Config, issue_date: dt.date | None) -> dt.date:
    """発行日: the argument (the run's business date), else ``notices.issue_date`` in config."""
    if issue_date is not None:
        return issue_date
    value = cfg.get("notices.issue_date", None)
    if value is None:
        raise NoticeError("発行日が指定されていません (issue_date 引数、または設定 notices.issue_date)")
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def notice_frame(
    assessment: pl.DataFrame,
    installments: pl.DataFrame,
    addresses: pl.DataFrame,
    cfg: Config,
    *,
    issue_date: dt.date | None = None,
    notice_kind: str = NOTICE_INITIAL,
    previous_assessment: pl.DataFrame | None = None,
    previous_installments: pl.DataFrame | None = None,
    debit_accounts: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per notice with every printed item (the data columns of the print layout), sorted
    by 郵便番号 then 世帯番号 (the order of the envelopes).

    ``assessment``: the engine's frame (jobs/assessment/README.md), optionally with ``revision``
    (通知書の版). ``installments``: fy, household_id, installment_no, method, month, due_date,
    amount. ``addresses``: person_id, name_kanji, postal_code, address_kanji (the nhi_qualification
    dataset's columns), joined on the 世帯主's 宛名番号. For 変更 notices (``notice_kind="2"``)
    pass the previous assessment and installments: their amounts are printed as 変更前.
    ``debit_accounts`` (口座振替: person_id, bank_code, branch_code, account_type, account_number,
    account_holder_kana, start_month YYYYMM), joined on the 世帯主's 宛名番号: the ordinary 期 due in
    or after ``start_month`` are debited (``debit_*`` items; no 納付書 for them); None: none is.
    """
    if notice_kind not in (NOTICE_INITIAL, NOTICE_CHANGE):
        raise NoticeError(f"通知区分が不正です: {notice_kind!r} (1 当初 / 2 変更)")
    if bool(cfg.get("notices.el_qr.enabled", False)):
        raise NoticeError("eL-QR (地方税統一QRコード) は仕様未入手のため使えません: notices.el_qr.enabled を false にしてください")
    issue = resolve_issue_date(cfg, issue_date)
    max_ord = int(cfg.get("notices.max_ordinary_installments"))
    max_wh = int(cfg.get("notices.max_withholding_installments"))
    if max_ord > 10 or max_wh > 6:
        raise NoticeError(f"印刷データの枠を超える期数の設定です: 普通徴収 {max_ord} (最大10), 特別徴収 {max_wh} (最大6)")
    fy = _fy(cfg, assessment)
    a = assessment
    if a.height and a["household_id"].n_unique() != a.height:
        raise NoticeError("賦課データに同じ世帯番号が複数あります")
    default_rev = 0 if notice_kind == NOTICE_INITIAL else 1
    revision = pl.col("revision").cast(pl.Int64) if "revision" in a.columns else pl.lit(default_rev, pl.Int64)

    reason_col = next((c for c in ("change_reason", "reason") if c in a.columns), None)
    reasons = {str(k): str(v) for k, v in (cfg.get("notices.change_reasons", None) or {}).items()}
    reason = (pl.col(reason_col).cast(pl.String).replace(reasons) if reason_col and notice_kind == NOTICE_CHANGE
              else pl.lit(None, pl.String))
    base = a.select(
        pl.col("household_id").cast(pl.String),
        pl.col("taxpayer_person_id").cast(pl.String),
        pl.col("insured_count").cast(pl.Int64),
        pl.col("reduction_class").cast(pl.String),
        pl.col("annual_tax").cast(pl.Int64),
        revision.alias("_revision"),
        reason.alias("change_reason"),
        *_component_exprs(a, levied_components(cfg, a)),
        # 過誤納 of a 変更 notice, as the 異動賦課 decided it (paid 期 lowered below what was paid)
        (pl.col("overpayment").cast(pl.Int64) if "overpayment" in a.columns else pl.lit(None, pl.Int64))
        .alias("_overpayment_decided"),
    )
    # the envelopes' order (郵便番号, 世帯番号) from here on: every later piece is laid out in it
    # (installments by row number _h, joins keeping the left order), so the wide frame is never sorted
    base = _join_addresses(base, addresses).sort(["postal_code", "household_id"])
    inst = _normalize_installments(installments, base)
    ordinary = _slots(inst.filter(pl.col("method") == "ordinary"), max_ord, "普通徴収")
    withholding = _slots(inst.filter(pl.col("method") == "withholding"), max_wh, "特別徴収")
    del inst  # its memory is reused by what follows (fresh pages cost more than reused ones)
    ordinary = ordinary.with_columns(_revision=base.get_column("_revision").gather(ordinary.get_column("_h")))
    h_ord = ordinary.get_column("_h")
    household = base.get_column("household_id").cast(pl.Int64, strict=False).gather(h_ord)
    ordinary = ordinary.with_columns(barcode=barcode_series(ordinary, cfg, fy=fy, household=household))

    n = base.height
    totals = {}
    for method, part in (("ordinary", ordinary), ("withholding", withholding)):  # each 期 once, in any order
        h, amount = part.get_column("_h").to_numpy(), part.get_column("amount").to_numpy()
        if len(amount) and int(np.abs(amount).max()) * len(amount) < 2**53:  # float64 sums are exact
            t = np.rint(np.bincount(h, weights=amount, minlength=n)).astype(np.int64)
        else:
            t = np.zeros(n, dtype=np.int64)
            np.add.at(t, h, amount)
        totals[f"{method}_total"] = t
    out = base.hstack([pl.Series(k, v) for k, v in totals.items()])
    # 過誤納: after a decrease the paid installments stay as they are (reassessment.py), so on a
    # 変更 notice Σ installments may exceed the new tax by the overpayment; never on a 当初 notice.
    out = out.with_columns(
        (pl.col("ordinary_total") + pl.col("withholding_total") - pl.col("annual_tax")).alias("overpayment"))
    bad = out.filter((pl.col("overpayment") != 0) if notice_kind == NOTICE_INITIAL else (pl.col("overpayment") < 0))
    if bad.height:
        raise NoticeError(
            f"期別額の合計が年税額と一致しない世帯が {bad.height} 件あります (先頭: 世帯番号 "
            f"{', '.join(bad['household_id'].head(5).to_list())})"
        )
    if notice_kind == NOTICE_INITIAL:
        out = out.with_columns(pl.lit(None, pl.Int64).alias("overpayment"))
    else:  # the 異動賦課 lowers paid 期 below what was paid: its decided 過誤納 is printed
        out = out.with_columns(pl.coalesce(pl.col("_overpayment_decided"), pl.col("overpayment")).alias("overpayment"))
    out = out.drop("_overpayment_decided")
    out = _spread(out, ordinary, "ordinary", max_ord, {"no": "installment_no", "due_date": "due_date",
                                                        "amount": "amount", "barcode": "barcode"})
    out = _spread(out, withholding, "withholding", max_wh, {"month": "month", "due_date": "due_date", "amount": "amount"})
    out = _debit(out, base, ordinary, debit_accounts)
    out = out.with_columns(
        pl.col("ordinary_count").fill_null(0).cast(pl.Int64),
        pl.col("withholding_count").fill_null(0).cast(pl.Int64),
    )
    out = _previous(out, previous_assessment, previous_installments, notice_kind, max_ord, max_wh)

    has_ord = pl.col("ordinary_total") > 0
    has_wh = pl.col("withholding_total") > 0
    out = out.with_columns(
        pl.lit(str(cfg.get("municipality.code"))).alias("municipality_code"),
        pl.lit(f"{fy:04d}").alias("fiscal_year"),
        pl.lit(notice_kind).alias("notice_kind"),
        pl.concat_str([pl.col("household_id").str.zfill(10), pl.col("_revision").cast(pl.String).str.zfill(3)])
        .alias("notice_no"),
        pl.col("_revision").cast(pl.String).str.zfill(3).alias("revision"),
        pl.lit(issue, pl.Date).alias("issue_date"),
        pl.when(has_ord & has_wh).then(pl.lit(METHOD_BOTH))
        .when(has_wh).then(pl.lit(METHOD_WITHHOLDING))
        .otherwise(pl.lit(METHOD_ORDINARY)).alias("collection_method"),
    )
    layout = fw.load_layout(LAYOUT_ID)
    cols = [f.name for f in layout.data_type.columns if f.name != "record_kind"]
    missing = [c for c in cols if c not in out.columns]
    if missing:  # a developer error: the layout and this module disagree
        raise NoticeError(f"印刷データの項目を作れません: {missing}")
    return out.select(cols)


# --- GS1-128 ---------------------------------------------------------------------------------------


def free_field_spec(cfg: Config) -> list[tuple[str, int]]:
    """``notices.cvs.free_field`` as (item, width) pairs (``jobs.common.matching_keys``); a bad
    layout is a ``NoticeError`` here."""
    try:
        return matching_keys.free_field_spec(cfg)
    except matching_keys.FreeFieldError as e:
        raise NoticeError(str(e)) from e


def parse_free_field(cfg: Config, free_field: str) -> dict[str, str]:
    """The 自由使用欄 of a barcode (21 digits) split into its items (for 消込 on the collection side)."""
    free_field_spec(cfg)  # a bad layout is a NoticeError
    return matching_keys.parse_free_field(cfg, free_field)


def barcode_series(slots: pl.DataFrame, cfg: Config, *, fy: int, household: pl.Series | None = None) -> pl.Series:
    """The 44 GS1-128 digits of each ordinary installment row (household_id, installment_no,
    due_date, amount, _revision), or null where no barcode is printed: CVS off, amount 0, or
    amount above ``cvs.barcode.max_amount``. Built as a digit matrix with numpy (a million
    installments in a fraction of a second); tests check it against ``jobs.common.gs1.build``.
    ``household``: the 世帯番号 of each row already as Int64 (what ``household_id.cast(pl.Int64,
    strict=False)`` gives; notice_frame parses each household once, not each 期)."""
    n = slots.height
    if n == 0 or not bool(cfg.get("notices.cvs.enabled")):
        return pl.Series("barcode", [None] * n, dtype=pl.String)
    company = str(cfg.get("cvs.company_code"))
    if len(company) != 6 or not company.isdigit():
        raise NoticeError(f"請求書発行企業コード (cvs.company_code) は6桁の数字です: {company!r}")
    tax_code = str(cfg.get("notices.cvs.tax_code"))
    ceiling = min(int(cfg.get("cvs.barcode.max_amount")), gs1.FIELD_MAX_AMOUNT)
    if household is None:
        household = slots["household_id"].cast(pl.Int64, strict=False)
    if household.null_count() or (household < 0).any():
        bad = slots.filter(household.is_null() | (household < 0))["household_id"][0]
        raise NoticeError(f"世帯番号が数字ではないためバーコードを作れません: {bad!r}")
    values = {
        "tax_code": None,
        "fy": np.array([fy], dtype=np.int64),  # written as a constant: checked once
        "household_id": household.to_numpy(),
        "installment_no": slots["installment_no"].cast(pl.Int64).to_numpy(),
        "revision": slots["_revision"].cast(pl.Int64).to_numpy(),
    }
    digits = _Digits(n)
    digits.const(gs1.AI + company)
    for item, width in free_field_spec(cfg):
        if item == "tax_code":
            if len(tax_code) != width or not tax_code.isdigit():
                raise NoticeError(f"notices.cvs.tax_code は{width}桁の数字です: {tax_code!r}")
            digits.const(tax_code)
            continue
        v = values[item]
        over = (v < 0) | (v >= 10 ** width)
        if over.any():
            hid = slots["household_id"][int(np.flatnonzero(over)[0])]
            raise NoticeError(f"自由使用欄の項目 {item} が{width}桁に収まりません (世帯番号 {hid})")
        if item == "fy":
            digits.const(f"{fy:0{width}d}")
        else:
            digits.ints(v, width)
    digits.const("0")  # 再発行区分: 0 = original
    rule = cfg.get("notices.cvs.payment_deadline")
    kind = str(rule.get("rule", "due_date"))
    if kind == "none":
        digits.const(gs1.NO_DUE_DATE)
    elif kind in ("due_date", "days_after_due"):
        due = slots["due_date"]
        if kind == "days_after_due":
            due = due + dt.timedelta(days=int(rule.get("days", 0)))
        yymmdd = _yymmdd(due)
        if yymmdd is None:
            raise NoticeError("納期限が2000〜2099年の範囲外です (バーコードの支払期限日は YYMMDD)")
        digits.ints(yymmdd, 6)
    else:
        raise NoticeError(f"notices.cvs.payment_deadline.rule が不正です: {kind!r} (due_date / days_after_due / none)")
    digits.const("0")  # 印紙フラグ: 0 for taxes
    amount = slots["amount"].cast(pl.Int64).to_numpy()
    printable = (amount > 0) & (amount <= ceiling)
    digits.ints(np.where(printable, amount, 0), 6)
    return digits.barcodes(printable)


def _yymmdd(due: pl.Series) -> np.ndarray | None:
    """YYMMDD of each 納期限 (int64), or None when one falls outside 2000–2099 (the barcode's
    支払期限日 has two digits of year): by a table over the days' range (``date_numbers``) when no
    納期限 is null, else by Polars."""
    got = date_numbers(due, lambda y, m, d: np.where((y < 2000) | (y > 2099), -1, (y % 100) * 10_000 + m * 100 + d)) \
        if due.null_count() == 0 and len(due) else None
    if got is not None:
        return None if (got[0] < 0).any() else got[0]
    year, month, day = (due.dt.year().cast(pl.Int64).to_numpy(), due.dt.month().cast(pl.Int64).to_numpy(),
                        due.dt.day().cast(pl.Int64).to_numpy())
    if ((year < 2000) | (year > 2099)).any():
        return None
    return (year % 100) * 10_000 + month * 100 + day


#: "0000".."9999" as uint32 words whose bytes are the four ASCII digits
_DIGITS4 = np.frombuffer("".join(f"{i:04d}" for i in range(10_000)).encode("ascii"), dtype=np.uint32).copy()
#: Σ weight × digit of "0000".."9999" with the weights 3, 1, 3, 1 (starting at an even index of the
#: data digits) and 1, 3, 1, 3 (at an odd one): modulus 10, weight 3 on even indexes (the rightmost
#: data digit, index 42, is even)
_W4_EVEN = np.array([3 * (i // 1000) + (i // 100 % 10) + 3 * (i // 10 % 10) + i % 10 for i in range(10_000)],
                    dtype=np.int32)
_W4_ODD = np.array([(i // 1000) + 3 * (i // 100 % 10) + (i // 10 % 10) + 3 * (i % 10) for i in range(10_000)],
                   dtype=np.int32)


class _Digits:
    """The 43 data digits of n GS1-128 barcodes, left to right, and their check digit: the
    constant text once in a template row, integers four digits at a time (one table lookup for
    the ASCII and one for the weighted sum), so no digit matrix is summed."""

    def __init__(self, n: int):
        self.n = n
        self.template = np.zeros(gs1.LENGTH, dtype=np.uint8)
        self.pos = 0
        self.const_sum = 0
        self.fields: list[tuple[np.ndarray, int, int]] = []

    def const(self, text: str) -> None:
        b = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
        self.template[self.pos:self.pos + len(b)] = b
        self.const_sum += sum((3 if (self.pos + q) % 2 == 0 else 1) * (int(c) - 48) for q, c in enumerate(b))
        self.pos += len(b)

    def ints(self, values: np.ndarray, width: int) -> None:
        """Non-negative integers below 10 ** width (checked by the caller), zero-filled."""
        self.fields.append((np.ascontiguousarray(values, dtype=np.int64), self.pos, width))
        self.pos += width

    def barcodes(self, valid: np.ndarray) -> pl.Series:
        from jobs.common.fixedwidth import native

        n = self.n
        bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int((~valid).sum())
        as_views = n * gs1.LENGTH < 2**31
        if native.lib() is not None and as_views:  # kb_gs1 writes the views beside the digits
            out, views = native.gs1_digits(self.template, self.fields, n, valid, views=True)
        else:
            out = self.matrix() if native.lib() is None else native.gs1_digits(self.template, self.fields, n)
            if as_views:
                views = np.zeros((n, 4), dtype=np.uint32)
                views[:, 0] = gs1.LENGTH
                views[:, 1] = out.reshape(n, gs1.LENGTH).view(np.uint32)[:, 0]
                views[:, 3] = np.arange(0, n * gs1.LENGTH, gs1.LENGTH, dtype=np.uint32)
                if nulls:
                    views[~valid] = 0
        if as_views:
            # Arrow string views (Polars' own layout, taken without a copy): per row the length 44, its
            # first 4 bytes, buffer 0 and the row's offset; a null row's view is empty
            arr = pa.Array.from_buffers(pa.string_view(), n, [bitmap, pa.py_buffer(views), pa.py_buffer(out.reshape(-1))],
                                        null_count=nulls)
            return pl.Series("barcode", arr)
        offsets = np.arange(n + 1, dtype=np.int64) * gs1.LENGTH
        arr = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(out.reshape(-1)), bitmap, nulls)
        return pl.Series("barcode", arr).cast(pl.String)

    def matrix(self) -> np.ndarray:
        """The (n, 44) digits with numpy (without the C library; kb_gs1 in _kbscan.c does the same)."""
        n = self.n
        out = np.empty((n, gs1.LENGTH), dtype=np.uint8)
        out[:] = self.template
        weighted = np.full(n, self.const_sum, dtype=np.int32)
        for v, pos, width in self.fields:
            end = pos + width
            last = (width - 1) // 4  # the leftmost chunk holds the rest
            if width <= 9:
                v = v.astype(np.uint32)  # 32-bit division is cheaper
            for c in range(last + 1):
                if c < last:
                    chunk, v = v % 10_000, v // 10_000
                    if v.dtype != np.uint32 and 4 * (c + 1) >= width - 9:
                        v = v.astype(np.uint32)
                else:
                    chunk = v
                start = end - 4 * (c + 1)
                lo = max(start, pos)
                out[:, lo:start + 4] = _DIGITS4[chunk].view(np.uint8).reshape(n, 4)[:, lo - start:]
                weighted += (_W4_EVEN if start % 2 == 0 else _W4_ODD)[chunk]
        out[:, gs1.LENGTH - 1] = ((10 - weighted % 10) % 10).astype(np.uint8) + np.uint8(48)
        return out


# --- internals ---------------------------------------------------------------------------------


def _fy(cfg: Config, frame: pl.DataFrame) -> int:
    if "fy" in frame.columns and frame.height:
        return int(frame["fy"][0])
    if "fiscal_year" in frame.columns and frame.height:
        return int(frame["fiscal_year"][0])
    if cfg.fy is not None:
        return int(cfg.fy)
    raise NoticeError("年度がわかりません (賦課データの fy 列、または設定の年度)")


def levied_components(cfg: Config, a: pl.DataFrame) -> set[str]:
    """The components levied in the fiscal year: those of ``tax.components`` (the year's rates)
    when configured, else those whose columns the assessment frame has. The engine writes every
    component (zero when not levied), so the rates decide whether 子ども・子育て支援金分 is printed."""
    configured = cfg.get("tax.components", None)
    present = {c for c in LAYOUT_COMPONENTS if f"{c}_amount" in a.columns}
    if isinstance(configured, Mapping) and configured:
        return present & {str(k) for k in configured}
    return present


def _component_exprs(a: pl.DataFrame, levied_set: set[str]) -> list[pl.Expr]:
    exprs = []
    for c in LAYOUT_COMPONENTS:
        levied = c in levied_set
        for item, _label in COMPONENT_ITEMS:
            col = f"{c}_{item}"
            if not levied:
                exprs.append(pl.lit(None, pl.Int64).alias(col))
            elif col in a.columns:
                exprs.append(pl.col(col).cast(pl.Int64).fill_null(0))
            else:  # an item this city does not levy (資産割 in a 3方式 city)
                exprs.append(pl.lit(0, pl.Int64).alias(col))
    return exprs


def _join_addresses(base: pl.DataFrame, addresses: pl.DataFrame) -> pl.DataFrame:
    need = {"person_id", "name_kanji", "postal_code", "address_kanji"}
    missing = need - set(addresses.columns)
    if missing:
        raise NoticeError(f"宛名データに列がありません: {sorted(missing)}")
    addr = addresses.select(
        pl.col("person_id").cast(pl.String), "name_kanji", pl.col("postal_code").cast(pl.String), "address_kanji"
    ).unique("person_id", keep="first", maintain_order=True)
    split = pl.col("address_kanji").str.splitn("　", 2).struct
    addr = addr.select(
        pl.col("person_id").alias("taxpayer_person_id"),
        pl.col("name_kanji").alias("addressee_name"),
        pl.col("name_kanji").alias("householder_name"),
        pl.col("postal_code"),
        split.field("field_0").alias("address"),
        split.field("field_1").alias("address_building"),
    )
    out = base.join(addr, on="taxpayer_person_id", how="left")
    lost = out.filter(pl.col("postal_code").is_null() | pl.col("address").is_null() | pl.col("addressee_name").is_null())
    if lost.height:
        raise NoticeError(
            f"送付先 (宛名・住所・郵便番号) のない世帯が {lost.height} 件あります (先頭: 世帯番号 "
            f"{', '.join(lost['household_id'].head(5).to_list())}); 宛名データを確認してください"
        )
    return out


def _normalize_installments(inst: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    need = {"household_id", "installment_no", "method", "month", "due_date", "amount"}
    missing = need - set(inst.columns)
    if missing:
        raise NoticeError(f"期別データに列がありません: {sorted(missing)}")
    out = inst.select(
        pl.col("household_id").cast(pl.String),
        pl.col("installment_no").cast(pl.Int64),
        pl.col("method").cast(pl.String),
        pl.col("month").cast(pl.Int64),
        pl.col("due_date").cast(pl.Date),
        pl.col("amount").cast(pl.Int64),
    )
    m = out.get_column("method")
    known = ((m == "ordinary") | (m == "withholding")).fill_null(False).all()  # cheaper than unique()
    methods = set() if known else set(m.unique().to_list()) - {"ordinary", "withholding"}
    if methods:
        raise NoticeError(f"徴収方法が不正です: {sorted(map(str, methods))} (ordinary / withholding)")
    if (out["amount"] < 0).any():
        raise NoticeError("期別額が負の期があります")
    # _h: the household's row in ``base`` (the notice's row). A household's 期 usually come together:
    # the first row of each run of one 世帯番号 is joined (not every 期), and its _h repeated
    index = base.select("household_id").with_row_index("_h")
    hid = out.get_column("household_id")
    new_run = hid.ne_missing(hid.shift(1)).to_numpy().copy()
    if len(new_run):
        new_run[0] = True  # the first row starts a run (its shifted neighbour is a null)
    runs = np.flatnonzero(new_run)
    if 0 < len(runs) < len(hid) // 2:
        heads = out.select(pl.col("household_id").gather(runs)).join(index, on="household_id", how="left",
                                                                      maintain_order="left")
        run_of_row = np.repeat(np.arange(len(runs), dtype=np.uint32), np.diff(np.append(runs, len(hid))))
        out = out.with_columns(heads.get_column("_h").gather(run_of_row))
    else:
        out = out.join(index, on="household_id", how="left", maintain_order="left")
    orphans = out.filter(pl.col("_h").is_null())
    if orphans.height:
        raise NoticeError(f"賦課データにない世帯の期別データが {orphans.height} 件あります (先頭: 世帯番号 {orphans['household_id'][0]})")
    return out


def _slots(inst: pl.DataFrame, limit: int, label: str) -> pl.DataFrame:
    """Number each household's installments 1.. in 納期限 order (the print slots); the rows in
    notice order (_h), then 納期限, then 期."""
    order = _runs_order(inst)
    out = inst[order] if order is not None else inst.sort(["_h", "due_date", "installment_no"], maintain_order=True)
    h = out.get_column("_h").to_numpy()
    first = np.ones(len(h), dtype=bool)
    first[1:] = h[1:] != h[:-1]
    starts = np.flatnonzero(first)
    slot = np.arange(1, len(h) + 1, dtype=np.int64) - np.repeat(starts, np.diff(np.append(starts, len(h))))
    out = out.with_columns(pl.Series("slot", slot))
    over = out.filter(pl.col("slot") > limit)
    if over.height:
        raise NoticeError(f"{label}の期数が印刷の上限 {limit} を超える世帯があります (世帯番号 {over['household_id'].min()})")
    return out


def _runs_order(inst: pl.DataFrame) -> np.ndarray | None:
    """The rows of ``inst`` in the order of its stable sort by (_h, due_date, installment_no), without
    the sort, when each household's 期 come as one run already in (納期限, 期) order (as the
    installment step writes them): the runs placed by _h, each keeping its rows (a counting sort).
    None when they do not, or a value is null: then the sort."""
    n = inst.height
    if n == 0 or any(inst.get_column(c).null_count() for c in ("_h", "due_date", "installment_no")):
        return None
    h = inst.get_column("_h").to_numpy()  # the columns as they are (no widened copies of millions of 期)
    new_run = np.ones(n, dtype=bool)
    np.not_equal(h[1:], h[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    counts = np.bincount(h[starts])
    if (counts > 1).any():  # a household in two runs
        return None
    due = inst.get_column("due_date").to_physical().to_numpy()
    no = inst.get_column("installment_no").to_numpy()
    later = (due[1:] > due[:-1]) | ((due[1:] == due[:-1]) & (no[1:] >= no[:-1]))
    if not (later | new_run[1:]).all():  # a run not in (納期限, 期) order
        return None
    lengths = np.diff(np.append(starts, n))
    run_order = np.argsort(h[starts], kind="stable")  # the runs by _h (each _h once)
    first_in, lengths = starts[run_order], lengths[run_order]
    placed = np.concatenate([[0], np.cumsum(lengths)[:-1]])  # where each run goes
    order = np.arange(n, dtype=np.int64)
    order += np.repeat(first_in - placed, lengths)  # row k of the result: its run's first row + k - placed
    return order


def _spread(out: pl.DataFrame, slots: pl.DataFrame, prefix: str, limit: int, items: Mapping[str, str]) -> pl.DataFrame:
    """Long → wide: <prefix>_<slot>_<item> columns for slots 1..10 (or 1..6), and <prefix>_count.
    ``slots`` (from ``_slots``) carries each installment's notice row _h and slot: per slot, the
    row of each notice's installment (null where it has none) gathers the items, which are added
    beside the notices (no join, no sort)."""
    n = out.height
    h = slots.get_column("_h").to_numpy().astype(np.int64)
    slot = slots.get_column("slot").to_numpy()
    cols = [pl.Series(f"{prefix}_count", np.bincount(h, minlength=n).astype(np.int64))]
    src = slots.select(list(items.values()))
    width = 10 if prefix == "ordinary" else 6
    # _slots sorts by _h and numbers each notice's installments 1, 2, ..: slot i of a notice is its
    # first row + i - 1 (where it has i of them), found on the notices, not the installments
    by_notice = len(h) and bool((h[1:] >= h[:-1]).all())
    if by_notice:
        first = np.ones(len(h), dtype=bool)
        first[1:] = h[1:] != h[:-1]
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(h)))
        by_notice = bool((slot[starts] == 1).all()) and bool((slot == np.arange(len(h)) - np.repeat(starts, counts) + 1).all())
    for i in range(1, width + 1):
        rows = starts[counts >= i] + (i - 1) if by_notice else np.flatnonzero(slot == i)
        pos = np.zeros(n, dtype=np.uint32)
        has = np.zeros(n, dtype=bool)
        pos[h[rows]] = rows
        has[h[rows]] = True
        idx = pl.Series(pos).set(pl.Series(~has), None) if not has.all() else pl.Series(pos)
        taken = src.select(pl.all().gather(idx))
        cols += [taken.get_column(s).alias(f"{prefix}_{i}_{name}") for name, s in items.items()]
    return out.hstack(cols)


DEBIT_NONE, DEBIT_YES = "0", "1"  # 口座振替区分
#: the 口座番号 on a notice: its last digits only (as the 還付充当通知書 prints it)
ACCOUNT_MASK, ACCOUNT_SHOWN = "****", 3


def debited_slots(row: Mapping) -> list[int]:
    """The ordinary slots (1..10) of a notice row that the bank will debit (口座振替): those with an
    amount whose 期別 is at or after 振替開始期別."""
    if row.get("debit_kind") != DEBIT_YES or row.get("debit_first_installment") is None:
        return []
    first = int(row["debit_first_installment"])
    return [i for i in range(1, 11)
            if row.get(f"ordinary_{i}_no") is not None and int(row[f"ordinary_{i}_no"]) >= first
            and row.get(f"ordinary_{i}_amount")]


def _debit(out: pl.DataFrame, base: pl.DataFrame, ordinary: pl.DataFrame,
           accounts: pl.DataFrame | None) -> pl.DataFrame:
    """口座振替 items of each notice: the 世帯主's mandate (``accounts``) and the first ordinary 期
    due in or after its 開始年月 (振替開始期別); a household without a mandate, or whose 期 all fall
    before it, gets 口座振替区分 0 and blanks."""
    items = {"debit_bank_code": pl.String, "debit_branch_code": pl.String, "debit_account_type": pl.String,
             "debit_account_number": pl.String, "debit_first_installment": pl.Int64,
             "debit_account_holder": pl.String}
    if accounts is None or accounts.height == 0 or ordinary.height == 0:
        return out.with_columns(pl.lit(DEBIT_NONE).alias("debit_kind"),
                                *[pl.lit(None, dtype=t).alias(c) for c, t in items.items()])
    acc = accounts.select(
        pl.col("person_id").cast(pl.String).alias("taxpayer_person_id"),
        pl.col("bank_code").cast(pl.String).alias("debit_bank_code"),
        pl.col("branch_code").cast(pl.String).alias("debit_branch_code"),
        pl.col("account_type").cast(pl.String).alias("debit_account_type"),
        (pl.lit(ACCOUNT_MASK) + pl.col("account_number").cast(pl.String).str.zfill(7).str.slice(-ACCOUNT_SHOWN))
        .alias("debit_account_number"),
        pl.col("account_holder_kana").cast(pl.String).str.strip_chars_end().alias("debit_account_holder"),
        pl.col("start_month").cast(pl.String).alias("_start"))
    if acc["taxpayer_person_id"].n_unique() != acc.height:
        raise NoticeError("口座振替の口座が同じ宛名番号に複数あります")
    first = ordinary.join(base.select("household_id", "taxpayer_person_id"), on="household_id", how="inner").join(
        acc.select("taxpayer_person_id", "_start"), on="taxpayer_person_id", how="inner").filter(
        (pl.col("due_date").dt.strftime("%Y%m") >= pl.col("_start")) & (pl.col("amount") > 0)).group_by(
        "household_id").agg(pl.col("installment_no").min().cast(pl.Int64).alias("debit_first_installment"))
    out = out.join(first, on="household_id", how="left", maintain_order="left").join(
        acc.drop("_start"), on="taxpayer_person_id", how="left", maintain_order="left")
    on = pl.col("debit_first_installment").is_not_null()
    return out.with_columns(
        pl.when(on).then(pl.lit(DEBIT_YES)).otherwise(pl.lit(DEBIT_NONE)).alias("debit_kind"),
        *[pl.when(on).then(pl.col(c)).otherwise(pl.lit(None, dtype=t)).alias(c) for c, t in items.items()])


def _previous(out: pl.DataFrame, prev_a: pl.DataFrame | None, prev_i: pl.DataFrame | None, kind: str,
              max_ord: int, max_wh: int) -> pl.DataFrame:
    """変更前 amounts, aligned with the new installments by (method, 期) (a 期 that only the
    previous assessment had is printed in the slot of its 期 number order after the new ones)."""
    cols = ["previous_annual_tax"] + [f"previous_ordinary_{i}_amount" for i in range(1, 11)] \
        + [f"previous_withholding_{j}_amount" for j in range(1, 7)]
    if kind == NOTICE_INITIAL:
        if prev_a is not None or prev_i is not None:
            raise NoticeError("当初の納税通知書に変更前のデータは渡せません")
        return out.with_columns([pl.lit(None, pl.Int64).alias(c) for c in cols])
    if prev_a is None or prev_i is None:
        raise NoticeError("変更通知書には変更前の賦課データと期別データが必要です")
    pa = prev_a.select(pl.col("household_id").cast(pl.String), pl.col("annual_tax").cast(pl.Int64).alias("previous_annual_tax"))
    out = out.join(pa, on="household_id", how="left", maintain_order="left")
    pi = prev_i.select(
        pl.col("household_id").cast(pl.String), pl.col("method").cast(pl.String),
        pl.col("installment_no").cast(pl.Int64), pl.col("month").cast(pl.Int64), pl.col("amount").cast(pl.Int64),
    )
    for prefix, limit, key_src in (("ordinary", 10, "installment_no"), ("withholding", 6, "month")):
        key_name = "no" if prefix == "ordinary" else "month"
        p = pi.filter(pl.col("method") == prefix).select(
            "household_id", pl.col(key_src).alias("_key"), pl.col("amount").alias("_prev"))
        for i in range(1, limit + 1):
            slot_key = f"{prefix}_{i}_{key_name}"
            out = out.join(p.rename({"_key": slot_key, "_prev": f"previous_{prefix}_{i}_amount"}),
                           on=["household_id", slot_key], how="left", nulls_equal=False, maintain_order="left")
        # a previous installment with no slot in the new schedule is reported, not dropped silently
        placed = pl.concat([out.select("household_id", pl.col(f"{prefix}_{i}_{key_name}").alias("_key"))
                            for i in range(1, limit + 1)]).drop_nulls()
        lost = p.filter(pl.col("_prev") > 0).join(placed, on=["household_id", "_key"], how="anti")
        if lost.height:
            raise NoticeError(f"変更前の{'普通' if prefix == 'ordinary' else '特別'}徴収の期が変更後の期別データにありません "
                              f"(世帯番号 {lost['household_id'][0]}, 期 {lost['_key'][0]}): 変更後にも金額 0 の期として渡してください")
    filled = [pl.when(pl.col(f"{prefix}_{i}_{'no' if prefix == 'ordinary' else 'month'}").is_not_null())
              .then(pl.col(f"previous_{prefix}_{i}_amount").fill_null(0)).otherwise(None)
              .alias(f"previous_{prefix}_{i}_amount")
              for prefix, limit in (("ordinary", 10), ("withholding", 6)) for i in range(1, limit + 1)]
    return out.with_columns(filled).with_columns(pl.col("previous_annual_tax").fill_null(0))
