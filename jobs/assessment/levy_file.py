"""The 調定 file for the collection ledger (税収納システム): ``layouts/levy_file.yaml``.

One data record per household × 徴収方法 × 期 with 通知書番号, 賦課年度 / 対象年度, 期別, 納期限,
期別税額 and its split by component (医療・支援・介護 一般/退職, 子ども・子育て支援金), 徴収方法区分,
調定区分 (1 当初 / 2 更正) and, for 更正, 更正順番, 増減額, 過誤納見込額 and 賦課更正事由; a
header and a trailer whose count and money fields the codec fills and checks (bindings).

- 当初 (``initial_records``): every installment row with an amount (a 0円 期 is not a levy).
  増減額 is 0 (the whole 期別税額 is the levy).
- 更正 (``correction_records``): every installment whose levy changed or that carries an
  overpayment; 期別税額 = the levy after the correction, 増減額 = after − before.

通知書番号 (11 digits) = 徴収方法区分 (1 普通徴収, 2 特別徴収) + 世帯番号 (10 digits) [I: the
seed names 通知書番号, 仮徴収通知書番号 and 本徴収通知書番号 but not their construction].
退職分 fields are 0: the 退職者医療制度 has ended [I].
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common import matching_keys

from . import installments as inst

LAYOUT_ID = "levy_file"
METHOD_CODES = {inst.ORDINARY: matching_keys.ORDINARY_CODE, inst.WITHHOLDING: matching_keys.WITHHOLDING_CODE}
KIND_INITIAL = "1"
KIND_CORRECTION = "2"
FILE_INITIAL = "1"
FILE_CORRECTION = "2"
REASON_CODES = {"所得異動": "01", "資格異動": "02", "所得・資格異動": "03", "その他": "09",
                "income": "01", "qualification": "02", "both": "03", "other": "09"}
COMPONENT_FIELDS = {"medical": "medical_general", "elderly_support": "support_general",
                    "long_term_care": "care_general", "child_support": "child_general"}
RETIRED_FIELDS = ("medical_retired", "support_retired", "care_retired")
CHUNK = 200_000
MONEY_FIELDS = ("amount", "change", "medical_general", "support_general", "care_general", "child_general",
                "overpayment")


def layout() -> fw.Layout:
    return fw.load_layout(LAYOUT_ID)


def notice_number(method: pl.Expr, household_id: pl.Expr) -> pl.Expr:
    """通知書番号 (``jobs.common.matching_keys``) from the 徴収方法 (ordinary / withholding)."""
    return matching_keys.notice_number(method.replace_strict(METHOD_CODES, return_dtype=pl.String), household_id)


def _components(rows: pl.DataFrame) -> list[pl.Expr]:
    out = []
    for comp, fld in COMPONENT_FIELDS.items():
        col = f"{comp}_amount"
        out.append((pl.col(col).fill_null(0) if col in rows.columns else pl.lit(0)).cast(pl.Int64).alias(fld))
    out += [pl.lit(0, dtype=pl.Int64).alias(f) for f in RETIRED_FIELDS]
    return out


def initial_records(rows: pl.DataFrame, assessment: pl.DataFrame, *, municipality: str, levy_date: dt.date,
                    payers: pl.DataFrame | None = None, skip_zero: bool = True) -> pl.DataFrame:
    """Data records of the 当初 file. ``rows``: installments with component columns;
    ``assessment``: household_id → taxpayer_person_id; ``payers``: household_id → payer_code
    (特別徴収義務者, the withholding judgment)."""
    df = rows.filter(pl.col("amount") != 0) if skip_zero else rows
    df = df.join(assessment.select("household_id", pl.col("taxpayer_person_id").cast(pl.String)),
                 on="household_id", how="left")
    df = _with_payer(df, payers)
    return _records(df, municipality=municipality, levy_date=levy_date, kind=KIND_INITIAL,
                    change=pl.lit(0, dtype=pl.Int64), overpayment=pl.lit(0, dtype=pl.Int64),
                    seq=pl.lit(0, dtype=pl.Int64), reason=pl.lit(None, dtype=pl.String))


def correction_records(corrections: pl.DataFrame, rows_after: pl.DataFrame, notices: pl.DataFrame, *,
                       municipality: str, levy_date: dt.date, payers: pl.DataFrame | None = None) -> pl.DataFrame:
    """Data records of a 更正 file: the changed installments of ``corrections`` (reassessment),
    their component split from ``rows_after`` and 更正順番 / 事由 from ``notices``."""
    ch = corrections.filter(pl.col("changed"))
    comp_cols = inst.component_columns(rows_after)
    df = ch.join(rows_after.select(*inst.KEY, *comp_cols), on=list(inst.KEY), how="left").rename(
        {"amount_after": "amount"})
    note = notices.select("household_id", pl.col("taxpayer_person_id").cast(pl.String),
                          pl.col("correction_seq").cast(pl.Int64) if "correction_seq" in notices.columns
                          else pl.lit(1, dtype=pl.Int64).alias("correction_seq"),
                          pl.col("reason"))
    df = _with_payer(df.join(note, on="household_id", how="left"), payers)
    return _records(df, municipality=municipality, levy_date=levy_date, kind=KIND_CORRECTION,
                    change=pl.col("change"), overpayment=pl.col("overpayment"), seq=pl.col("correction_seq"),
                    reason=pl.col("reason").replace_strict(REASON_CODES, default="09", return_dtype=pl.String))


def _with_payer(df: pl.DataFrame, payers: pl.DataFrame | None) -> pl.DataFrame:
    if payers is None or "payer_code" not in payers.columns:
        return df.with_columns(pl.lit(None, dtype=pl.String).alias("payer_code"))
    return df.join(payers.select("household_id", pl.col("payer_code").cast(pl.String)), on="household_id", how="left")


def _records(df: pl.DataFrame, *, municipality: str, levy_date: dt.date, kind: str, change: pl.Expr,
             overpayment: pl.Expr, seq: pl.Expr, reason: pl.Expr) -> pl.DataFrame:
    df = inst.sort_rows(df)
    fy = pl.col("fy").cast(pl.String)
    return df.select(
        pl.lit(municipality, dtype=pl.String).alias("municipality_code"),
        notice_number(pl.col("method"), pl.col("household_id")).alias("notice_number"),
        pl.col("taxpayer_person_id"),
        pl.col("household_id"),
        fy.alias("levy_year"),
        fy.alias("target_year"),
        pl.col("installment_no").cast(pl.Int64),
        pl.col("method").replace_strict(METHOD_CODES, return_dtype=pl.String).alias("collection_method"),
        pl.lit(kind, dtype=pl.String).alias("levy_kind"),
        seq.cast(pl.Int64).alias("correction_seq"),
        pl.lit(levy_date, dtype=pl.Date).alias("levy_date"),
        pl.col("due_date"),
        pl.col("amount").cast(pl.Int64),
        change.cast(pl.Int64).alias("change"),
        *_components(df),
        overpayment.cast(pl.Int64).alias("overpayment"),
        pl.when(pl.col("method") == inst.WITHHOLDING).then(pl.col("payer_code")).otherwise(None).alias("payer_code"),
        reason.alias("correction_reason"),
    )


def header(*, municipality: str, creation_date: dt.date, levy_year: int, file_kind: str) -> dict:
    return {"municipality_code": municipality, "creation_date": creation_date, "levy_year": f"{levy_year:04d}",
            "file_kind": file_kind}


def write(path: Path, records: pl.DataFrame, head: dict) -> dict:
    """Write the file (header, data in chunks, trailer with its bindings filled) to ``path``;
    returns the figures of the trailer."""
    with fw.FileWriter(layout(), path) as w:
        w.begin_group(head)
        for start in range(0, records.height, CHUNK):
            w.write(records.slice(start, CHUNK))
        w.end_group()
    return figures(records)


def figures(records: pl.DataFrame) -> dict:
    """Count and money totals of data records (what the trailer carries)."""
    s = records.select(pl.len().alias("count"), *[pl.col(c).sum() for c in MONEY_FIELDS]).row(0, named=True)
    return {k: int(v or 0) for k, v in s.items()}


def read(path: Path) -> fw.ReadResult:
    return fw.read(layout(), path)
