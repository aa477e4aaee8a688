"""KB510 年金特徴依頼: the job steps that send to the pension insurers (registered in ``jobs/registry.py``).

    TK210 特別徴収依頼作成     withholding + installments + tokucho_z21 → var/outbox/nenkin/Z22_01_<route>_<date>.dta,
                               dataset pension_request_z22 (what was sent)
    TK220 特別徴収追加依頼作成 tokucho_capture (30) + assessment → Z22_31_<route>_<date>.dta, pension_request_addition
    TK230 特別徴収各種異動作成 what was sent + nhi_qualification + installments → Z2A_<route>_<date>.dta
                               (41 資格喪失等 / 61 仮徴収額変更), pension_request_change; pensions the
                               insurers' own answers stopped (KB520: pension_request_stops /
                               pension_result_stops) get nothing (KKB533I)

Each step sends only in its months (``config/common/run_calendar.yaml`` pension_request_*; ``--force``
sends in another month). What was sent is a dataset per step: the next runs read it so nothing is sent
twice (TK210 once a year; TK220 answers each 捕捉 file once; TK230 sends a 41 once per pension and a 61
only when the amounts differ from the last ones sent). A rerun on the same business date recomputes
from the same inputs and writes the same bytes; a file already in the outbox with other bytes is never
replaced (KKB523E).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from jobs.assessment import withholding as wh
from jobs.assessment.steps import generations, latest
from jobs.common import datasets, handoff, paths, runcalendar
from jobs.common.step import StepContext, StepError

from . import changes as ch
from . import requests as rq
from .payers import PayerMaster

Z22_DATASET = "pension_request_z22"
ADDITION_DATASET = "pension_request_addition"
CHANGE_DATASET = "pension_request_change"
#: the accepted 追加依頼 (31) that KB520 TK315 turned into 特別徴収 (written by jobs/pension/apply.py)
STARTS_DATASET = "pension_request_starts"
SENT_EXTRA = ("file_name", "sent_on", "source_sha256", *ch.EXPECTED_COLUMNS)


# --- shared --------------------------------------------------------------------------------------


def due(ctx: StepContext, rule_name: str) -> bool:
    """Is the business date in a month of ``rule_name``? (``--force``: always.) Else a message."""
    if ctx.options.get("force"):
        return True
    rule = runcalendar.monthly_rule(rule_name, ctx.config)
    months = set(rule.months) if rule.run_days else set()
    months |= {m for m, _ in rule.dates}
    if ctx.business_date.month in months:
        return True
    ctx.message("KKB521I", date=ctx.business_date.isoformat(), label=rule.label, rule=rule_name,
                months="・".join(str(m) for m in sorted(months)))
    return False


def need(ctx: StepContext, dataset: str, job: str, *, fy: int | None = None) -> str:
    gen = latest(ctx, dataset, fy=fy)
    if gen is None:
        raise StepError.of("KKB529E", dataset=dataset, fy=ctx.fy if fy is None else fy, job=job)
    ctx.message("KKB302I", dataset=dataset, generation=gen)
    return gen


def qualification_register(ctx: StepContext) -> pl.DataFrame:
    """The 国保資格 register as of this run: the newest ``nhi_qualification`` generation up to this run's,
    whatever its fiscal year (the register is continuous: in April and May, before the year's first 資格
    file, it is the previous year's last one — KKB539I says so; the 収納 and 滞納 steps read it the same way).
    None at all: KKB529E."""
    gen = datasets.latest("nhi_qualification", municipality=ctx.municipality, upto=ctx.generation)
    if gen is None:
        raise StepError.of("KKB529E", dataset="nhi_qualification", fy=ctx.fy, job="FK020 国保資格取込")
    _, gfy, _ = datasets.parse_generation(gen)
    if gfy != ctx.fy:
        ctx.message("KKB539I", fy=ctx.fy, from_fy=gfy, generation=gen)
    ctx.message("KKB302I", dataset="nhi_qualification", generation=gen)
    return datasets.read("nhi_qualification", gen)


def sent(ctx: StepContext, dataset: str, *, fy: int | None = None, before: bool = True) -> pl.DataFrame:
    """Every record sent by earlier runs (``before``: generations older than this run's) of ``fy``,
    with its ``generation``."""
    parts = []
    for g in generations(ctx, dataset, fy=fy, before=before):
        frame = datasets.read(dataset, g)
        if frame.height:
            parts.append(frame.with_columns(pl.lit(g).alias("generation")))
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def started(ctx: StepContext, fy: int | None = None) -> pl.DataFrame:
    """The accepted 追加依頼 (31) TK315 applied (every generation up to this run's) of ``fy``."""
    parts = [datasets.read(STARTS_DATASET, g) for g in generations(ctx, STARTS_DATASET, fy=fy, before=False)]
    parts = [p for p in parts if p.height]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def pending_additions(history: pl.DataFrame, current: pl.DataFrame) -> set[str]:
    """Households with a 31 (各種区分 01) sent whose installments hold no 特別徴収 yet (the 32 not
    answered, refused, or not yet applied by KB520 TK315/TK330): nothing to compare, so TK230 sends
    them no 61 (the insurer's 31 amounts are not a levy of the city until the 32 is applied)."""
    if history.height == 0 or "notice_code" not in history.columns:
        return set()
    adds = history.filter((pl.col("notice_code") == rq.NOTICE_ADDITION) & (pl.col("category") == rq.CATEGORY_TARGET))
    if adds.height == 0:
        return set()
    cols = [c for c in current.columns if c.startswith("cur_m")]
    withheld = set(current.filter(pl.sum_horizontal([pl.col(c).fill_null(0) for c in cols]) > 0)["household_id"]
                   .to_list()) if cols else set()
    return {h for h in adds["household_id"].drop_nulls().to_list() if h not in withheld}


def _reject(ctx: StepContext, frame: pl.DataFrame, *, file_name: str, record_type: str, field: str,
            label: str, reason: pl.Expr) -> None:
    ctx.reject(frame.with_row_index("record_no").select(
        pl.lit(file_name).alias("file_name"), pl.col("record_no").cast(pl.Int64), pl.lit(record_type).alias("record_type"),
        pl.lit(field).alias("field"), pl.lit(label).alias("field_label"), reason.alias("reason")))


def route_unknown(ctx: StepContext, recs: pl.DataFrame, master: PayerMaster, source: str) -> pl.DataFrame:
    """Records of payers not in the master (no route): error list and KKB525W; returns the rest."""
    unknown = master.unknown(recs["payer_code"].unique().to_list()) if recs.height else []
    if not unknown:
        return recs
    bad = recs.filter(pl.col("payer_code").is_in(unknown))
    ctx.message("KKB525W", codes=", ".join(unknown), records=bad.height)
    _reject(ctx, bad, file_name=source, record_type="データレコード", field="payer_code", label="特別徴収義務者コード",
            reason=pl.format("特別徴収義務者マスタにない義務者コード {} (基礎年金番号 {})", "payer_code", "basic_pension_number"))
    return recs.filter(~pl.col("payer_code").is_in(unknown))


def send_files(ctx: StepContext, recs: pl.DataFrame, master: PayerMaster, rules: rq.RequestRules, *,
               layout_id: str, name_of, label: str) -> pl.DataFrame:
    """Write one file per 経由機関 into the outbox (through the step's staging: committed with its
    .sha256 at the end); returns ``recs`` with ``file_name``. A file already there with other bytes
    stops the step (KKB523E): what was sent is never replaced."""
    if recs.height == 0:
        ctx.message("KKB532I", label=label)
        return recs.with_columns(pl.lit(None, dtype=pl.String).alias("file_name"))
    muni5 = str(ctx.config.get("municipality.code5"))
    routed = recs.with_columns(pl.col("payer_code").replace_strict(
        {c: p.route for c, p in master.payers.items()}, default=None).alias("_route"))
    out = []
    for (route_id,), part in routed.group_by("_route", maintain_order=True):
        route = master.routes[route_id]
        final = paths.outbox(rules.outbox) / name_of(route.file_code)
        staged = ctx.stage_file(final)
        figs = rq.write_file(staged, part, layout_id=layout_id, municipality5=muni5, created_on=ctx.business_date,
                             rules=rules)
        _never_resend(final, staged)
        ctx.message("KKB520I", notice=label, path=paths.relative(final), groups=figs["groups"], records=figs["records"],
                    amount1=figs["amount1"], amount2=figs["amount2"], amount3=figs["amount3"])
        ctx.totals.add_figure("files", 1, label="送信ファイル")
        out.append(part.drop("_route").with_columns(pl.lit(final.name).alias("file_name")))
    return pl.concat(out, how="vertical")


def _never_resend(final: Path, staged: Path) -> None:
    if not final.exists():
        return
    old, new = handoff.sha256_file(final), handoff.sha256_file(staged)
    if old != new:
        raise StepError.of("KKB523E", path=paths.relative(final), old=old[:16], new=new[:16])


def _money(ctx: StepContext, recs: pl.DataFrame) -> None:
    for i in (1, 2, 3):
        ctx.totals.add_money(f"amount{i}", int(recs[f"amount{i}"].fill_null(0).sum()) if recs.height else 0,
                             label=f"金額{i}")


def _dataset(recs: pl.DataFrame, ctx: StepContext) -> pl.DataFrame:
    keep = [*rq.RECORD_SCHEMA, *SENT_EXTRA]
    frame = recs.with_columns(pl.lit(ctx.business_date).alias("sent_on"))
    for c in SENT_EXTRA:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Int64 if c.startswith("expected_") else pl.String).alias(c))
    return datasets.sort_by_key(frame.select(keep), ("notice_code", *rq.KEY, "household_id"))


# --- TK210 特別徴収依頼 (Z22, 通知内容 01) -------------------------------------------------------------


def request_withholding(ctx: StepContext) -> int | None:
    if not due(ctx, "pension_request_z22"):
        return None
    rules = rq.RequestRules.from_config(ctx.config)
    master = PayerMaster.from_config(ctx.config)
    before = sent(ctx, Z22_DATASET)
    if before.height:
        first = before["generation"].min()
        ctx.message("KKB522I", fy=ctx.fy, generation=first, records=before.filter(pl.col("generation") == first).height)
        return None
    withholding = datasets.read("withholding", need(ctx, "withholding", "FK120 特別徴収判定"))
    installments = datasets.read("installments", need(ctx, "installments", "FK130 期割・納期限"))
    zgen = need(ctx, "tokucho_z21", "FK030 年金特徴対象者取込")
    z21 = datasets.read("tokucho_z21", zgen)
    recs, missing = rq.z22_records(withholding, installments, z21, rules)
    ctx.reject(pl.DataFrame())  # an error list every run (header only when nothing was rejected)
    if missing.height:
        ctx.message("KKB524W", households=missing.height)
        _reject(ctx, missing, file_name=f"withholding {zgen}", record_type="特別徴収判定", field="basic_pension_number",
                label="基礎年金番号", reason=pl.format("世帯 {} の年金 (義務者 {} 基礎年金番号 {} 年金コード {}) が対象者情報にない",
                                                    "household_id", "payer_code", "basic_pension_number", "pension_code"))
    routed = route_unknown(ctx, recs, master, f"tokucho_z21 {zgen}")
    withheld = int((recs["category"] == rq.CATEGORY_TARGET).sum())
    ctx.totals.count("request", label="依頼", read=recs.height + missing.height,
                     accepted=routed.height, rejected=recs.height - routed.height + missing.height)
    ctx.totals.add_figure("withheld", withheld, label="特別徴収対象者 (01)")
    out = send_files(ctx, routed, master, rules, layout_id=rq.REQUEST_LAYOUT,
                     name_of=lambda code: rules.request_name(rq.NOTICE_REQUEST, code, ctx.business_date),
                     label="特別徴収依頼 (01)")
    _money(ctx, out)
    out = out.with_columns(ch.expected_from_request(out, rules, wh.WithholdingRules.from_config(ctx.config)))
    ctx.write_dataset(Z22_DATASET, _dataset(out, ctx))
    return None


# --- TK220 追加依頼 (31) -------------------------------------------------------------------------------


def request_addition(ctx: StepContext) -> int | None:
    if not due(ctx, "pension_request_addition"):
        return None
    rules = rq.RequestRules.from_config(ctx.config)
    wrules = wh.WithholdingRules.from_config(ctx.config)
    master = PayerMaster.from_config(ctx.config)
    ctx.reject(pl.DataFrame())
    cgen = latest(ctx, "tokucho_capture")
    answered = sent(ctx, ADDITION_DATASET)
    done = set(answered["source_sha256"].drop_nulls().to_list()) if answered.height else set()
    captures = pl.DataFrame()
    if cgen is not None:
        ctx.message("KKB302I", dataset="tokucho_capture", generation=cgen)
        captures = ch.capture_records(datasets.read("tokucho_capture", cgen))
        if captures.height and "source_sha256" in captures.columns:
            captures = captures.filter(~pl.col("source_sha256").is_in(list(done)))
    if captures.height == 0:
        ctx.message("KKB526I")
        ctx.totals.count("capture", label="捕捉", read=0, accepted=0)
        ctx.write_dataset(ADDITION_DATASET, _dataset(rq.empty_records(), ctx))
        return None
    assessment = datasets.read("assessment", need(ctx, "assessment", "FK110 当初賦課"))
    members = datasets.read("assessment_members", need(ctx, "assessment_members", "FK110 当初賦課"))
    qualification = qualification_register(ctx)
    ltc = None
    lgen = latest(ctx, "ltc_premium")
    if lgen is not None:
        ltc = datasets.read("ltc_premium", lgen)
    targets = ch.current_targets(sent(ctx, Z22_DATASET, before=False), answered)
    recs, figs = ch.addition_records(
        captures, qualification=qualification, assessment=assessment, members=members, ltc=ltc,
        already=targets, wrules=wrules, rules=rules, business_date=ctx.business_date,
        fy_end=ctx.calendar.fiscal_year_last_day(ctx.fy), fy_start_month=ctx.calendar.fiscal_year_start[0])
    ctx.message("KKB527I", captured=captures.height, targets=figs["targets"], non_targets=figs["non_targets"],
                already=figs["already"])
    routed = route_unknown(ctx, recs, master, f"tokucho_capture {cgen}")
    ctx.totals.count("capture", label="捕捉", read=captures.height, accepted=captures.height - (recs.height - routed.height),
                     rejected=recs.height - routed.height)
    out = send_files(ctx, routed, master, rules, layout_id=rq.REQUEST_LAYOUT,
                     name_of=lambda code: rules.request_name(rq.NOTICE_ADDITION, code, ctx.business_date),
                     label="特別徴収追加依頼 (31)")
    _money(ctx, out)
    # every answered capture file is recorded, even when all its records were skipped
    shas = captures["source_sha256"].unique().sort().to_list() if "source_sha256" in captures.columns else []
    marks = pl.DataFrame({"source_sha256": [s for s in shas if s not in set(out["source_sha256"].to_list()
                                                                            if "source_sha256" in out.columns else [])]},
                         schema={"source_sha256": pl.String}).with_columns(pl.lit("--").alias("notice_code"))
    ctx.write_dataset(ADDITION_DATASET, _dataset(pl.concat([out, marks], how="diagonal_relaxed"), ctx))
    return None


# --- TK230 各種異動 (Z2A: 41 / 61) ----------------------------------------------------------------------

#: KB520's datasets of the pensions the insurers themselves stopped: Z23 not accepted (TK310) and Z24
#: 失権・差止・年金額不足・他制度中止 (TK320)
INSURER_STOPS = ("pension_request_stops", "pension_result_stops")


def _stopped_by_insurer(ctx: StepContext, state: pl.DataFrame) -> pl.DataFrame:
    """``state`` with the pensions the insurers' own answers stopped this year marked ``stopped``: TK330
    moved their 特別徴収 to 普通徴収, which is no 税額 decrease to tell the insurer (no 41 for them)."""
    if state.height == 0:
        return state
    keys = set()
    for ds in INSURER_STOPS:
        for g in generations(ctx, ds):
            f = datasets.read(ds, g)
            if f.height:
                keys |= set(f.select(pl.col("payer_code").cast(pl.String),
                                     pl.col("basic_pension_number").cast(pl.String)).iter_rows())
    if not keys:
        return state
    key = pl.concat_str([pl.col("payer_code"), pl.col("basic_pension_number")], separator=":")
    hit = key.is_in([f"{p}:{b}" for p, b in sorted(keys)])
    n = state.filter(hit & ~pl.col("stopped")).height
    if n:
        ctx.message("KKB533I", persons=n)
    return state.with_columns((pl.col("stopped") | hit).alias("stopped"))



def request_changes(ctx: StepContext) -> int | None:
    if not due(ctx, "pension_request_change"):
        return None
    rules = rq.RequestRules.from_config(ctx.config)
    wrules = wh.WithholdingRules.from_config(ctx.config)
    master = PayerMaster.from_config(ctx.config)
    ctx.reject(pl.DataFrame())
    parts = [f for f in (
        sent(ctx, Z22_DATASET, fy=ctx.fy - 1, before=False), sent(ctx, ADDITION_DATASET, fy=ctx.fy - 1, before=False),
        sent(ctx, CHANGE_DATASET, fy=ctx.fy - 1, before=False),
        sent(ctx, Z22_DATASET, before=False), sent(ctx, ADDITION_DATASET, before=False),
        sent(ctx, CHANGE_DATASET)) if f.height]
    history = pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
    if history.height == 0:
        ctx.message("KKB532I", label="各種異動 (送信済みの依頼がありません)")
        ctx.totals.count("target", label="特別徴収対象", read=0, accepted=0)
        ctx.write_dataset(CHANGE_DATASET, _dataset(rq.empty_records(), ctx))
        return None
    state = _stopped_by_insurer(ctx, ch.insurer_state(history, fy=ctx.fy, wrules=wrules))
    qualification = qualification_register(ctx)
    igen = latest(ctx, "installments")
    if igen is not None:
        ctx.message("KKB302I", dataset="installments", generation=igen)
        current = ch.current_from_installments(datasets.read("installments", igen), wrules)
        # a 31 not yet answered (32) / applied (TK315): no 特別徴収 in the installments yet, nothing to compare
        pending = pending_additions(history, current)
        if pending:
            ctx.message("KKB538I", households=len(pending))
            current = current.with_columns([pl.when(pl.col("household_id").is_in(sorted(pending))).then(None)
                                            .otherwise(pl.col(c)).alias(c) for c in current.columns
                                            if c.startswith("cur_m")])
    else:  # before the year's 当初賦課: this year's 仮徴収 from last year's February (平準化 per config)
        agen = latest(ctx, "assessment", fy=ctx.fy - 1)
        prior = datasets.read("assessment", agen) if agen is not None else None
        current = ch.current_from_prior_year(state, prior, wrules)
        ctx.message("KKB536I", fy=ctx.fy - 1, leveling="あり" if wrules.leveling else "なし", households=current.height)
    recs, figs, unknown = ch.change_records(
        state, qualification=qualification, current=current, rules=rules, wrules=wrules,
        business_date=ctx.business_date, fy=ctx.fy, fy_start_month=ctx.calendar.fiscal_year_start[0],
        decrease=str(ctx.config.get("withholding.midyear_change.decrease")), have_installments=igen is not None)
    if unknown.height:
        ctx.message("KKB531W", persons=unknown.height)
        _reject(ctx, unknown, file_name=f"installments {igen}", record_type="送信済み特別徴収対象", field="household_id",
                label="世帯番号", reason=pl.format("世帯 {} (基礎年金番号 {}) が賦課にない", "household_id",
                                                "basic_pension_number"))
    ctx.message("KKB528I", losses=figs["losses"], changes=figs["changes"], stops=figs["stops"])
    if figs["increases"]:
        ctx.message("KKB530I", households=figs["increases"])
    routed = route_unknown(ctx, recs, master, "pension_request")
    ctx.totals.count("target", label="特別徴収対象", read=state.height, accepted=state.height - unknown.height,
                     rejected=unknown.height)
    ctx.totals.add_figure("loss", figs["losses"] + figs["stops"], label="資格喪失等 (41)")
    ctx.totals.add_figure("provisional_change", figs["changes"], label="仮徴収額変更 (61)")
    out = send_files(ctx, routed, master, rules, layout_id=rq.CHANGE_LAYOUT,
                     name_of=lambda code: rules.change_name(code, ctx.business_date), label="各種異動 (41/61)")
    _money(ctx, out)
    ctx.write_dataset(CHANGE_DATASET, _dataset(out, ctx))
    return None
