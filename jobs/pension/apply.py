"""年金特徴 結果反映 (KB520): the pension insurers' answers applied to the year's 特別徴収.

    TK310 依頼結果反映        tokucho_request_result (Z23, 通知内容 02/32) → pension_request_stops
    TK315 追加依頼受理反映    tokucho_request_result (Z23, 通知内容 32)    → pension_request_starts
    TK320 特別徴収結果反映    tokucho_result (Z24, 通知内容 22)          → pension_withholding_result
                                                                         + pension_result_stops
    TK325 各種異動結果反映    tokucho_change (Z2A, 通知内容 42/62)       → pension_change_stops
                                                                         + pension_change_results
    TK330 特徴中止期割変更    the stops and the starts → assessment, installments, corrections,
                              change_notices (更正)
    TK340 特徴中止調定ファイル作成   = FK220 (jobs.assessment.steps.correction_levy_file) on TK330's 更正
    TK350 特徴中止変更通知書作成     = FK230 (jobs.assessment.notice_steps.change_notices) on TK330's 更正

Posting has ONE path: TK320 only writes ``pension_withholding_result`` (the columns SN235 reads,
jobs/collection/channels.py ``pension``, plus the file's trailer figures in the generation's
totals ``inputs``); SN235 年金特徴収納消込 in KB400 posts it (the same morning: KB520 runs at 08:00,
KB400 at 08:30) and refuses (RC 8) a file whose rows plus TK320's rejects do not reconcile to the
yen with the trailer (``trailer_of_input``). TK340's 調定 file is registered by SN100 in the same
KB400 run, before SN235.

Which households stop (``tokucho_apply.*`` in config/common/pension_apply.yaml):
- Z23: a request the insurer did not accept (処理結果 not in ``request_result.accepted_results``):
  every 特別徴収 期 due after the file's 作成年月日 goes to 普通徴収.
- Z24: 各種区分 01 失権 / 02 差止 / 03 支払年金額不足 / 05 他制度による中止 (``result.stop``): the
  pension month of the record and the later ones go to 普通徴収.
- Z2A 42 (資格喪失等処理結果): the insurer accepted the city's 41 (処理結果 in
  ``request_result.accepted_results``): the pension months the 41 still reaches (sent on a day of an
  even month: from the next pension month; of an odd month: one later, ``pension_request.change.
  effect_lag_months``) go to 普通徴収. FK210 has usually stopped them already (a 税額 decrease:
  ``withholding.midyear_change.decrease: stop``); TK330 then finds nothing left (``already``).
- Z2A 62 (仮徴収額変更処理結果), accepted: the insurer withholds the amounts of the 61 from its
  first month; they are kept in ``pension_change_results`` and compared with the current 特別徴収
  levies of those months (TK230 sent the levies, so they agree unless the levies changed since:
  then RC 4, KKB554W and a row of the error list per month).
- A 42 / 62 not accepted, or one answering no 41 / 61 the city sent: RC 4, KKB552W / KKB553W and the
  error list; nothing changes (the insurer goes on withholding what it did before).
Which households start (TK315): a 32 (依頼処理結果 of a 追加依頼) accepted for a 31 TK220 sent with
各種区分 01: from the 31's 各種年月日 (the start month, FORMATS.md §2.5: 捕捉 8月 → 翌2月 …) the
household's pension months of the 年度 get the 31's 金額1 each, as 特別徴収 期; the same yen come off
the household's open 普通徴収 期 from the start month on (nothing paid on them), which are split again
(FK's 期割 rule: 1,000円 units, the remainder on the first); when those hold less than the 31 asked,
every open 普通徴収 期 with nothing paid is taken (the same split). When even those hold less, the
特別徴収 gets only what they hold (the last pension months first lose it; KKB558W): what
the insurer then withholds above the levy is 返納, as for a late stop. A start month after the 年度
(capture in October or later) changes nothing this year (counted ``later``). A 32 for a 31 of 各種区分
03, or refused, changes nothing (the household stays 普通徴収). TK330 applies starts and stops in the
same 更正 (one generation per business day), so TK340 / TK350 print the 調定 and the 税額変更通知書
(変更事由 ``tokucho_apply.start_reason``) as for a stop. TK320 then matches a Z24 naming the person.

The moved amount is spread over the open 普通徴収 期 (new 納期限; the 異動賦課 rule of
reassessment.py: open 期 with nothing paid, 1,000円 units, or one 随時期); the annual tax is
unchanged, so the 更正 has 増減額 0 and a 税額変更通知書 with the new 期別 and 納付書.

返納: a Z24 amount withheld for a pension month whose 特別徴収 levy was already stopped (a death
reported late, a stop the insurer applied too late) is posted all the same — the insurer remitted
it — and is then the installment's 過誤納, which SN300 過誤納整理 offsets or refunds (the existing
path). TK320 counts and names them (KKB546W, column ``refund``).

Files are applied once: a file (by SHA-256) in an earlier generation of this step's output is
skipped, so a rerun of the same day rewrites the same generation with the same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from jobs.assessment import installments as inst
from jobs.assessment import levy_file, notice_steps
from jobs.assessment import reassessment as reass
from jobs.assessment import steps as asteps
from jobs.assessment import withholding as wh
from jobs.common import datasets, errorlist
from jobs.common.step import StepContext, StepError

from . import changes as ch
from . import requests as rq
from .request_steps import ADDITION_DATASET, CHANGE_DATASET, STARTS_DATASET, sent, started

REQUEST_RESULT = "tokucho_request_result"
RESULT = "tokucho_result"
REQUEST_STOPS = "pension_request_stops"
RESULT_STOPS = "pension_result_stops"
WITHHOLDING_RESULT = "pension_withholding_result"
CHANGE = "tokucho_change"
CHANGE_STOPS = "pension_change_stops"
CHANGE_RESULTS = "pension_change_results"
REQUEST_STARTS = STARTS_DATASET
ADDITION_ANSWER = "32"
#: 各種異動 sent → its 処理結果 (FORMATS.md §2.3)
ANSWER_OF = {rq.NOTICE_LOSS: "42", rq.NOTICE_PROVISIONAL_CHANGE: "62"}
#: the datasets TK330 writes; another job's generation of the same business day is a 2nd 更正
CORRECTION_DATASETS = ("assessment", "installments", "corrections", "change_notices")
STOP_JOB = "TK330"

CHANGE_RESULT_SCHEMA: dict[str, pl.DataType] = {
    "fy": pl.Int32(), "household_id": pl.String(), "person_id": pl.String(), "payer_code": pl.String(),
    "basic_pension_number": pl.String(), "pension_code": pl.String(), "notice_code": pl.String(),
    "category": pl.String(), "result": pl.String(), "accepted": pl.Boolean(), "sent_on": pl.Date(),
    "event_date": pl.Date(), "pension_month": pl.Int32(), "amount": pl.Int64(), "levied": pl.Int64(),
    "source_file": pl.String(), "source_sha256": pl.String(), "record_no": pl.Int64(),
}
STOP_SCHEMA: dict[str, pl.DataType] = {
    "fy": pl.Int32(), "household_id": pl.String(), "taxpayer_person_id": pl.String(),
    "basic_pension_number": pl.String(), "payer_code": pl.String(), "notice_code": pl.String(),
    "cause": pl.String(), "cause_label": pl.String(), "stop_from": pl.Date(),
    "source_file": pl.String(), "source_sha256": pl.String(), "record_no": pl.Int64(),
}
START_SCHEMA: dict[str, pl.DataType] = {
    "fy": pl.Int32(), "household_id": pl.String(), "taxpayer_person_id": pl.String(),
    "basic_pension_number": pl.String(), "payer_code": pl.String(), "pension_code": pl.String(),
    "notice_code": pl.String(), "start_from": pl.Date(), "amount": pl.Int64(), "sent_on": pl.Date(),
    "source_file": pl.String(), "source_sha256": pl.String(), "record_no": pl.Int64(),
}
#: pension_withholding_result: what SN235 reads (channels.pension) + what the operator reads
RESULT_SCHEMA: dict[str, pl.DataType] = {
    "levy_year": pl.Int32(), "notice_number": pl.String(), "installment_no": pl.Int32(),
    "person_id": pl.String(), "payer_code": pl.String(), "amount": pl.Int64(), "received_date": pl.Date(),
    "source_file": pl.String(), "source_sha256": pl.String(), "record_no": pl.Int64(),
    "household_id": pl.String(), "pension_month": pl.Int32(), "category": pl.String(),
    "levied": pl.Int64(), "refund": pl.Boolean(),
}


@dataclass(frozen=True)
class ApplyRules:
    accepted_results: frozenset[str]
    normal: dict[str, str]
    stop: dict[str, str]
    amount_field: str
    change_reason: str
    start_reason: str

    @classmethod
    def from_config(cls, cfg) -> ApplyRules:
        g = cfg.get
        return cls(frozenset(str(x) for x in g("tokucho_apply.request_result.accepted_results")),
                   {str(k): str(v) for k, v in g("tokucho_apply.result.normal").items()},
                   {str(k): str(v) for k, v in g("tokucho_apply.result.stop").items()},
                   str(g("tokucho_apply.result.amount_field")), str(g("tokucho_apply.change_reason")),
                   str(g("tokucho_apply.start_reason")))


# --- inputs: the received files not yet applied ---------------------------------------------------


def _applied(ctx: StepContext, dataset: str) -> set[str]:
    """SHA-256 of the files an earlier generation of ``dataset`` (this step's output) applied."""
    out: set[str] = set()
    for g in datasets.generations(dataset, municipality=ctx.municipality):
        if g < ctx.generation:
            out |= {i["sha256"] for i in datasets.read_totals(dataset, g).get("inputs") or []}
    return out


def _unapplied(ctx: StepContext, source: str, output: str) -> tuple[pl.DataFrame, pl.DataFrame, list[dict]]:
    """(data records, trailer records, files) of ``source`` up to this generation whose file
    ``output`` has not applied yet. The intake writes data records (レコード区分 2) to ``source``
    and trailers either there (レコード区分 3) or to ``<source>_trailer``."""
    done = _applied(ctx, output)
    parts, trailers = [], []
    for g in datasets.generations(source, municipality=ctx.municipality):
        if g > ctx.generation:
            continue
        frame = datasets.read(source, g)
        if frame.height == 0 or "source_sha256" not in frame.columns:
            continue
        frame = frame.filter(~pl.col("source_sha256").is_in(list(done)))
        if "record_kind" in frame.columns:
            trailers.append(frame.filter(pl.col("record_kind") == "3"))
            frame = frame.filter(pl.col("record_kind") == "2")
        parts.append(frame)
    tds = f"{source}_trailer"
    for g in datasets.generations(tds, municipality=ctx.municipality):
        if g <= ctx.generation:
            t = datasets.read(tds, g)
            trailers.append(t.filter(~pl.col("source_sha256").is_in(list(done))))
    data = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    if data.height:
        data = data.unique(subset=["source_sha256", "record_no"], keep="last").sort(["source_file", "record_no"])
    trailer = pl.concat([t for t in trailers if t.height], how="diagonal_relaxed") if any(
        t.height for t in trailers) else pl.DataFrame()
    if trailer.height:
        trailer = trailer.unique(subset=["source_sha256", "record_no"], keep="last")
    names = {}
    for f in (data, trailer):
        if f.height:
            names.update(dict(zip(f["source_sha256"].to_list(), f["source_file"].to_list(), strict=True)))
    files = [{"name": n, "sha256": s} for s, n in sorted(names.items(), key=lambda kv: (kv[1], kv[0]))]
    if files:
        ctx.message("KKB540I", dataset=source, files=len(files), names=", ".join(f["name"] for f in files))
    else:
        ctx.message("KKB541I", dataset=source)
    return data, trailer, files


def _check_trailer(ctx: StepContext, file: dict, data: pl.DataFrame, trailer: pl.DataFrame,
                   amount_field: str) -> dict:
    """The file's data records against its trailers (合計件数, 合計金額 金額1), or RC 8."""
    t = trailer.filter(pl.col("source_sha256") == file["sha256"]) if trailer.height else trailer
    if t.height == 0:
        raise StepError.of("KKB544E", "missing", file=file["name"])
    d = data.filter(pl.col("source_sha256") == file["sha256"]) if data.height else data
    count = int(t["total_count"].cast(pl.Int64).sum())
    if count != d.height:
        raise StepError.of("KKB544E", file=file["name"], field="合計件数", expected=count, got=d.height)
    total_field = "total_" + amount_field
    amount = int(t[total_field].cast(pl.Int64).fill_null(0).sum()) if total_field in t.columns else 0
    got = int(d[amount_field].cast(pl.Int64).fill_null(0).sum()) if d.height else 0
    if amount != got:
        raise StepError.of("KKB544E", file=file["name"], field="合計金額 金額1", expected=amount, got=got)
    return {"trailer_count": count, "trailer_amount": amount}


def _households(ctx: StepContext, fy: int, *, with_started: bool = True) -> pl.DataFrame:
    """The withheld households of ``fy`` by 基礎年金番号 + 特別徴収義務者コード (FK120's judgment,
    and the accepted 追加依頼 TK315 started)."""
    gen = asteps.latest(ctx, "withholding", fy=fy)
    if gen is None:
        raise StepError.of("KKB301E", dataset="withholding", fy=fy, job="FK120 特別徴収判定")
    w = datasets.read("withholding", gen)
    cols = [pl.col("basic_pension_number").cast(pl.String), pl.col("payer_code").cast(pl.String),
            pl.col("household_id").cast(pl.String), pl.col("taxpayer_person_id").cast(pl.String)]
    parts = [w.filter(pl.col("basic_pension_number").is_not_null()).select(cols)]
    # the accepted 追加依頼 (31) TK315 switched to 特別徴収 (FK120 judged them before the capture)
    st = started(ctx, fy) if with_started else pl.DataFrame()
    if st.height:
        parts.append(st.filter(pl.col("fy") == fy).select(cols))
    return pl.concat(parts, how="vertical").unique(subset=["basic_pension_number", "payer_code"], keep="first",
                                                   maintain_order=True)


def _reject(ctx: StepContext, frame: pl.DataFrame, reason: str, field: str = "basic_pension_number",
            label: str = "基礎年金番号") -> pl.DataFrame:
    return frame.select(
        pl.col("source_file").alias("file_name"), pl.col("record_no").cast(pl.Int64),
        pl.lit("data").alias("record_type"), pl.lit(field).alias("field"), pl.lit(label).alias("field_label"),
        pl.lit(reason).alias("reason"))


# --- TK310 依頼結果反映 ------------------------------------------------------------------------------


def request_results(ctx: StepContext) -> int | None:
    rules = ApplyRules.from_config(ctx.config)
    data, trailer, files = _unapplied(ctx, REQUEST_RESULT, REQUEST_STOPS)
    stops, rejects, inputs = [], [], []
    households = _households(ctx, ctx.fy) if data.height else None
    for f in files:
        d = data.filter(pl.col("source_sha256") == f["sha256"]) if data.height else data
        figs = _check_trailer(ctx, f, d, trailer, "amount1")
        if d.height == 0:
            inputs.append({**f, **figs, "records": 0, "refused": 0, "unmatched": 0})
            continue
        refused_all = d.filter(~pl.col("result").cast(pl.String).fill_null("").is_in(list(rules.accepted_results)))
        # a refused 追加依頼 (32) leaves a household on 普通徴収: nothing to stop (TK315 counts it)
        refused = refused_all.filter(pl.col("notice_code").cast(pl.String) != ADDITION_ANSWER)
        j = refused.with_columns(pl.col("basic_pension_number").cast(pl.String), pl.col("payer_code").cast(pl.String)
                                 ).join(households, on=["basic_pension_number", "payer_code"], how="left")
        bad = j.filter(pl.col("household_id").is_null())
        ok = j.filter(pl.col("household_id").is_not_null())
        if bad.height:
            rejects.append(_reject(ctx, bad, "依頼処理結果 (不受理) の基礎年金番号が特別徴収の世帯にありません"))
            ctx.message("KKB542W", file=f["name"], records=bad.height)
        stops.append(ok.select(
            pl.lit(ctx.fy, dtype=pl.Int32).alias("fy"), "household_id", "taxpayer_person_id",
            "basic_pension_number", "payer_code", pl.col("notice_code").cast(pl.String),
            pl.lit("request_refused").alias("cause"),
            pl.format("依頼不受理 (処理結果 {})", pl.col("result").cast(pl.String).fill_null("")).alias("cause_label"),
            # every 特別徴収 期 due after the file's 作成年月日
            (pl.col("created_on").cast(pl.Date) + pl.duration(days=1)).alias("stop_from"),
            "source_file", "source_sha256", pl.col("record_no").cast(pl.Int64)))
        ctx.totals.count("request_result", label="依頼処理結果", read=d.height, accepted=d.height - bad.height,
                         rejected=bad.height)
        ctx.message("KKB543I", file=f["name"], records=d.height, accepted=d.height - refused_all.height,
                    refused=refused_all.height)
        inputs.append({**f, **figs, "records": d.height, "refused": refused.height, "unmatched": bad.height})
    ctx.reject(pl.concat(rejects, how="vertical") if rejects else errorlist.empty())
    out = _stop_frame(stops)
    ctx.write_dataset(REQUEST_STOPS, datasets.sort_by_key(out, ("household_id", "source_sha256", "record_no")),
                      totals={"inputs": inputs})
    return None


# --- TK315 追加依頼受理反映 ----------------------------------------------------------------------------


def _sent_additions(ctx: StepContext) -> pl.DataFrame:
    """The 31 records TK220 sent (this 年度 and the one before), the last one per pension."""
    parts = [f for f in (sent(ctx, ADDITION_DATASET, fy=ctx.fy - 1, before=False),
                         sent(ctx, ADDITION_DATASET, before=False)) if f.height]
    schema = {**{k: pl.String for k in rq.KEY}, "household_id": pl.String, "person_id": pl.String,
              "sent_category": pl.String, "sent_event_date": pl.Date, "sent_amount1": pl.Int64, "sent_on": pl.Date}
    if not parts:
        return pl.DataFrame(schema=schema)
    f = pl.concat(parts, how="diagonal_relaxed").filter(pl.col("notice_code") == rq.NOTICE_ADDITION)
    f = f.sort(["sent_on", "generation"]).unique(subset=list(rq.KEY), keep="last", maintain_order=True)
    return f.select(*[pl.col(k).cast(pl.String) for k in rq.KEY], pl.col("household_id").cast(pl.String),
                    pl.col("person_id").cast(pl.String), pl.col("category").cast(pl.String).alias("sent_category"),
                    pl.col("event_date").cast(pl.Date).alias("sent_event_date"),
                    pl.col("amount1").cast(pl.Int64).alias("sent_amount1"), pl.col("sent_on").cast(pl.Date))


def addition_results(ctx: StepContext) -> int | None:
    """TK315: the accepted 32 of a 31 (各種区分 01) → ``pension_request_starts`` (TK330 applies them)."""
    rules = ApplyRules.from_config(ctx.config)
    data, trailer, files = _unapplied(ctx, REQUEST_RESULT, REQUEST_STARTS)
    sent31 = _sent_additions(ctx) if data.height else None
    starts, rejects, inputs = [], [], []
    n_read = n_started = n_unmatched = 0
    for f in files:
        d = data.filter(pl.col("source_sha256") == f["sha256"]) if data.height else data
        figs = _check_trailer(ctx, f, d, trailer, "amount1")
        if d.height:
            d = d.filter(pl.col("notice_code").cast(pl.String) == ADDITION_ANSWER)
        if d.height == 0:
            inputs.append({**f, **figs, "records": 0, "started": 0, "unmatched": 0})
            continue
        d = d.with_columns(*[pl.col(k).cast(pl.String) for k in rq.KEY],
                           pl.col("result").cast(pl.String).fill_null(""), pl.col("created_on").cast(pl.Date))
        j = d.join(sent31, on=list(rq.KEY), how="left").with_columns(
            (pl.col("sent_on").is_not_null() & (pl.col("sent_on") <= pl.col("created_on"))).alias("_valid"))
        unmatched = j.filter(~pl.col("_valid"))
        j = j.filter(pl.col("_valid"))
        refused = j.filter(~pl.col("result").is_in(list(rules.accepted_results)))
        accepted = j.filter(pl.col("result").is_in(list(rules.accepted_results)))
        target = accepted.filter((pl.col("sent_category") == rq.CATEGORY_TARGET) & pl.col("household_id").is_not_null()
                                 & pl.col("sent_event_date").is_not_null() & (pl.col("sent_amount1") > 0))
        non_target = accepted.height - target.height
        fys = [ctx.calendar.fiscal_year(x) for x in target["sent_event_date"].to_list()]
        target = target.with_columns(pl.Series("_fy", fys, dtype=pl.Int32))
        later = target.filter(pl.col("_fy") > ctx.fy)
        now = target.filter(pl.col("_fy") <= ctx.fy)
        if unmatched.height:
            rejects.append(_reject(ctx, unmatched, "追加依頼処理結果 (32) に対応する送信済みの追加依頼 (31) がありません"))
            ctx.message("KKB556W", file=f["name"], records=unmatched.height)
        starts.append(now.select(
            pl.col("_fy").alias("fy"), "household_id", pl.col("person_id").alias("taxpayer_person_id"),
            "basic_pension_number", "payer_code", "pension_code", pl.col("notice_code").cast(pl.String),
            pl.col("sent_event_date").alias("start_from"), pl.col("sent_amount1").alias("amount"), "sent_on",
            "source_file", "source_sha256", pl.col("record_no").cast(pl.Int64)))
        ctx.message("KKB555I", file=f["name"], records=d.height, started=now.height, later=later.height,
                    non_targets=non_target, refused=refused.height)
        n_read += d.height
        n_started += now.height
        n_unmatched += unmatched.height
        inputs.append({**f, **figs, "records": d.height, "started": now.height, "later": later.height,
                       "non_targets": non_target, "refused": refused.height, "unmatched": unmatched.height})
    ctx.totals.count("addition_result", label="追加依頼処理結果", read=n_read, accepted=n_read - n_unmatched,
                     rejected=n_unmatched)
    ctx.totals.add_figure("started", n_started, label="特別徴収開始")
    ctx.reject(pl.concat(rejects, how="vertical") if rejects else errorlist.empty())
    parts = [p.select([pl.col(c).cast(t) for c, t in START_SCHEMA.items()]) for p in starts if p.height]
    out = pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=START_SCHEMA)
    ctx.write_dataset(REQUEST_STARTS, datasets.sort_by_key(out, ("household_id", "source_sha256", "record_no")),
                      totals={"inputs": inputs})
    return None


