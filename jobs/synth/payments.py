"""Synthetic payment files for the 収納 stream, made from the 調定 file(s) of the assessment side.

    levy = load_levy([".../levy_initial_<gen>.dat", ".../levy_correction_<gen>.dat"])
    write_counter_file(levy, out / "counter" / "COUNTER_20260805.dat", business_date=d, seed=1)
    write_cvs_file(levy, out / "cvs" / "CVS_20260805.dat", business_date=d, seed=1)
    pension_result_frame(levy, business_date=d, seed=1)          # the pension result dataset's rows
    write_debit_result_file(request_path, result_path, rng=1)     # the bank's answer to a request

    kokuho synth-payments --levy PATH [PATH ...] --date 2026-08-05 --seed 1 --out var/inbox
                          [--channels counter,cvs,pension,debit] [--since D] [--debit-request PATH]

The knobs (channel shares, partial / over / duplicate / unknown-notice / malformed rates, lags,
agent codes) are ``payments:`` in config/synth.yaml; nothing is hard-coded here. The plan of who
pays what, where and when is drawn once per 普通徴収 installment in key order from ``seed``
(``payment_plan``), so the counter and CVS files of one seed never pay the same installment twice
(except the deliberate duplicates) and a later business date's files are a superset of an earlier
one's. A file holds the records whose own date (counter: 収入日; CVS: データ取得年月日; pension:
received_date) is in ``(since, business_date]`` (``since=None``: everything up to the date).

Files go through the codec (``layouts/counter_payment``, ``layouts/cvs_payment``,
``layouts/zengin_91_result``), which fills the trailer counts and sums, and are written atomically
(a temporary name renamed into place). Each reads back with zero rejects unless
``payments.malformed_rate`` > 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from jobs.common import fixedwidth as fw
from jobs.common import gs1, matching_keys, paths

from .config import SynthConfig, load_config

CHANNELS = ("counter", "cvs", "credit", "app", "unpaid")
CVS_CHANNELS = ("cvs", "credit", "app")
KIND_PROVISIONAL, KIND_CONFIRMED, KIND_CANCEL = "01", "02", "03"
UNKNOWN_PREFIX = "99"          # 世帯番号 of payments that match no 調定: 99 + 8 digits
KEY = ["levy_year", "notice_number", "installment_no"]
PENSION_SCHEMA = {
    "levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32, "person_id": pl.String,
    "payer_code": pl.String, "amount": pl.Int64, "received_date": pl.Date, "source_file": pl.String,
    "source_sha256": pl.String, "record_no": pl.Int64,
}
ALL_OUTPUTS = ("counter", "cvs", "pension", "debit")


# --- inputs -------------------------------------------------------------------------------------


def load_levy(paths: Iterable[str | Path]) -> pl.DataFrame:
    """The data records of the 調定 file(s), read with the codec; for each installment key the
    latest levy wins (当初 < 更正, then 更正順番, then file order)."""
    layout = fw.load_layout("levy_file")
    frames = []
    for i, p in enumerate(paths):
        res = fw.read(layout, Path(p))
        if res.totals["rejected"]:
            raise ValueError(f"調定ファイルに不良レコードがあります: {p} ({res.totals['rejected']} 件)")
        frames.append(res.frames["data"].with_columns(pl.lit(i, pl.Int64).alias("_file")))
    if not frames:
        raise ValueError("調定ファイルが指定されていません")
    return latest_levy(pl.concat(frames, how="vertical_relaxed"))


def latest_levy(levy: pl.DataFrame) -> pl.DataFrame:
    order = [c for c in ("levy_kind", "correction_seq", "_file", "record_no") if c in levy.columns]
    out = levy.sort(KEY + order).unique(KEY, keep="last", maintain_order=True)
    return out.drop([c for c in ("_file",) if c in out.columns]).sort(KEY)


def debit_keys(request_path: str | Path) -> pl.DataFrame:
    """The installments of a Zengin 91 request file (顧客番号 = 賦課年度 4 + 通知書番号 11 + 期別 2 +
    依頼回数 3, jobs/collection/README.md): they are paid by 口座振替, not at a counter or a store."""
    res = fw.read(fw.load_layout("zengin_91_request"), Path(request_path))
    k = matching_keys.customer_number_parts(pl.col("customer_number"))
    return res.frames["data"].select(
        k["levy_year"].alias("levy_year"), k["notice_number"].alias("notice_number"),
        k["installment_no"].cast(pl.Int64).alias("installment_no"),
    ).unique(maintain_order=True)


def _payments_cfg(cfg: SynthConfig | None) -> dict[str, Any]:
    return (cfg or load_config())["payments"]


def _muni_cfg(municipality: str | None):
    from jobs.common import config as config_mod

    return config_mod.load(municipality)


# --- the plan -----------------------------------------------------------------------------------


def payment_plan(levy: pl.DataFrame, *, seed: int, cfg: SynthConfig | None = None,
                 shares: Mapping[str, float] | None = None, exclude: pl.DataFrame | None = None,
                 municipality: str | None = None) -> pl.DataFrame:
    """One row per 普通徴収 installment (amount > 0) with how it is paid: channel (counter, cvs,
    credit, app, unpaid, debit), paid_date, paid_time, paid_amount, and the draws behind the
    records (agent, store, bank, duplicate, unknown notice, cancel, malformed). Independent of
    the business date. ``exclude``: installment keys paid by 口座振替 (``debit_keys``)."""
    p = _payments_cfg(cfg)
    mcfg = _muni_cfg(municipality)
    sh = dict(p["channel_shares"]) if shares is None else {**{k: 0.0 for k in CHANNELS}, **shares}
    total = sum(float(v) for v in sh.values())
    if total <= 0 or any(k not in CHANNELS for k in sh):
        raise ValueError(f"channel shares must name {CHANNELS} and add up to more than 0: {sh}")
    base = levy.filter((pl.col("collection_method") == "1") & (pl.col("amount") > 0))
    base = latest_levy(base).select(
        "municipality_code", "levy_year", "target_year", "notice_number", "household_id", "installment_no",
        "due_date", "amount",
        (pl.col("correction_seq") if "correction_seq" in base.columns else pl.lit(0)).cast(pl.Int64).alias("revision"),
    )
    n = base.height
    rng = np.random.default_rng(seed)
    u = {k: rng.random(n) for k in ("channel", "partial", "partial_f", "over", "dup", "unknown", "cancel", "malformed",
                                     "agent", "bank")}
    offset = rng.integers(-int(p["days_before_due"]), int(p["days_after_due"]) + 1, n)
    minute = rng.integers(0, 24 * 60, n)
    store = rng.integers(1, 10_000_000, n)
    branch = rng.integers(1, int(p["counter"]["branch_code_max"]) + 1, n)
    over_pick = rng.integers(0, len(p["overpayment_extra"]), n)
    unknown_hh = rng.integers(0, 100_000_000, n)

    names = list(CHANNELS)
    weights = np.array([float(sh.get(k, 0.0)) for k in names]) / total
    channel = np.array(names, dtype=object)[np.minimum(np.searchsorted(np.cumsum(weights), u["channel"], side="right"),
                                                       len(names) - 1)]
    due = base["due_date"].to_numpy().astype("datetime64[D]")
    paid = due + offset.astype("timedelta64[D]")
    amount = base["amount"].to_numpy()

    # a CVS / credit / app slip exists only up to the barcode ceiling and its 支払期限日
    ceiling = min(int(mcfg.get("cvs.barcode.max_amount")), gs1.FIELD_MAX_AMOUNT)
    deadline = _deadlines(mcfg, due)
    in_cvs = np.isin(channel, CVS_CHANNELS)
    no_slip = in_cvs & ((amount > ceiling) | (~np.isnat(deadline) & (paid > deadline))
                        | (not bool(mcfg.get("notices.cvs.enabled", True))))
    channel[no_slip] = "counter"
    if exclude is not None and exclude.height and n:
        ex = exclude.select(pl.col("levy_year").cast(pl.String), pl.col("notice_number").cast(pl.String),
                            pl.col("installment_no").cast(pl.Int64), pl.lit(True).alias("_debit"))
        hit = base.select(KEY).with_columns(pl.col("installment_no").cast(pl.Int64)).join(
            ex, on=KEY, how="left", maintain_order="left")["_debit"].fill_null(False).to_numpy()
        channel[hit] = "debit"

    # paid amount (counter only: a barcode carries the installment's amount)
    counter = channel == "counter"
    partial = counter & (u["partial"] < float(p["partial_rate"]))
    over = counter & ~partial & (u["over"] < float(p["overpayment_rate"]))
    lo, hi = float(p["partial_low"]), float(p["partial_high"])
    part_amt = np.maximum((amount * (lo + (hi - lo) * u["partial_f"]) // 100 * 100).astype(np.int64), 100)
    part_amt = np.minimum(part_amt, np.maximum(amount - 1, 1))
    extra = np.asarray(p["overpayment_extra"], dtype=np.int64)[over_pick]
    paid_amount = np.where(partial, part_amt, np.where(over, amount + extra, amount)).astype(np.int64)

    # payments whose key matches no 調定 (a mistyped or foreign slip)
    unknown = (channel != "unpaid") & (channel != "debit") & (u["unknown"] < float(p["unknown_notice_rate"]))
    household = pl.select(pl.when(pl.Series(unknown)).then(pl.lit(UNKNOWN_PREFIX) + _digits(unknown_hh, 8))
                          .otherwise(base["household_id"].cast(pl.String))).to_series()

    agents = np.full(n, None, dtype=object)
    for ch in CVS_CHANNELS:
        sel = channel == ch
        if sel.any():
            codes = list(p["cvs"]["agents"][ch])
            w = np.cumsum([float(p["cvs"]["agents"][ch][c]) for c in codes])
            agents[sel] = np.array(codes, dtype=object)[np.minimum(np.searchsorted(w / w[-1], u["agent"][sel], side="right"),
                                                                   len(codes) - 1)]
    banks = list(p["counter"]["banks"])
    bw = np.cumsum([float(p["counter"]["banks"][b]) for b in banks])
    bank = np.array(banks, dtype=object)[np.minimum(np.searchsorted(bw / bw[-1], u["bank"], side="right"), len(banks) - 1)]

    return base.with_columns(
        pl.Series("channel", channel.tolist(), dtype=pl.String),
        pl.Series("paid_date", paid).cast(pl.Date),
        (_digits(minute // 60, 2) + _digits(minute % 60, 2)).alias("paid_time"),
        pl.Series("paid_amount", paid_amount),
        pl.Series("deadline", deadline).cast(pl.Date),
        household.alias("pay_household_id"),
        pl.Series("unknown", unknown),
        pl.Series("partial", partial),
        pl.Series("overpaid", over),
        pl.Series("duplicate", (channel != "unpaid") & (channel != "debit") & (u["dup"] < float(p["duplicate_rate"]))),
        pl.Series("cancelled", np.isin(channel, CVS_CHANNELS) & (u["cancel"] < float(p["cvs"]["cancel_rate"]))),
        pl.Series("malformed", u["malformed"] < float(p["malformed_rate"])),
        pl.Series("agent_code", agents.tolist(), dtype=pl.String),
        _digits(store, 7).alias("store_code"),
        pl.Series("bank_code", bank.tolist(), dtype=pl.String),
        _digits(branch, 3).alias("branch_code"),
    )


def _digits(values: np.ndarray, width: int) -> pl.Series:
    """Non-negative integers as zero-padded strings (``f"{x:0{width}d}"``), vectorised."""
    return pl.Series(values).cast(pl.String).str.zfill(width)


def _deadlines(mcfg, due: np.ndarray) -> np.ndarray:
    """支払期限日 of the barcode (notices.cvs.payment_deadline, as reports.print_data); NaT = none."""
    rule = mcfg.get("notices.cvs.payment_deadline", {"rule": "due_date"})
    kind = str(rule.get("rule", "due_date"))
    if kind == "none":
        return np.full(len(due), np.datetime64("NaT"), dtype="datetime64[D]")
    days = int(rule.get("days", 0)) if kind == "days_after_due" else 0
    return due + np.timedelta64(days, "D")


def _window(dates: pl.Expr, business_date: dt.date, since: dt.date | None) -> pl.Expr:
    cond = dates <= pl.lit(business_date)
    return cond if since is None else cond & (dates > pl.lit(since))


def _busday(dates: pl.Series, n: int) -> pl.Series:
    d = dates.to_numpy().astype("datetime64[D]")
    return pl.Series(dates.name, np.busday_offset(d, n, roll="forward")).cast(pl.Date)


# --- writing ------------------------------------------------------------------------------------


def _corrupt(data: bytes, layout: fw.Layout, record_nos: Sequence[int], field: str) -> bytes:
    """Make the date ``field`` of the given records (1-based record numbers) unreadable."""
    if not record_nos:
        return data
    stride = layout.record_length + (2 if data[layout.record_length:layout.record_length + 2] == b"\r\n" else 0)
    f = layout.data_type.field(field)
    buf = bytearray(data)
    for r in record_nos:
        at = (r - 1) * stride + f.offset
        buf[at:at + f.length] = b"2026XX01"[:f.length].ljust(f.length, b"X")
    return bytes(buf)


def _summary(path: Path, layout_id: str, data: pl.DataFrame, money: str = "amount") -> dict[str, Any]:
    return {"file": str(path), "layout": layout_id, "records": data.height,
            "amount": int(data[money].sum() or 0) if data.height else 0, "bytes": Path(path).stat().st_size}


def write_counter_file(levy: pl.DataFrame, path: str | Path, *, business_date: dt.date, seed: int,
                       municipality: str | None = None, shares: Mapping[str, float] | None = None,
                       since: dt.date | None = None, exclude: pl.DataFrame | None = None,
                       cfg: SynthConfig | None = None, plan: pl.DataFrame | None = None) -> dict[str, Any]:
    """The 窓口・指定金融機関 収納データ (``layouts/counter_payment``) of the installments planned
    for the counter whose 収入日 is in ``(since, business_date]``. Returns a summary dict. ``plan``: the
    ``payment_plan`` of these arguments when the caller has it already (``generate``)."""
    p = _payments_cfg(cfg)
    c = p["counter"]
    if plan is None:
        plan = payment_plan(levy, seed=seed, cfg=cfg, shares=shares, exclude=exclude, municipality=municipality)
    rows = plan.filter(pl.col("channel") == "counter")
    rows = rows.with_columns(_busday(rows["paid_date"], int(c["received_lag_business_days"])).alias("received_date"))
    rows = rows.filter(_window(pl.col("received_date"), business_date, since) & (pl.col("paid_date") <= business_date))
    muni = municipality or (str(levy["municipality_code"][0]) if levy.height else _muni_cfg(None).get("municipality.code"))
    late = pl.col("paid_date") > (pl.col("due_date") + pl.duration(days=int(c["dunning_after_days"])))
    data = rows.select(
        pl.lit("2").alias("record_kind"),
        pl.lit(str(muni)).alias("municipality_code"),
        "levy_year", "target_year",
        matching_keys.ordinary_notice_number(pl.col("pay_household_id")).alias("notice_number"),
        pl.col("installment_no").cast(pl.Int64),
        pl.col("paid_amount").alias("amount"),
        pl.lit(0, pl.Int64).alias("late_fee"),   # 延滞金 is the collection side's computation [I]
        pl.when(late).then(int(c["dunning_fee"])).otherwise(0).cast(pl.Int64).alias("dunning_fee"),
        "paid_date", "received_date", "bank_code", "branch_code",
        pl.lit(str(c["payment_kind"])).alias("payment_kind"),
        "duplicate", "malformed",
    ).sort(["received_date", "paid_date", "bank_code", "branch_code", "levy_year", "notice_number", "installment_no"])
    data = data.with_columns(pl.int_range(1, data.height + 1).cast(pl.String).str.zfill(10).alias("slip_serial"))
    data = _with_duplicates(data)
    layout = fw.load_layout("counter_payment")
    header = {"record_kind": "1", "municipality_code": str(muni), "creation_date": business_date,
              "bank_code": str(c["bank_code"])}
    out = fw.write(layout, {"header": pl.DataFrame([header]), "data": data.drop("duplicate", "malformed"),
                            "trailer": pl.DataFrame([{"record_kind": "8"}])})
    bad = [i + 2 for i in np.flatnonzero(data["malformed"].to_numpy())]
    out = _corrupt(out, layout, bad, "paid_date")
    paths.write_atomic(Path(path), out)
    return _summary(Path(path), layout.id, data)


def _with_duplicates(data: pl.DataFrame) -> pl.DataFrame:
    """Each row marked ``duplicate`` is followed by an identical copy."""
    if not data.height or not data["duplicate"].any():
        return data
    idx = np.repeat(np.arange(data.height), np.where(data["duplicate"].to_numpy(), 2, 1))
    return data[idx]


def _barcodes(rows: pl.DataFrame, mcfg) -> pl.Series:
    """The 44 digits per row with jobs.common.gs1.build; 自由使用欄 by notices.cvs.free_field."""
    company = str(mcfg.get("cvs.company_code"))
    tax_code = str(mcfg.get("notices.cvs.tax_code"))
    spec = matching_keys.free_field_spec(mcfg)
    out = []
    for r in rows.iter_rows(named=True):
        items = {"tax_code": tax_code, "fy": int(r["levy_year"]), "household_id": int(r["pay_household_id"]),
                 "installment_no": int(r["installment_no"]), "revision": int(r["revision"])}
        free = matching_keys.format_free_field(spec, items)
        out.append(gs1.build(gs1.CvsBarcode(company_code=company, free_field=free, due_date=r["deadline"],
                                            amount=int(r["paid_amount"])), max_amount=gs1.FIELD_MAX_AMOUNT))
    return pl.Series("barcode", out, dtype=pl.String)


def cvs_records(levy: pl.DataFrame, *, business_date: dt.date, seed: int, municipality: str | None = None,
                shares: Mapping[str, float] | None = None, since: dt.date | None = None,
                exclude: pl.DataFrame | None = None, cfg: SynthConfig | None = None,
                plan: pl.DataFrame | None = None) -> pl.DataFrame:
    """The data records of ``write_cvs_file`` (cvs_payment data columns + ``barcode`` and the
    plan's ``channel``, ``duplicate``, ``malformed``), in file order. ``plan``: as ``write_counter_file``'s."""
    p = _payments_cfg(cfg)
    c = p["cvs"]
    mcfg = _muni_cfg(municipality)
    if plan is None:
        plan = payment_plan(levy, seed=seed, cfg=cfg, shares=shares, exclude=exclude, municipality=municipality)
    pay = plan.filter(pl.col("channel").is_in(CVS_CHANNELS) & (pl.col("paid_date") <= business_date))
    # only a payment with a record (速報, 取消 or 確報) acquired in the window gets its barcode built (a row's
    # barcode depends on that row alone; the records' 取得日 are computed again below, and filtered)
    pay = pay.with_columns(_busday(pay["paid_date"], int(c["confirm_lag_business_days"])).alias("_conf")).filter(
        _window(pl.col("paid_date") + pl.duration(days=int(c["provisional_lag_days"])), business_date, since)
        | _window(pl.col("paid_date") + pl.duration(days=int(c["cancel_lag_days"])), business_date, since)
        | _window(pl.col("_conf"), business_date, since)).drop("_conf")
    pay = pay.with_columns(_barcodes(pay, mcfg))
    confirm = _busday(pay["paid_date"], int(c["confirm_lag_business_days"])).alias("acq")
    prov = pay.with_columns(pl.lit(KIND_PROVISIONAL).alias("data_kind"),
                            (pl.col("paid_date") + pl.duration(days=int(c["provisional_lag_days"]))).alias("acq"),
                            pl.lit(None, pl.Date).alias("transfer_date"), pl.lit(None, pl.Date).alias("accounting_date"),
                            pl.lit(False).alias("duplicate"))
    cancel = pay.filter(pl.col("cancelled")).with_columns(
        pl.lit(KIND_CANCEL).alias("data_kind"),
        (pl.col("paid_date") + pl.duration(days=int(c["cancel_lag_days"]))).alias("acq"),
        pl.lit(None, pl.Date).alias("transfer_date"), pl.lit(None, pl.Date).alias("accounting_date"),
        pl.lit(False).alias("duplicate"))
    conf = pay.with_columns(confirm, pl.lit(KIND_CONFIRMED).alias("data_kind")).filter(~pl.col("cancelled"))
    conf = conf.with_columns(_busday(conf["acq"], int(c["transfer_lag_business_days"])).alias("transfer_date"),
                             pl.col("acq").alias("accounting_date"))
    cols = ["data_kind", "paid_date", "paid_time", "barcode", "store_code", "acq", "transfer_date", "accounting_date",
            "agent_code", "channel", "duplicate", "malformed"]
    recs = pl.concat([prov.select(cols), cancel.select(cols), conf.select(cols)], how="vertical_relaxed")
    recs = recs.filter(_window(pl.col("acq"), business_date, since))
    recs = recs.with_columns(pl.col("malformed") & (pl.col("data_kind") == KIND_CONFIRMED))
    recs = recs.sort(["acq", "data_kind", "paid_date", "paid_time", "barcode"])
    recs = _with_duplicates(recs.with_columns(pl.col("duplicate") & (pl.col("data_kind") == KIND_CONFIRMED)))
    b = pl.col("barcode")
    return recs.select(
        pl.lit("2").alias("record_kind"), "data_kind", "paid_date", "paid_time",
        b.str.slice(0, 2).alias("ai"), b.str.slice(2, 6).alias("company_code"), b.str.slice(8, 21).alias("free_field"),
        b.str.slice(29, 1).alias("reissue"), b.str.slice(30, 6).alias("deadline"), b.str.slice(36, 1).alias("stamp_flag"),
        b.str.slice(37, 6).cast(pl.Int64).alias("amount"), b.str.slice(43, 1).alias("check_digit"),
        pl.when(pl.col("channel") == "cvs").then(pl.col("store_code")).otherwise(None).alias("store_code"),
        pl.col("acq").alias("acquired_date"), "transfer_date", "accounting_date",
        pl.col("agent_code").str.zfill(4), "barcode", "channel", "duplicate", "malformed",
    )


def write_cvs_file(levy: pl.DataFrame, path: str | Path, *, business_date: dt.date, seed: int,
                   municipality: str | None = None, shares: Mapping[str, float] | None = None,
                   since: dt.date | None = None, exclude: pl.DataFrame | None = None,
                   cfg: SynthConfig | None = None, plan: pl.DataFrame | None = None) -> dict[str, Any]:
    """The コンビニ収納 速報・確報 file (``layouts/cvs_payment``): for every CVS / credit / app
    payment a 速報 (01), then either a 確報 (02, same barcode, store and time, with 振込予定日) or,
    for a few, a 速報取消 (03); the records whose データ取得年月日 is in ``(since, business_date]``."""
    p = _payments_cfg(cfg)
    c = p["cvs"]
    data = cvs_records(levy, business_date=business_date, seed=seed, municipality=municipality, shares=shares,
                       since=since, exclude=exclude, cfg=cfg, plan=plan)
    layout = fw.load_layout("cvs_payment")
    header = {"record_kind": "1", "creation_date": business_date, "agent_company_code": str(c["agent_company_code"]),
              "collector_code": str(c["collector_code"]), "collector_name": str(c["collector_name"])}
    out = fw.write(layout, {"header": pl.DataFrame([header]),
                            "data": data.drop("barcode", "channel", "duplicate", "malformed"),
                            "trailer": pl.DataFrame([{"record_kind": "8"}])})
    bad = [i + 2 for i in np.flatnonzero(data["malformed"].to_numpy())]
    out = _corrupt(out, layout, bad, "paid_date")
    paths.write_atomic(Path(path), out)
    s = _summary(Path(path), layout.id, data)
    s.update({k: int((data["data_kind"] == v).sum()) for k, v in
              (("provisional", KIND_PROVISIONAL), ("confirmed", KIND_CONFIRMED), ("cancelled", KIND_CANCEL))})
    return s


# --- 年金特別徴収 -----------------------------------------------------------------------------------


def pension_result_frame(levy: pl.DataFrame, *, business_date: dt.date, seed: int, since: dt.date | None = None,
                         cfg: SynthConfig | None = None, source_file: str | None = None) -> pl.DataFrame:
    """Rows of the pension result dataset (jobs/collection/README.md) for the 特別徴収 (method "2")
    installments: received_date = the ``pension.received_day`` of the month after the collection
    month (納期限) [I], kept when in ``(since, business_date]``; ``pension.stop_rate`` of them have
    no row (特別徴収 stopped). source_sha256 = SHA-256 of the rows' CSV."""
    p = _payments_cfg(cfg)["pension"]
    w = latest_levy(levy.filter((pl.col("collection_method") == "2") & (pl.col("amount") > 0)))
    rng = np.random.default_rng([int(seed), 2])
    stopped = rng.random(w.height) < float(p["stop_rate"])
    due = pl.col("due_date")
    recv = pl.date(due.dt.year() + (due.dt.month() == 12).cast(pl.Int32), due.dt.month() % 12 + 1, int(p["received_day"]))
    rows = w.with_columns(recv.alias("received_date"), pl.Series("_stopped", stopped)).filter(
        ~pl.col("_stopped") & _window(pl.col("received_date"), business_date, since))
    name = source_file or f"pension_result_{business_date:%Y%m%d}.synth"
    out = rows.select(
        pl.col("levy_year").cast(pl.Int32), "notice_number", pl.col("installment_no").cast(pl.Int32),
        pl.col("taxpayer_person_id").alias("person_id"), "payer_code", pl.col("amount").cast(pl.Int64), "received_date",
    )
    buf = io.BytesIO()
    out.write_csv(buf)
    sha = hashlib.sha256(buf.getvalue()).hexdigest()
    out = out.with_columns(pl.lit(name).alias("source_file"), pl.lit(sha).alias("source_sha256"),
                           pl.int_range(1, out.height + 1, dtype=pl.Int64).alias("record_no"))
    return out.select([pl.col(k).cast(v) for k, v in PENSION_SCHEMA.items()])


# --- 口座振替 結果 -------------------------------------------------------------------------------------


def write_debit_result_file(request_path: str | Path, result_path: str | Path, *,
                            rng: np.random.Generator | int = 0, failure_rates: Mapping[str, float] | None = None,
                            cfg: SynthConfig | None = None) -> dict[str, Any]:
    """The bank's result file (``layouts/zengin_91_result``) for a request file
    (``layouts/zengin_91_request``): the same header and data with 振替結果コード 0 except for the
    rates of ``failure_rates`` (code → rate; default ``payments.debit_result.failure_rates``); the
    trailer's 振替済 / 振替不能 counts and sums are filled by the codec."""
    gen = np.random.default_rng(rng)
    rates = dict(failure_rates if failure_rates is not None else _payments_cfg(cfg)["debit_result"]["failure_rates"])
    codes = [str(k) for k in rates]
    probs = np.array([float(rates[k]) for k in rates])
    if (probs < 0).any() or probs.sum() > 1 + 1e-9 or "0" in codes:
        raise ValueError(f"failure_rates: failure codes (not 0) with rates summing to at most 1: {rates}")
    req = fw.read(fw.load_layout("zengin_91_request"), Path(request_path))
    if req.totals["rejected"]:
        raise ValueError(f"依頼ファイルに不良レコードがあります: {request_path} ({req.totals['rejected']} 件)")
    data = req.frames["data"]
    u = gen.random(data.height)
    cum = np.cumsum(probs)
    idx = np.searchsorted(cum, u, side="right")
    result = np.where(idx < len(codes), np.array(codes + ["0"], dtype=object)[np.minimum(idx, len(codes))], "0")
    frames = dict(req.frames)
    frames["data"] = data.with_columns(pl.Series("result_code", result.astype(str)))
    layout = fw.load_layout("zengin_91_result")
    out = fw.write(layout, frames, line_end=req.line_end)
    paths.write_atomic(Path(result_path), out)
    failed = frames["data"].filter(pl.col("result_code") != "0")
    return {"file": str(result_path), "layout": layout.id, "records": data.height,
            "amount": int(data["amount"].sum() or 0), "failed": failed.height,
            "failed_amount": int(failed["amount"].sum() or 0), "bytes": Path(result_path).stat().st_size}


# --- all channels at once (the CLI) -------------------------------------------------------------------


def generate(levy_paths: Sequence[str | Path], out: str | Path, *, business_date: dt.date, seed: int,
             channels: Sequence[str] = ALL_OUTPUTS, since: dt.date | None = None,
             debit_request: str | Path | Sequence[str | Path] | None = None, municipality: str | None = None,
             cfg: SynthConfig | None = None) -> list[dict[str, Any]]:
    """Write the chosen channels' files under ``out`` (the inbox folders of
    config/common/collection.yaml: counter/, cvs/, bank/; pension/ for the dataset's Parquet)."""
    unknown = set(channels) - set(ALL_OUTPUTS)
    if unknown:
        raise ValueError(f"不明なチャネル: {sorted(unknown)} (使えるもの: {', '.join(ALL_OUTPUTS)})")
    cfg = cfg or load_config()
    levy = load_levy(levy_paths)
    out = Path(out)
    ymd = f"{business_date:%Y%m%d}"
    requests = ([debit_request] if isinstance(debit_request, (str, Path)) else list(debit_request or []))
    exclude = pl.concat([debit_keys(r) for r in requests], how="vertical").unique() if requests else None
    done = []
    kw = dict(business_date=business_date, seed=seed, municipality=municipality, since=since, exclude=exclude, cfg=cfg)
    if "counter" in channels and "cvs" in channels:  # one plan for both files (the same arguments)
        kw["plan"] = payment_plan(levy, seed=seed, cfg=cfg, exclude=exclude, municipality=municipality)
    if "counter" in channels:
        done.append(write_counter_file(levy, out / "counter" / f"COUNTER_{ymd}.dat", **kw))
    if "cvs" in channels:
        done.append(write_cvs_file(levy, out / "cvs" / f"CVS_{ymd}.dat", **kw))
    if "pension" in channels:
        frame = pension_result_frame(levy, business_date=business_date, seed=seed, since=since, cfg=cfg)
        target = out / "pension" / f"pension_result_{ymd}.parquet"
        buf = io.BytesIO()
        frame.write_parquet(buf)
        paths.write_atomic(target, buf.getvalue())
        done.append({"file": str(target), "layout": "pension_withholding_result", "records": frame.height,
                     "amount": int(frame["amount"].sum() or 0), "bytes": target.stat().st_size})
    if "debit" in channels:
        if not requests:
            raise ValueError("debit: 口座振替依頼ファイル (--debit-request) を指定してください")
        for i, req in enumerate(requests):  # one result per request file (per bank)
            name = (f"KOUFURI_KEKKA_{ymd}.dat" if len(requests) == 1
                    else f"KEKKA_{Path(req).stem}.dat")  # KOUFURI_<団体>_<bank>_<振替日> → KEKKA_KOUFURI_…
            rng = np.random.default_rng([int(seed), 3] if i == 0 else [int(seed), 3, i])
            done.append(write_debit_result_file(req, out / "bank" / name, rng=rng, cfg=cfg))
    return done


def _date(s: str) -> dt.date:
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"YYYY-MM-DD の日付ではありません: {s}") from None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="kokuho synth-payments",
                                 description="調定ファイルから合成の収納データ (窓口・コンビニ・年金特徴・口座振替結果) を生成する")
    ap.add_argument("--levy", type=Path, nargs="+", required=True, metavar="PATH", help="調定ファイル (当初・更正; 複数可)")
    ap.add_argument("--date", type=_date, required=True, help="業務日 YYYY-MM-DD (この日までの収納)")
    ap.add_argument("--since", type=_date, default=None, help="この日の翌日以後の分だけ (既定: すべて)")
    ap.add_argument("--seed", type=int, required=True, help="乱数シード (同じシード・同じ設定なら同じバイト列)")
    ap.add_argument("--out", type=Path, required=True, help="出力先フォルダ (counter/ cvs/ pension/ bank/ を作る)")
    ap.add_argument("--channels", default=",".join(c for c in ALL_OUTPUTS if c != "debit"),
                    help=f"カンマ区切り: {','.join(ALL_OUTPUTS)} (既定: debit 以外; debit は --debit-request が必要)")
    ap.add_argument("--debit-request", type=Path, nargs="+", default=None, help="口座振替依頼ファイル (全銀91): 結果ファイルを作り、その期別を窓口・コンビニから除く")
    ap.add_argument("--municipality", default=None, help="団体コード6桁 (既定: 設定の既定団体)")
    ap.add_argument("--config", type=Path, default=None, help="設定ファイル (既定: config/synth.yaml)")
    return ap


def main(argv: Sequence[str]) -> int:
    try:
        args = parser().parse_args(list(argv))
    except SystemExit as e:
        return int(e.code or 0)
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    try:
        done = generate(args.levy, args.out, business_date=args.date, seed=args.seed, channels=channels,
                        since=args.since, debit_request=args.debit_request, municipality=args.municipality,
                        cfg=load_config(args.config))
    except (ValueError, OSError, fw.FileRefused, gs1.BarcodeError) as e:
        print(f"synth-payments: 生成できませんでした: {e}", file=sys.stderr)
        return 8
    for d in done:
        print(f"{d['file']}  {d['layout']}  {d['records']:,} 件  {d['amount']:,} 円  {d['bytes']:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
