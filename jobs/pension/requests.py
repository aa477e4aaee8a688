"""The files the city sends to the pension insurers (特別徴収義務者) through the 経由機関: pure builders.

- ``z22_records``: 特別徴収依頼 (通知内容 01): every 対象者 record of the year's Z21 answered, 各種区分 01
  (the household is withheld: 金額1–3 = its 本徴収 of ``pension_request.request.amount_months``) or 03
  (not withheld, amounts 0).
- ``addition_records``: 特別徴収追加依頼 (31) for the persons of the 捕捉 files (30).
- ``write_file``: one file of the 500-byte layout (``layouts/tokucho_z22.yaml`` / ``tokucho_z2a_request.yaml``):
  the 96-byte lead-in, then per (通知内容コード, 特別徴収義務者) a header, the data records and a trailer
  whose 合計件数 and 合計金額 金額1–3 the codec fills from the data.

Record frames carry the layout's data fields (``RECORD_COLUMNS``) plus ``household_id`` and
``person_id`` (宛名番号, kept in the sent-records datasets, never in the file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobs.assessment import installments as inst
from jobs.assessment import withholding as wh
from jobs.common import config as config_mod
from jobs.common import fixedwidth as fw

REQUEST_LAYOUT = "tokucho_z22"
CHANGE_LAYOUT = "tokucho_z2a_request"

NOTICE_REQUEST = "01"
NOTICE_ADDITION = "31"
NOTICE_LOSS = "41"
NOTICE_PROVISIONAL_CHANGE = "61"
NOTICE_LABELS = {NOTICE_REQUEST: "特別徴収依頼", NOTICE_ADDITION: "特別徴収追加依頼", NOTICE_LOSS: "資格喪失等",
                 NOTICE_PROVISIONAL_CHANGE: "仮徴収額変更"}
CATEGORY_TARGET = "01"
CATEGORY_NON_TARGET = "03"
CATEGORY_INITIAL = "00"

#: households judged withheld by FK120 (jobs.assessment.withholding statuses)
WITHHELD = (wh.CONTINUING, wh.NEW_PROVISIONAL, wh.NEW_FINAL)

KEY = ("payer_code", "basic_pension_number", "pension_code")
PERSON_FIELDS = ("birth_date", "sex", "name_kana", "name_kanji", "postal_code", "address_kana", "address_kanji",
                 "mutual_aid_certificate")
RECORD_COLUMNS = ("notice_code", *KEY, *PERSON_FIELDS, "category", "event_date", "amount1", "amount2", "amount3")
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "notice_code": pl.String(), "payer_code": pl.String(), "basic_pension_number": pl.String(),
    "pension_code": pl.String(), "birth_date": pl.Date(), "sex": pl.String(), "name_kana": pl.String(),
    "name_kanji": pl.String(), "postal_code": pl.String(), "address_kana": pl.String(),
    "address_kanji": pl.String(), "mutual_aid_certificate": pl.String(), "category": pl.String(),
    "event_date": pl.Date(), "amount1": pl.Int64(), "amount2": pl.Int64(), "amount3": pl.Int64(),
    "household_id": pl.String(), "person_id": pl.String(),
}


@dataclass(frozen=True)
class RequestRules:
    outbox: str
    scheme_code: str
    media_serial: str
    result_code: str
    request_file: str
    change_file: str
    answer_every_candidate: bool
    amount_months: tuple[int, ...]
    start_by_capture: Mapping[int, int]
    loss_category: Mapping[str, str]
    decrease_stop_category: str
    lag_even: int
    lag_odd: int

    @classmethod
    def from_config(cls, cfg: config_mod.Config) -> RequestRules:
        g = cfg.get
        r = cls(
            outbox=str(g("pension_request.outbox")),
            scheme_code=str(g("pension_request.scheme_code")),
            media_serial=str(g("pension_request.media_serial")),
            result_code=str(g("pension_request.result_code")),
            request_file=str(g("pension_request.files.request")),
            change_file=str(g("pension_request.files.change")),
            answer_every_candidate=bool(g("pension_request.request.answer_every_candidate")),
            amount_months=tuple(int(m) for m in g("pension_request.request.amount_months")),
            start_by_capture={int(k): int(v) for k, v in g("pension_request.addition.start_month_by_capture_month").items()},
            loss_category={str(k): str(v) for k, v in g("pension_request.change.loss_category").items()},
            decrease_stop_category=str(g("pension_request.change.decrease_stop_category")),
            lag_even=int(g("pension_request.change.effect_lag_months.even")),
            lag_odd=int(g("pension_request.change.effect_lag_months.odd")),
        )
        bad = []
        if len(r.amount_months) != 3:
            bad.append("request.amount_months は3か月 (金額1–3) です")
        if not (len(r.scheme_code) == 1 and len(r.media_serial) == 3 and len(r.result_code) == 2):
            bad.append("scheme_code (1桁) / media_serial (3桁) / result_code (2桁)")
        if bad:
            raise config_mod.ConfigError("pension_request の設定が不正です: " + "; ".join(bad))
        return r

    def request_name(self, notice: str, route_code: str, day: dt.date) -> str:
        return self.request_file.format(notice=notice, route=route_code, date=f"{day:%Y%m%d}")

    def change_name(self, route_code: str, day: dt.date) -> str:
        return self.change_file.format(route=route_code, date=f"{day:%Y%m%d}")


def empty_records() -> pl.DataFrame:
    return pl.DataFrame(schema=RECORD_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with exactly the record columns (missing ones null), in the file's order:
    通知内容コード, 特別徴収義務者, 基礎年金番号, 年金コード."""
    cols = [pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c) for c, t in RECORD_SCHEMA.items()]
    return frame.select(cols).sort(["notice_code", *KEY, "category", "household_id"], nulls_last=True,
                                   maintain_order=True)