def _stop_frame(parts: list[pl.DataFrame]) -> pl.DataFrame:
    parts = [p.select([pl.col(c).cast(t) for c, t in STOP_SCHEMA.items()]) for p in parts if p.height]
    return pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=STOP_SCHEMA)


# --- TK320 特別徴収結果反映 --------------------------------------------------------------------------


def _pension_month(created: dt.date, event: dt.date | None, months: tuple[int, ...]) -> dt.date:
    """The pension payment month a Z24 record reports: its 各種年月日 when that is in a pension
    month, else the pension month before the file's month (Z24 comes in the odd month after it)."""
    if event is not None and event.month in months:
        return event.replace(day=1)
    d = created.replace(day=1)
    for _ in range(12):
        d = (d - dt.timedelta(days=1)).replace(day=1)
        if d.month in months:
            return d
    raise ValueError(f"no pension month before {created}")


def withholding_results(ctx: StepContext) -> int | None:
    rules = ApplyRules.from_config(ctx.config)
    wrules = wh.WithholdingRules.from_config(ctx.config)
    field = rules.amount_field
    data, trailer, files = _unapplied(ctx, RESULT, WITHHOLDING_RESULT)
    results, stops, rejects, inputs = [], [], [], []
    cache: dict[int, tuple[pl.DataFrame, pl.DataFrame]] = {}
    refund_n = refund_amount = deferred_n = deferred_amount = 0
    for f in files:
        d = data.filter(pl.col("source_sha256") == f["sha256"]) if data.height else data
        figs = _check_trailer(ctx, f, d, trailer, field)
        if d.height == 0:
            inputs.append({**f, **figs, "records": 0, "withheld": 0, "withheld_amount": 0, "not_withheld": 0,
                           "rejected": 0, "rejected_amount": 0})
            continue
        d = d.with_columns(pl.col(field).cast(pl.Int64).fill_null(0).alias("_amount"),
                           pl.col("category").cast(pl.String).fill_null("").alias("_cat"))
        months = [_pension_month(c, e, wrules.pension_months) for c, e in
                  zip(d["created_on"].to_list(), (d["event_date"].to_list() if "event_date" in d.columns
                                                   else [None] * d.height), strict=True)]
        d = d.with_columns(pl.Series("_pm", months, dtype=pl.Date))
        d = d.with_columns(pl.col("_pm").map_elements(ctx.calendar.fiscal_year, return_dtype=pl.Int32).alias("_fy"))
        # a 仮徴収 result of a year before its FK120 (April, June of the next year: its 当初賦課 is in July)
        # has neither households nor levies yet: the file stays unapplied (not in inputs) and is applied
        # by the first KB520 after that judgment (RC 4, KKB559W; never counted as 返納 or unmatched)
        early = sorted(int(y) for y in d["_fy"].unique().to_list() if asteps.latest(ctx, "withholding", fy=int(y)) is None)
        if early:
            amount = int(d["_amount"].sum() or 0)
            ctx.message("KKB559W", file=f["name"], fy="・".join(str(y) for y in early), records=d.height, amount=amount)
            deferred_n += d.height
            deferred_amount += amount
            continue
        matched_parts = []
        for (fy,), part in d.group_by("_fy", maintain_order=True):
            if int(fy) not in cache:
                cache[int(fy)] = (_households(ctx, int(fy)), _levies(ctx, int(fy)))
            hh, lev = cache[int(fy)]
            matched_parts.append(part.with_columns(pl.col("basic_pension_number").cast(pl.String),
                                                   pl.col("payer_code").cast(pl.String))
                                 .join(hh, on=["basic_pension_number", "payer_code"], how="left"))
        j = pl.concat(matched_parts, how="vertical")
        known = set(rules.normal) | set(rules.stop)
        bad_cat = j.filter(~pl.col("_cat").is_in(list(known)))
        unmatched = j.filter(pl.col("_cat").is_in(list(known)) & pl.col("household_id").is_null())
        ok = j.filter(pl.col("_cat").is_in(list(known)) & pl.col("household_id").is_not_null())
        if bad_cat.height:
            rejects.append(_reject(ctx, bad_cat, f"各種区分が不明です (正常 {', '.join(rules.normal)}; "
                                                 f"中止 {', '.join(rules.stop)})", "category", "各種区分"))
        if unmatched.height:
            rejects.append(_reject(ctx, unmatched, "特別徴収結果の基礎年金番号が特別徴収の世帯にありません"))
        if bad_cat.height or unmatched.height:
            ctx.message("KKB542W", file=f["name"], records=bad_cat.height + unmatched.height)
        ok = ok.with_columns(
            pl.col("_pm").dt.month().cast(pl.Int32).alias("pension_month"),
            pl.col("_pm").dt.month().map_elements(wrules.installment_no, return_dtype=pl.Int32).alias("installment_no"))
        # the levy of that 特別徴収 期 now: less than withheld → 返納 (過誤納, SN300)
        lev_all = pl.concat([cache[k][1] for k in sorted(cache)], how="vertical")
        ok = ok.join(lev_all, left_on=["_fy", "household_id", "installment_no"],
                     right_on=["fy", "household_id", "installment_no"], how="left")
        paid = ok.filter(pl.col("_amount") > 0)
        paid = paid.with_columns(pl.col("levied").fill_null(0),
                                 (pl.col("_amount") > pl.col("levied").fill_null(0)).alias("refund"))
        results.append(paid.select(
            pl.col("_fy").cast(pl.Int32).alias("levy_year"),
            levy_file.notice_number(pl.lit(inst.WITHHOLDING), pl.col("household_id")).alias("notice_number"),
            "installment_no", pl.col("taxpayer_person_id").alias("person_id"), "payer_code",
            pl.col("_amount").alias("amount"), pl.col("created_on").cast(pl.Date).alias("received_date"),
            "source_file", "source_sha256", pl.col("record_no").cast(pl.Int64), "household_id", "pension_month",
            pl.col("_cat").alias("category"), "levied", "refund"))
        st = ok.filter(pl.col("_cat").is_in(list(rules.stop)))
        stops.append(st.select(
            pl.col("_fy").cast(pl.Int32).alias("fy"), "household_id", "taxpayer_person_id", "basic_pension_number",
            "payer_code", pl.col("notice_code").cast(pl.String),
            pl.col("_cat").replace_strict({k: f"result_{k}" for k in rules.stop}, default=None).alias("cause"),
            pl.col("_cat").replace_strict(rules.stop, default=None).alias("cause_label"),
            pl.col("_pm").alias("stop_from"), "source_file", "source_sha256", pl.col("record_no").cast(pl.Int64)))
        refunds = paid.filter(pl.col("refund"))
        refund_n += refunds.height
        refund_amount += int((refunds["_amount"] - refunds["levied"]).sum() or 0)
        rej_amount = int(bad_cat["_amount"].sum() or 0) + int(unmatched["_amount"].sum() or 0)
        ctx.totals.count("result", label="特別徴収結果", read=d.height, accepted=ok.height,
                         rejected=bad_cat.height + unmatched.height)
        ctx.message("KKB545I", file=f["name"], records=d.height, withheld=paid.height,
                    amount=int(paid["_amount"].sum() or 0), stopped=st.height,
                    over75=ok.filter(pl.col("_cat") == "10").height)
        inputs.append({**f, **figs, "records": d.height, "withheld": paid.height,
                       "withheld_amount": int(paid["_amount"].sum() or 0),
                       "not_withheld": ok.height - paid.height, "stopped": st.height,
                       "rejected": bad_cat.height + unmatched.height, "rejected_amount": rej_amount})
    if refund_n:
        ctx.message("KKB546W", records=refund_n, amount=refund_amount)
    ctx.reject(pl.concat(rejects, how="vertical") if rejects else errorlist.empty())
    res = (pl.concat([r.select([pl.col(c).cast(t) for c, t in RESULT_SCHEMA.items()]) for r in results],
                     how="vertical") if results else pl.DataFrame(schema=RESULT_SCHEMA))
    total = int(res["amount"].sum() or 0)
    ctx.totals.add_money("withheld", total, label="特別徴収額 (消込データ)")
    ctx.totals.add_money("refund", refund_amount, label="返納 (過誤納)")
    ctx.totals.add_money("trailer", sum(i["trailer_amount"] for i in inputs), label="トレイラ合計 金額1")
    ctx.totals.add_money("rejected", sum(i["rejected_amount"] for i in inputs), label="不照合")
    if deferred_n:
        ctx.totals.add_figure("deferred", deferred_n, label="反映保留 (FK120 前の仮徴収結果)")
        ctx.totals.add_money("deferred", deferred_amount, label="反映保留額")
    ctx.write_dataset(WITHHOLDING_RESULT, datasets.sort_by_key(res, ("source_file", "source_sha256", "record_no")),
                      totals={"inputs": inputs, "money": {"total": total}})
    ctx.write_dataset(RESULT_STOPS, datasets.sort_by_key(_stop_frame(stops), ("household_id", "source_sha256",
                                                                             "record_no")),
                      totals={"inputs": inputs})
    return None


