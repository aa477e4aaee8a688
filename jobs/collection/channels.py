"""Channel adapters: an input file read by the codec → the normalized payment frame.

One adapter per channel (README.md "Normalized payment frame"). Every record the codec read
becomes one row — records the codec rejected too (``parse_error`` set), so the 消込データ of a
file always holds all of its data records and the money reconciles with the trailer.

| channel | layout | key from |
|---|---|---|
| counter 窓口・指定金融機関 | ``counter_payment`` | 賦課年度・通知書番号・期別 fields |
| cvs / credit / app (収納代行) | ``cvs_payment`` | the barcode's 自由使用欄 (``notices.cvs.free_field``) |
| debit 口座振替 | ``zengin_91_result`` | the 顧客番号 (``keys.customer_number``) |
| pension 年金特別徴収 | dataset ``pension_withholding_result`` | its columns |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from jobs.common import gs1
from jobs.common.config import Config
from jobs.common.fixedwidth import ReadResult

from . import keys
from .reconcile import empty_payments, normalize

#: データ種別 of the 収納代行 file (FORMATS.md §3.2 a, DSK): 01 速報, 02 確報, 03 速報取消, 12 郵便振替
#: (a settled payment, posted like a 確報), 22 郵便振替訂正 (the corrected amount of the same slip:
#: the earlier posting is reversed and replaced). 確報取消 is NOT FOUND in FORMATS.md.
CVS_KINDS = {"01": "provisional", "02": "confirmed", "03": "cancel", "12": "confirmed", "22": "correction"}

#: The duplicate key (``dedup_key``) of each channel: the slip's identity, never its amount.
SLIP_KEYS = {
    "counter": "counter:金融機関コード:店舗番号:賦課年度:通知書番号:期別:領収年月日:通し番号",
    "cvs": "cvs|credit|app:CVSコード:バーコード1–37桁 (AI…印紙フラグ):CVS受付店舗コード:収納年月日:収納時分",
    "debit": "debit:引落銀行番号:引落支店番号:顧客番号:引落日",
    "pension": "pension:賦課年度:通知書番号:期別:特別徴収義務者コード:収入日",
}


@dataclass(frozen=True)
class Source:
    path: Path
    name: str
    sha256: str


def channel_of_agent(cfg: Config, agent: pl.Expr) -> pl.Expr:
    """cvs / credit / app from the agent's CVS code (collection.agent_codes; 3 digits)."""
    code3 = agent.str.strip_chars().str.slice(-3)
    credit = [str(c) for c in cfg.get("collection.agent_codes.credit")]
    app = [str(c) for c in cfg.get("collection.agent_codes.app")]
    return (pl.when(code3.is_in(credit)).then(pl.lit("credit"))
            .when(code3.is_in(app)).then(pl.lit("app")).otherwise(pl.lit("cvs")))


def payment_kind(cfg: Config, channel: pl.Expr) -> pl.Expr:
    kinds = {k: str(v) for k, v in cfg.get("collection.payment_kinds").items()}
    return channel.replace_strict(kinds, default=None, return_dtype=pl.String)


def _base(res: ReadResult, src: Source) -> list[pl.Expr]:
    lead, stride = res.lead_in_length, res.stride
    return [pl.lit(src.name).alias("source_file"), pl.lit(src.sha256).alias("source_sha256"),
            pl.col("record_no").cast(pl.Int64),
            (lead + (pl.col("record_no").cast(pl.Int64) - 1) * stride).alias("byte_offset")]


def codec_errors(res: ReadResult, src: Source, channel: str, cfg: Config) -> pl.DataFrame:
    """Data records the codec rejected, as payment rows with ``parse_error`` (first reason)."""
    rej = res.rejects.filter(pl.col("record_type").is_null() | (pl.col("record_type") == "data"))
    if rej.height == 0:
        return empty_payments()
    first = rej.sort("record_no").unique(subset=["record_no"], keep="first", maintain_order=True)
    return normalize(first.select(
        pl.lit(channel).alias("channel"), pl.lit(src.name).alias("source_file"),
        pl.lit(src.sha256).alias("source_sha256"), "record_no", "byte_offset", "raw",
        pl.lit("confirmed").alias("kind"), pl.lit(0, dtype=pl.Int64).alias("amount"),
        payment_kind(cfg, pl.lit(channel)).alias("payment_kind"),
        pl.concat_str([pl.lit(src.sha256), pl.col("record_no").cast(pl.String)], separator=":").alias("dedup_key"),
        pl.format("{}: {}", pl.col("label").fill_null("レコード"), "reason").alias("parse_error"),
        pl.col("field").alias("error_field")))