def candidates(z21: pl.DataFrame) -> pl.DataFrame:
    """The 対象者 records of Z21 (ダミー 70 dropped), one per pension (基礎年金番号 × 年金コード × 義務者)."""
    z = z21
    if "category" in z.columns:
        z = z.filter(pl.col("category").fill_null("") != "70")
    have = [c for c in (*KEY, *PERSON_FIELDS) if c in z.columns]
    return z.select(have).unique(subset=list(KEY), keep="first", maintain_order=True)


def withholding_amounts(installments: pl.DataFrame, months: tuple[int, ...]) -> pl.DataFrame:
    """Per household the 特別徴収 of each of ``months`` (columns amount1.. in that order; 0 when none)."""
    w = installments.filter(pl.col("method") == inst.WITHHOLDING).group_by("household_id", "month").agg(
        pl.col("amount").sum())
    out = w.select("household_id").unique()
    for i, m in enumerate(months, start=1):
        part = w.filter(pl.col("month") == m).select("household_id", pl.col("amount").alias(f"amount{i}"))
        out = out.join(part, on="household_id", how="left")
    return out.with_columns([pl.col(f"amount{i}").fill_null(0).cast(pl.Int64) for i in range(1, len(months) + 1)])


def z22_records(withholding: pl.DataFrame, installments: pl.DataFrame, z21: pl.DataFrame,
                rules: RequestRules) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(records, missing): the 01 records, and the withheld households whose pension (義務者 ×
    基礎年金番号 × 年金コード from FK120) has no 対象者 record to answer (they cannot be requested)."""
    cand = candidates(z21)
    w = withholding.filter(pl.col("status").is_in(list(WITHHELD))).select(
        pl.col("household_id").cast(pl.String), pl.col("taxpayer_person_id").cast(pl.String).alias("person_id"),
        *[pl.col(c).cast(pl.String) for c in KEY], "status")
    amounts = withholding_amounts(installments, rules.amount_months)
    w = w.join(amounts, on="household_id", how="left").with_columns(
        [pl.col(f"amount{i}").fill_null(0) for i in (1, 2, 3)])
    j = cand.join(w, on=list(KEY), how="left")
    target = j.filter(pl.col("household_id").is_not_null()).with_columns(pl.lit(CATEGORY_TARGET).alias("category"))
    parts = [target]
    if rules.answer_every_candidate:
        parts.append(j.filter(pl.col("household_id").is_null()).with_columns(
            pl.lit(CATEGORY_NON_TARGET).alias("category"), *[pl.lit(0, dtype=pl.Int64).alias(f"amount{i}")
                                                           for i in (1, 2, 3)]))
    recs = pl.concat([p.drop("status") for p in parts], how="diagonal_relaxed")
    missing = w.join(cand.select(list(KEY)), on=list(KEY), how="anti")
    return conform(recs.with_columns(pl.lit(NOTICE_REQUEST).alias("notice_code"))), missing


def write_file(path: Path, records: pl.DataFrame, *, layout_id: str, municipality5: str, created_on: dt.date,
               rules: RequestRules) -> dict:
    """Write the 500-byte file of ``records`` (one group per 通知内容コード × 特別徴収義務者).
    Returns figures: records, groups, amount1..3 (the trailer totals)."""
    layout = fw.load_layout(layout_id)
    recs = conform(records)
    lead_in = {"municipality_code": municipality5, "media_serial": rules.media_serial, "created_on": created_on}
    common = {"municipality_code": municipality5, "scheme_code": rules.scheme_code, "created_on": created_on}
    groups = 0
    with fw.FileWriter(layout, path, lead_in=lead_in) as w:
        for (notice, payer), part in recs.group_by(["notice_code", "payer_code"], maintain_order=True):
            w.begin_group({**common, "record_kind": "1", "payer_code": payer, "notice_code": notice,
                           "media_code": None})
            w.write(part.select(
                pl.lit("2").alias("record_kind"), pl.lit(municipality5).alias("municipality_code"), "payer_code",
                "notice_code", pl.lit(rules.scheme_code).alias("scheme_code"), pl.lit(created_on).alias("created_on"),
                "basic_pension_number", "pension_code", *PERSON_FIELDS, "category",
                pl.lit(rules.result_code).alias("result"), pl.lit(None, dtype=pl.String).alias("late_elderly_transfer"),
                "event_date", "amount1", "amount2", "amount3"))
            w.end_group({"record_kind": "3"})
            groups += 1
    return {"records": recs.height, "groups": groups,
            **{f"amount{i}": int(recs[f"amount{i}"].fill_null(0).sum()) for i in (1, 2, 3)}}