# --- TK325 各種異動結果反映 ------------------------------------------------------------------------


def _sent_changes(ctx: StepContext) -> pl.DataFrame:
    """The 41 / 61 records TK230 sent (this 年度 and the one before), with ``answer`` = the 通知内容 of
    their 処理結果 and ``sent_on``."""
    parts = [f for f in (sent(ctx, CHANGE_DATASET, fy=ctx.fy - 1, before=False),
                         sent(ctx, CHANGE_DATASET, before=False)) if f.height]
    if not parts:
        return pl.DataFrame(schema={**{k: pl.String for k in rq.KEY}, "answer": pl.String, "sent_on": pl.Date,
                                    "household_id": pl.String, "person_id": pl.String, "sent_category": pl.String,
                                    "sent_event_date": pl.Date, "sent_amount1": pl.Int64,
                                    "sent_amount2": pl.Int64, "sent_amount3": pl.Int64})
    f = pl.concat(parts, how="diagonal_relaxed").filter(pl.col("notice_code").is_in(list(ANSWER_OF)))
    return f.select(*[pl.col(k).cast(pl.String) for k in rq.KEY],
                    pl.col("notice_code").replace_strict(ANSWER_OF).alias("answer"),
                    pl.col("sent_on").cast(pl.Date), pl.col("household_id").cast(pl.String),
                    pl.col("person_id").cast(pl.String), pl.col("category").cast(pl.String).alias("sent_category"),
                    pl.col("event_date").cast(pl.Date).alias("sent_event_date"),
                    *[pl.col(f"amount{i}").cast(pl.Int64).alias(f"sent_amount{i}") for i in (1, 2, 3)])