def counter(res: ReadResult, src: Source, cfg: Config) -> pl.DataFrame:
    d = res.frames["data"]
    rows = d.select(
        pl.lit("counter").alias("channel"), *_base(res, src), pl.lit("confirmed").alias("kind"),
        pl.col("levy_year").cast(pl.Int32, strict=False), "notice_number",
        pl.col("installment_no").cast(pl.Int32), pl.col("amount").cast(pl.Int64),
        pl.col("late_fee").cast(pl.Int64), pl.col("dunning_fee").cast(pl.Int64), "paid_date", "received_date",
        pl.col("payment_kind").fill_null(payment_kind(cfg, pl.lit("counter"))), "bank_code", "branch_code",
        # the slip's identity, never its amount (``SLIP_KEYS``): a re-send with another amount
        # is a conflict (reconcile step 2), not a second payment
        pl.concat_str([pl.lit("counter"), "bank_code", "branch_code", "levy_year", "notice_number",
                       pl.col("installment_no").cast(pl.String), pl.col("paid_date").cast(pl.String),
                       pl.col("slip_serial").fill_null("")], separator=":").alias("dedup_key"),
        pl.col("slip_serial").alias("serial_number"))
    return pl.concat([normalize(rows), codec_errors(res, src, "counter", cfg)], how="vertical")


def cvs(res: ReadResult, src: Source, cfg: Config) -> pl.DataFrame:
    """収納代行 (CVS, credit card, smartphone apps): the barcode is verified (check digit, AI,
    company code, amount ceiling) and its 自由使用欄 gives the key."""
    d = res.frames["data"]
    digits = pl.concat_str(["ai", "company_code", "free_field", "reissue", "deadline", "stamp_flag",
                            pl.col("amount").cast(pl.String).str.zfill(6), "check_digit"])
    df = d.with_columns(digits.alias("barcode"))
    company = str(cfg.get("cvs.company_code"))
    ceiling = min(int(cfg.get("cvs.barcode.max_amount")), gs1.FIELD_MAX_AMOUNT)
    bad_cd = pl.col("barcode").map_batches(_check_digit_ok, return_dtype=pl.Boolean).not_()
    free = keys.free_field_exprs(cfg, pl.col("free_field"))
    df = df.with_columns(
        pl.when(pl.col("ai") != gs1.AI).then(pl.lit("識別子(AI)が91ではありません"))
        .when(bad_cd).then(pl.format("チェックデジットが不正です (バーコード {})", "barcode"))
        .when(pl.col("company_code") != company)
        .then(pl.format("請求書発行企業コード {} は本市のもの ({}) ではありません", "company_code", pl.lit(company)))
        .when(pl.col("amount") > ceiling).then(pl.format("金額が取扱上限 {}円 を超えています", pl.lit(ceiling)))
        .when(free["tax_code"].is_not_null() & (free["tax_code"] != str(cfg.get("notices.cvs.tax_code"))))
        .then(pl.format("自由使用欄の税目コード {} は国保税ではありません", free["tax_code"]))
        .alias("parse_error"),
        pl.when(bad_cd).then(pl.lit("check_digit")).when(pl.col("amount") > ceiling).then(pl.lit("amount"))
        .alias("error_field"))
    channel = channel_of_agent(cfg, pl.col("agent_code"))
    rows = df.select(
        channel.alias("channel"), *_base(res, src),
        pl.col("data_kind").replace_strict(CVS_KINDS, default="unknown").alias("kind"),
        free["fy"].cast(pl.Int32, strict=False).alias("levy_year"),
        pl.when(free["household_id"].is_not_null()).then(keys.ordinary_notice_number(free["household_id"]))
        .alias("notice_number"),
        free["installment_no"].cast(pl.Int32, strict=False).alias("installment_no"),
        pl.col("amount").cast(pl.Int64), "paid_date",
        pl.when(pl.col("data_kind").is_in(["02", "12", "22"])).then(pl.col("transfer_date")).alias("received_date"),
        payment_kind(cfg, channel).alias("payment_kind"), pl.col("agent_code"), "store_code", "barcode",
        pl.col("paid_time").alias("store_time"), pl.col("transfer_date").alias("scheduled_payment_date"),
        # one store transaction of one slip (``SLIP_KEYS``): the agent, the barcode up to its
        # 印紙フラグ (without 支払金額 and チェックデジット), the store, the day and the minute
        pl.concat_str([channel, pl.col("agent_code").fill_null(""), pl.col("barcode").str.slice(0, 37),
                       pl.col("store_code").fill_null(""), pl.col("paid_date").cast(pl.String),
                       pl.col("paid_time").fill_null("")], separator=":").alias("dedup_key"),
        "parse_error", "error_field")
    return pl.concat([normalize(rows), codec_errors(res, src, "cvs", cfg)], how="vertical")