def _first_month_reached(sent_on: dt.date, fy: int, fy_start: int, wrules: wh.WithholdingRules,
                         rules: rq.RequestRules) -> dt.date | None:
    """The first pension month of ``fy`` a 41 sent on ``sent_on`` stops (None: none left)."""
    months = ch.effective_months(sent_on, fy, fy_start, wrules.pension_months, rules.lag_even, rules.lag_odd)
    if not months:
        return None
    return min(dt.date(inst.fiscal_month_year(fy, m, fy_start), m, 1) for m in months)


def change_results(ctx: StepContext) -> int | None:
    rules = ApplyRules.from_config(ctx.config)
    rrules = rq.RequestRules.from_config(ctx.config)
    wrules = wh.WithholdingRules.from_config(ctx.config)
    fy_start = ctx.calendar.fiscal_year_start[0]
    data, trailer, files = _unapplied(ctx, CHANGE, CHANGE_STOPS)
    sent_recs = _sent_changes(ctx) if data.height else None
    stops, results, rejects, inputs = [], [], [], []
    levies: dict[int, pl.DataFrame] = {}
    refused_n = unmatched_n = differ_n = 0
    for f in files:
        d = data.filter(pl.col("source_sha256") == f["sha256"]) if data.height else data
        figs = _check_trailer(ctx, f, d, trailer, "amount1")
        if d.height == 0:
            inputs.append({**f, **figs, "records": 0, "stops": 0, "changes": 0, "refused": 0, "unmatched": 0})
            continue
        d = d.with_columns(*[pl.col(k).cast(pl.String) for k in rq.KEY], pl.col("notice_code").cast(pl.String),
                           pl.col("created_on").cast(pl.Date), pl.col("result").cast(pl.String).fill_null(""),
                           pl.col("category").cast(pl.String))
        # the 41 / 61 each answer replies to: the last one of its pension sent by the answer's 作成年月日
        j = d.join(sent_recs, left_on=[*rq.KEY, "notice_code"], right_on=[*rq.KEY, "answer"], how="left")
        j = j.with_columns((pl.col("sent_on").is_not_null() & (pl.col("sent_on") <= pl.col("created_on")))
                           .alias("_valid"))
        j = j.sort(["_valid", "sent_on"], nulls_last=False).unique(
            subset=["source_sha256", "record_no"], keep="last").sort("record_no")
        j = j.with_columns(pl.when(pl.col("_valid")).then(pl.col("household_id")).otherwise(None).alias("household_id"))
        unmatched = j.filter(pl.col("household_id").is_null())
        matched = j.filter(pl.col("household_id").is_not_null())
        refused = matched.filter(~pl.col("result").is_in(list(rules.accepted_results)))
        ok = matched.filter(pl.col("result").is_in(list(rules.accepted_results)))
        if unmatched.height:
            rejects.append(_reject(ctx, unmatched, "各種異動処理結果に対応する送信済みの各種異動 (41/61) がありません"))
            ctx.message("KKB553W", file=f["name"], records=unmatched.height)
        if refused.height:
            rejects.append(refused.select(
                pl.col("source_file").alias("file_name"), pl.col("record_no").cast(pl.Int64),
                pl.lit("data").alias("record_type"), pl.lit("result").alias("field"),
                pl.lit("処理結果").alias("field_label"),
                pl.format("年金保険者が各種異動 ({}) を受理しませんでした (処理結果 {}, 基礎年金番号 {}, 世帯 {}): "
                          "特別徴収は変わりません", pl.col("notice_code").replace_strict(
                              {v: k for k, v in ANSWER_OF.items()}), "result", "basic_pension_number",
                          "household_id").alias("reason")))
            ctx.message("KKB552W", file=f["name"], records=refused.height,
                        households=", ".join(sorted(set(refused["household_id"].to_list()))[:10]))
        refused_n += refused.height
        unmatched_n += unmatched.height
        # 42 accepted: the months the 41 reaches → 普通徴収 (TK330)
        loss = ok.filter(pl.col("notice_code") == ANSWER_OF[rq.NOTICE_LOSS])
        stop_from = [_first_month_reached(s, ctx.calendar.fiscal_year(s), fy_start, wrules, rrules)
                     for s in loss["sent_on"].to_list()]
        loss = loss.with_columns(pl.Series("stop_from", stop_from, dtype=pl.Date),
                                 pl.Series("_fy", [ctx.calendar.fiscal_year(s) for s in loss["sent_on"].to_list()],
                                           dtype=pl.Int32))
        stops.append(loss.filter(pl.col("stop_from").is_not_null()).select(
            pl.col("_fy").alias("fy"), "household_id", pl.col("person_id").alias("taxpayer_person_id"),
            "basic_pension_number", "payer_code", "notice_code", pl.lit("change_loss").alias("cause"),
            pl.format("資格喪失等 受理 (各種区分 {})", pl.col("sent_category").fill_null("")).alias("cause_label"),
            "stop_from", "source_file", "source_sha256", pl.col("record_no").cast(pl.Int64)))
        results.append(loss.select(
            "_fy", "household_id", "person_id", *rq.KEY, "notice_code", pl.col("sent_category").alias("category"),
            "result", pl.lit(True).alias("accepted"), "sent_on", pl.col("sent_event_date").alias("event_date"),
            pl.col("stop_from").dt.month().cast(pl.Int32).alias("pension_month"),
            pl.lit(0, dtype=pl.Int64).alias("amount"), pl.lit(None, dtype=pl.Int64).alias("levied"),
            "source_file", "source_sha256", "record_no"))
        # 62 accepted: the amounts the insurer now withholds, month by month, against the levies
        prov = ok.filter(pl.col("notice_code") == ANSWER_OF[rq.NOTICE_PROVISIONAL_CHANGE])
        rows = []
        for r in prov.iter_rows(named=True):
            first = r["sent_event_date"] or r["event_date"]
            if first is None:
                continue
            fy = ctx.calendar.fiscal_year(first)
            half = wrules.provisional_months if first.month in wrules.provisional_months else wrules.final_months
            amounts = [r["sent_amount1"], r["sent_amount2"], r["sent_amount3"]]
            if fy not in levies:
                levies[fy] = _levies(ctx, fy)
            lev = levies[fy]
            for i, m in enumerate(half[:3]):
                when = dt.date(inst.fiscal_month_year(fy, m, fy_start), m, 1)
                if when < first.replace(day=1) or amounts[i] is None:
                    continue
                no = wrules.installment_no(m)
                hit = lev.filter((pl.col("household_id") == r["household_id"]) & (pl.col("installment_no") == no))
                levied = int(hit["levied"][0]) if hit.height else None
                rows.append({"_fy": fy, "household_id": r["household_id"], "person_id": r["person_id"],
                             **{k: r[k] for k in rq.KEY}, "notice_code": r["notice_code"], "category": r["category"],
                             "result": r["result"], "accepted": True, "sent_on": r["sent_on"], "event_date": first,
                             "pension_month": m, "amount": int(amounts[i]), "levied": levied,
                             "source_file": r["source_file"], "source_sha256": r["source_sha256"],
                             "record_no": r["record_no"]})
        pr = pl.DataFrame(rows, schema={"_fy": pl.Int32, **{k: v for k, v in CHANGE_RESULT_SCHEMA.items()
                                                             if k != "fy"}}) if rows else None
        if pr is not None:
            results.append(pr.select("_fy", *[c for c in CHANGE_RESULT_SCHEMA if c != "fy"]))
            # no levy yet (a 61 of the 仮徴収 before the year's 当初賦課): nothing to compare
            diff = pr.filter(pl.col("levied").is_not_null() & (pl.col("levied") != pl.col("amount")))
            if diff.height:
                differ_n += diff.height
                rejects.append(diff.select(
                    pl.col("source_file").alias("file_name"), pl.col("record_no").cast(pl.Int64),
                    pl.lit("data").alias("record_type"), pl.lit("amount1").alias("field"),
                    pl.lit("各種金額欄").alias("field_label"),
                    pl.format("仮徴収額変更 受理 {}月 {}円 が特別徴収の期別税額 {}円 と一致しません (世帯 {})",
                              "pension_month", "amount", "levied", "household_id").alias("reason")))
        ctx.totals.count("change_result", label="各種異動処理結果", read=d.height, accepted=ok.height,
                         rejected=refused.height + unmatched.height)
        ctx.message("KKB551I", file=f["name"], records=d.height,
                    stops=loss.height, changes=prov.height, refused=refused.height)
        inputs.append({**f, **figs, "records": d.height, "stops": loss.height, "changes": prov.height,
                       "refused": refused.height, "unmatched": unmatched.height})
    if differ_n:
        ctx.message("KKB554W", months=differ_n)
    ctx.reject(pl.concat(rejects, how="vertical") if rejects else errorlist.empty())
    res = (pl.concat([r.rename({"_fy": "fy"}).select([pl.col(c).cast(t) for c, t in CHANGE_RESULT_SCHEMA.items()])
                      for r in results], how="vertical") if results else pl.DataFrame(schema=CHANGE_RESULT_SCHEMA))
    ctx.totals.add_money("provisional", int(res.filter(pl.col("notice_code") == "62")["amount"].sum() or 0),
                         label="仮徴収額変更 受理 (各月)")
    ctx.totals.add_figure("stops", int((res["notice_code"] == "42").sum()), label="資格喪失等 受理")
    ctx.totals.add_figure("refused", refused_n, label="不受理")
    ctx.write_dataset(CHANGE_STOPS, datasets.sort_by_key(_stop_frame(stops), ("household_id", "source_sha256",
                                                                             "record_no")),
                      totals={"inputs": inputs})
    ctx.write_dataset(CHANGE_RESULTS, datasets.sort_by_key(res, ("source_sha256", "record_no", "pension_month")),
                      totals={"inputs": inputs})
    return None


def _levies(ctx: StepContext, fy: int) -> pl.DataFrame:
    """The current 特別徴収 levy of each household and 期 of ``fy`` (latest installments)."""
    gen = asteps.latest(ctx, "installments", fy=fy)
    schema = {"fy": pl.Int32, "household_id": pl.String, "installment_no": pl.Int32, "levied": pl.Int64}
    if gen is None:
        return pl.DataFrame(schema=schema)
    rows = datasets.read("installments", gen).filter(pl.col("method") == inst.WITHHOLDING)
    return rows.group_by("household_id", "installment_no").agg(pl.col("amount").sum().alias("levied")).select(
        pl.lit(fy, dtype=pl.Int32).alias("fy"), pl.col("household_id").cast(pl.String),
        pl.col("installment_no").cast(pl.Int32), pl.col("levied").cast(pl.Int64))


def trailer_of_input(inputs: list[dict], sha: str) -> dict | None:
    """The trailer figures TK320 recorded for one Z24 file (SN235's reconciliation)."""
    for i in inputs:
        if i.get("sha256") == sha and "trailer_amount" in i:
            return i
    return None


# --- TK330 特徴中止期割変更 -------------------------------------------------------------------------


def _todays(ctx: StepContext, dataset: str) -> pl.DataFrame | None:
    gen = asteps.latest(ctx, dataset)
    return datasets.read(dataset, gen) if gen == ctx.generation else None