def debit(res: ReadResult, src: Source, cfg: Config) -> pl.DataFrame:
    """口座振替 results: 振替結果コード 0 posts; 1/2/3/4/8/9 are 振替不能 (no money)."""
    frames = res.frames
    d = frames["data"]
    heads = frames.get("header")
    d = _with_group_debit_date(d, heads, res)
    k = keys.parse_customer_number(pl.col("customer_number"))
    rows = d.select(
        pl.lit("debit").alias("channel"), *_base(res, src),
        pl.when(pl.col("result_code") == "0").then(pl.lit("confirmed")).otherwise(pl.lit("debit_failed"))
        .alias("kind"),
        k["levy_year"].alias("levy_year"), k["notice_number"].alias("notice_number"),
        k["installment_no"].alias("installment_no"), pl.col("amount").cast(pl.Int64),
        pl.col("debit_date").alias("paid_date"),
        pl.when(pl.col("result_code") == "0").then(pl.col("debit_date")).alias("received_date"),
        payment_kind(cfg, pl.lit("debit")).alias("payment_kind"), "bank_code", "branch_code", "result_code",
        # the request's identity (``SLIP_KEYS``): bank, branch, 顧客番号, 振替日 — never the amount
        pl.concat_str([pl.lit("debit"), "bank_code", "branch_code", "customer_number",
                       pl.col("debit_date").cast(pl.String)], separator=":").alias("dedup_key"),
        "customer_number",
        pl.when(k["notice_number"].is_null()).then(pl.format("顧客番号 {} の形式が不正です", "customer_number"))
        .alias("parse_error"))
    return pl.concat([normalize(rows), codec_errors(res, src, "debit", cfg)], how="vertical")


def _with_group_debit_date(d: pl.DataFrame, heads: pl.DataFrame | None, res: ReadResult) -> pl.DataFrame:
    """The 引落日 (MMDD in the group's header) as a date for each data record: the header record
    before it; the year is ``res.debit_year`` (the step's ``debit_year``: the 振替日 at or before
    the business date)."""
    if heads is None or heads.height == 0:
        return d.with_columns(pl.lit(None, dtype=pl.Date).alias("debit_date"))
    h = heads.select(pl.col("record_no").alias("_hno"), pl.col("debit_date").alias("_mmdd")).sort("_hno")
    out = d.sort("record_no").join_asof(h, left_on="record_no", right_on="_hno", strategy="backward")
    year = int(getattr(res, "debit_year", 0) or 0)
    if not year:  # the header carries MMDD only: the caller knows the year (steps.debit_year)
        raise ValueError("debit: the year of the 引落日 (res.debit_year) is required")
    return out.with_columns(
        pl.concat_str([pl.lit(str(year)), pl.col("_mmdd")]).str.to_date("%Y%m%d", strict=False).alias("debit_date")
    ).drop("_hno", "_mmdd")


def pension(frame: pl.DataFrame, cfg: Config) -> pl.DataFrame:
    """The pension cycle's result dataset (README.md) → payment rows."""
    return normalize(frame.select(
        pl.lit("pension").alias("channel"), "source_file", "source_sha256", pl.col("record_no").cast(pl.Int64),
        pl.lit(0, dtype=pl.Int64).alias("byte_offset"), pl.lit("confirmed").alias("kind"),
        pl.col("levy_year").cast(pl.Int32), "notice_number", pl.col("installment_no").cast(pl.Int32),
        pl.col("amount").cast(pl.Int64), pl.col("received_date").alias("paid_date"), "received_date",
        payment_kind(cfg, pl.lit("pension")).alias("payment_kind"), pl.col("payer_code").alias("agent_code"),
        pl.concat_str([pl.lit("pension"), pl.col("levy_year").cast(pl.String), "notice_number",
                       pl.col("installment_no").cast(pl.String), "payer_code",
                       pl.col("received_date").cast(pl.String)], separator=":").alias("dedup_key")))


def _check_digit_ok(s: pl.Series) -> pl.Series:
    """Modulus 10 / weights 3,1 from the right (``gs1.check_digit``), over a digit matrix."""
    ok = (s.str.len_bytes() == gs1.LENGTH) & s.str.contains(r"^[0-9]+$")
    ok = ok.fill_null(False)
    good = s.filter(ok)
    if good.len() == 0:
        return ok
    m = np.frombuffer("".join(good.to_list()).encode("ascii"), dtype=np.uint8).reshape(-1, gs1.LENGTH) - 48
    weights = np.where(np.arange(gs1.LENGTH - 1)[::-1] % 2 == 0, 3, 1)
    cd = (10 - (m[:, :-1].astype(np.int64) @ weights) % 10) % 10
    valid = pl.Series(cd == m[:, -1])
    out = ok.to_numpy().copy()
    out[out] = valid.to_numpy()
    return pl.Series(out, dtype=pl.Boolean)


ADAPTERS: dict[str, Callable[[ReadResult, Source, Config], pl.DataFrame]] = {
    "counter": counter, "cvs": cvs, "debit": debit,
}
LAYOUTS = {"counter": "counter_payment", "cvs": "cvs_payment", "debit": "zengin_91_result"}