def refuse_other_correction(ctx: StepContext) -> None:
    """RC 8 when another job (FK210 異動賦課) wrote today's 更正 generation: two 更正 of one
    business day would replace each other's datasets, 調定 file and notices."""
    for ds in CORRECTION_DATASETS:
        gen = asteps.latest(ctx, ds)
        if gen == ctx.generation:
            job = datasets.read_totals(ds, gen).get("job_id")
            if job not in (None, ctx.job_id) and (ds != "assessment" or job != "FK110"):
                raise StepError.of("KKB547E", date=ctx.business_date, job=job, generation=gen)


def _start(slots: list[reass.Slot], start_from: dt.date, each: int, fy: int, fy_start: int,
           wrules: wh.WithholdingRules, schedule: inst.Schedule, cal) -> tuple[int, int]:
    """An accepted 追加依頼 on one household's ``slots``: ``each`` yen as 特別徴収 in every pension month
    of ``fy`` from ``start_from``, taken off the open 普通徴収 期 of the start month and after with
    nothing paid — or, when those hold less, off every open 普通徴収 期 with nothing paid — which are
    split again (FK's 期割 rule: the remainder on the first). Returns (moved, short): the yen moved and
    the yen asked but not held by those 普通徴収 期 (the last pension months get less)."""
    def first_day(m: int) -> dt.date:
        return dt.date(inst.fiscal_month_year(fy, m, fy_start), m, 1)

    months = [m for m in wrules.pension_months if first_day(m) >= start_from]
    # the 普通徴収 期 of the start month and after (by 納期 month: a 1月期 due on 2月1日 stays)
    open_unpaid = [s for s in slots if s.method == inst.ORDINARY and s.is_open and s.paid == 0]
    ordinary = [s for s in open_unpaid if first_day(s.month) >= start_from]
    asked = each * len(months)
    if sum(s.amount for s in ordinary) < asked:   # not enough from the start month on: every open 期
        ordinary = open_unpaid
    held = sum(s.amount for s in ordinary)
    moved = min(asked, held)
    if moved == 0:
        return 0, asked
    by_no = {s.no: s for s in slots if s.method == inst.WITHHOLDING}
    left = moved
    for m in months:
        no = wrules.installment_no(m)
        s = by_no.get(no)
        if s is None:
            s = reass.Slot(inst.WITHHOLDING, no, m, wrules.payment_date(fy, m, cal), 0, is_open=True)
            slots.append(s)
            by_no[no] = s
        add = min(each, left)
        s.amount += add
        left -= add
    ordinary.sort(key=lambda s: s.due_date)
    for s, amount in zip(ordinary, inst.split_one(held - moved, len(ordinary), schedule.unit), strict=True):
        s.amount = amount
    return moved, asked - moved


def stop_withholding(ctx: StepContext) -> int | None:
    rules = ApplyRules.from_config(ctx.config)
    wrules = wh.WithholdingRules.from_config(ctx.config)
    parts = [f for f in (_todays(ctx, REQUEST_STOPS), _todays(ctx, RESULT_STOPS), _todays(ctx, CHANGE_STOPS))
             if f is not None and f.height]
    stops = (pl.concat(parts, how="vertical_relaxed").filter(pl.col("fy") == ctx.fy) if parts
             else pl.DataFrame(schema=STOP_SCHEMA))
    st = _todays(ctx, REQUEST_STARTS)
    starts = (st.filter(pl.col("fy") == ctx.fy) if st is not None and st.height
              else pl.DataFrame(schema=START_SCHEMA))
    if stops.height == 0 and starts.height == 0:
        ctx.message("KKB548I", households=0, refused=0, stopped=0, moved=0, already=0)
        return None
    refuse_other_correction(ctx)
    base = asteps.latest(ctx, "assessment", before=True)
    ibase = asteps.latest(ctx, "installments", before=True)
    if base is None or ibase is None:
        raise StepError.of("KKB301E", "installments")
    ctx.message("KKB302I", variant="current", generation=base, installments=ibase)
    current = datasets.read("assessment", base)
    rows = datasets.read("installments", ibase)
    first = stops.group_by("household_id").agg(pl.col("stop_from").min(), pl.col("cause").first())
    begin = starts.sort("start_from").group_by("household_id", maintain_order=True).agg(
        pl.col("start_from").first(), pl.col("amount").first())
    schedule = inst.Schedule.from_config(ctx.config, ctx.fy, ctx.calendar)
    ids = set(first["household_id"].to_list()) | set(begin["household_id"].to_list())
    paid = reass._paid_map(asteps._payments(ctx, rows.filter(pl.col("household_id").is_in(list(ids)))))
    open_periods = schedule.open_periods(ctx.business_date)
    corr_rows, inst_rows, notice_rows = [], [], []
    taxpayer = dict(zip(current["household_id"].to_list(), current["taxpayer_person_id"].to_list(), strict=True))
    annual = dict(zip(current["household_id"].to_list(), current["annual_tax"].to_list(), strict=True))
    by_household: dict[str, list[reass.Slot]] = {}
    for hid, method, no, month, due, amount in rows.filter(pl.col("household_id").is_in(list(ids))).select(
            "household_id", "method", "installment_no", "month", "due_date", "amount").iter_rows():
        by_household.setdefault(hid, []).append(reass.Slot(
            method, int(no), int(month), due, int(amount), paid=paid.get((hid, method, int(no)), 0),
            is_open=schedule.is_open(due, ctx.business_date)))
    for slots in by_household.values():
        for s in slots:
            s.before = s.amount
    moved_total = already = refused = stopped = 0
    start_total = short_total = short_n = 0
    reason: dict[str, str] = {}
    started_ids: set[str] = set()
    # starts first (a 32 accepted), then stops (a household stopped the same day goes back to 普通徴収)
    for hid, start_from, each in begin.sort("household_id").iter_rows():
        slots = by_household.get(hid)
        if slots is None:   # not in the installments: nothing to switch (counted with the short ones)
            short_n += 1
            continue
        moved, short = _start(slots, start_from, int(each), ctx.fy, ctx.calendar.fiscal_year_start[0], wrules,
                              schedule, ctx.calendar)
        start_total += moved
        if short:
            short_n += 1
            short_total += short
        if moved:
            reason[hid] = rules.start_reason
            started_ids.add(hid)
    for hid, stop_from, cause in first.sort("household_id").iter_rows():
        slots = by_household.get(hid, [])
        moved = 0
        for s in slots:
            if s.method == inst.WITHHOLDING and s.due_date >= stop_from and s.amount > s.paid:
                moved += s.amount - s.paid
                s.amount = s.paid
        if moved == 0:
            already += 1
            continue
        targets = reass._ordinary_open_slots(slots, open_periods)
        for s, add in zip(targets, inst.split_one(moved, len(targets), schedule.unit), strict=True):
            s.amount += add
        moved_total += moved
        refused += cause == "request_refused"
        stopped += cause != "request_refused"
        reason[hid] = rules.change_reason
    changed_ids = sorted(reason)
    for hid in changed_ids:
        slots = sorted(by_household[hid], key=lambda s: (s.due_date, s.method != inst.WITHHOLDING, s.no))
        n_changed = 0
        for s in slots:
            changed = s.amount != s.before
            n_changed += changed
            corr_rows.append((ctx.fy, hid, s.no, s.method, s.month, s.due_date, s.before, s.amount,
                              s.amount - s.before, s.paid, 0, s.is_open, changed))
            inst_rows.append((ctx.fy, hid, s.no, s.method, s.month, s.due_date, s.amount))
        a = int(annual.get(hid, 0))
        notice_rows.append((ctx.fy, hid, taxpayer.get(hid), ctx.business_date, reason[hid], a, a, 0, 0,
                            True, n_changed))
    ctx.message("KKB548I", households=refused + stopped, refused=refused, stopped=stopped, moved=moved_total,
                already=already)
    if begin.height:
        ctx.message("KKB557I", households=len(started_ids), amount=start_total)
    if short_n:
        ctx.message("KKB558W", households=short_n, amount=short_total)
    ctx.totals.count("household", label="世帯", read=first.height + begin.height,
                     accepted=first.height + begin.height)
    ctx.totals.add_money("started", start_total, label="普通徴収→特別徴収")
    if not changed_ids:
        return None
    corrections = pl.DataFrame(corr_rows, schema=reass.CORRECTION_SCHEMA, orient="row")
    new_rows = pl.DataFrame(inst_rows, schema=inst.SCHEMA, orient="row")
    affected = current.filter(pl.col("household_id").is_in(changed_ids))
    new_rows = inst.allocate_components(new_rows, affected.select(
        "household_id", *[pl.col(c).fill_null(0).cast(pl.Int64) for c in inst.component_columns(affected)]))
    notices = pl.DataFrame(notice_rows, schema=reass.NOTICE_SCHEMA, orient="row")
    notices = reass._with_components(notices, affected, affected)
    seq = asteps._correction_seq(ctx)
    notices = notices.join(seq, on="household_id", how="left").with_columns(
        (pl.col("_prev").fill_null(0) + 1).cast(pl.Int32).alias("correction_seq"),
        (pl.col("installments_changed") > 0).alias("issue_notice")).drop("_prev")
    rows_after = inst.sort_rows(pl.concat([rows.filter(~pl.col("household_id").is_in(changed_ids)),
                                           new_rows.select(rows.columns)], how="vertical_relaxed"))
    bad = inst.check_totals(rows_after, current)
    if bad.height:
        r = bad.row(0, named=True)
        raise StepError.of("KKB333E", households=bad.height, household_id=r["household_id"], expected=r["expected"],
                           installments_total=r["installments_total"])
    ctx.totals.add_money("moved", moved_total, label="特別徴収→普通徴収")
    ctx.totals.add_money("change", 0, label="増減額")
    # the base assessment's sources go on: FK210 finds the 資格・住民税 changes since them (without them it
    # would take every person as changed and reassess the whole city after a TK330)
    doc = {"base_assessment": base, "base_installments": ibase, "stops": sorted({*stops["source_file"].to_list()}),
           "starts": sorted({*starts["source_file"].to_list()})}
    ctx.write_dataset("assessment", current,
                      totals={"inputs": datasets.read_totals("assessment", base).get("inputs", {}), **doc})
    ctx.write_dataset("installments", rows_after, totals=doc)
    ctx.write_dataset("corrections", datasets.sort_by_key(corrections, ("household_id", "installment_no", "method")),
                      totals=doc)
    ctx.write_dataset("change_notices", datasets.sort_by_key(notices, ("household_id",)), totals=doc)
    ctx.totals.written = notices.height
    return None


# --- TK340 / TK350: FK220 / FK230 on TK330's 更正 ------------------------------------------------------


def _stopped_today(ctx: StepContext) -> bool:
    gen = asteps.latest(ctx, "corrections")
    if gen == ctx.generation and datasets.read_totals("corrections", gen).get("job_id") == STOP_JOB:
        return True
    if gen == ctx.generation:  # FK210's 更正 of today: TK330 refused (RC 8) before; never print it twice
        refuse_other_correction(ctx)
    ctx.message("KKB549I", date=ctx.business_date, job=ctx.job_id)
    return False


def correction_levy_file(ctx: StepContext) -> int | None:
    """TK340: the 更正 調定 file of TK330 (FK220's function), or nothing on a day without stops."""
    return asteps.correction_levy_file(ctx) if _stopped_today(ctx) else None


def change_notices(ctx: StepContext) -> int | None:
    """TK350: the 税額変更通知書 of TK330 (FK230's function), or nothing on a day without stops."""
    return notice_steps.change_notices(ctx) if _stopped_today(ctx) else None
