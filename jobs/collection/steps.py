"""The 収納 job steps (registered in ``jobs/registry.py``).

    SN100 調定登録            var/outbox/ledger/*.dat (FK140 当初 / FK220 更正) → 通知書・期別・調定履歴
    SN115 口座振替結果消込    dataset zengin_91_result (SN110)     → 消込
    SN205 窓口収納消込        dataset counter_payment (SN200)      → 消込
    SN215 コンビニ等収納消込  dataset cvs_payment (SN210)          → 消込 (コンビニ・クレジット・アプリ)
    SN235 年金特徴収納消込    dataset pension_withholding_result   → 消込

A 消込 step reads the file's records from the intake dataset, and what only the file holds (the
rejected records, the record stride, the headers, the raw bytes) from the intake's archive copy:
``options["source"]`` of its JobSpec names the intake step's inbox and layout (SN235 has none).

A 消込 step posts every intake file of its channel that the ledger has not posted yet (by the
file's SHA-256, ``posted_file``), each file in one transaction (a large file on DuckDB a slice of
records per transaction, ``reconcile.post_file``; a rerun completes it). Its outputs — the dataset
``reconciliation_<channel>`` and the 消込エラー list — are built from the ledger rows of the run's
generation, so a rerun (after a crash between the ledger commit and the output commit, or just
again) writes the same bytes and posts nothing twice.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from jobs.common import datasets, paths, plausibility
from jobs.common import fixedwidth as fw
from jobs.common.step import StepContext, StepError
from jobs.intake import inputs as inputs_mod
from jobs.intake.archive import ArchivedFile
from jobs.ledger import Ledger, open_ledger, run_of

from . import channels, levy, reconcile
from .reconcile import REJECTED, STATUS_LABELS

#: SN100's record of the day's registration (jobs.registry LEVY_REGISTRATION; KB410 SN120 waits for it)
LEVY_REGISTRATION = "levy_registration"

# --- SN100 調定登録 ------------------------------------------------------------------------------


def register_levy(ctx: StepContext) -> int | None:
    folder = paths.outbox(str(ctx.config.get("collection.levy_outbox")))
    files = sorted(p for p in folder.glob("*.dat") if p.is_file() and not p.name.startswith(".")) \
        if folder.is_dir() else []
    given = ctx.options.get("files")
    if given:
        files = [Path(p) for p in ([given] if isinstance(given, (str, Path)) else given)]
    layout = fw.load_layout("levy_file")
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    todo = []
    for p in files:
        f = inputs_mod.describe(p, "given")
        with ledger.transaction() as tx:
            done = reconcile.posted_file(tx, f.sha256)
        if done is not None:
            if done["generation"] == ctx.generation:
                todo.append((f, None))  # registered by this generation: report it again
            continue
        todo.append((f, "new"))
    if not todo:
        ctx.message("KKB410I", folder=paths.relative(folder))
    # 当初 before 更正, then by date of creation (the header)
    parsed = []
    for f, state in todo:
        try:
            res = fw.read(layout, f.path, source=f.name)
        except fw.FileRefused as exc:
            raise StepError.of("KKB411E", error=exc) from exc
        head = res.frames["header"].row(0, named=True)
        if head["municipality_code"] != ctx.municipality:
            raise StepError.of("KKB412E", file=f.name, code=head['municipality_code'])
        parsed.append(((head["creation_date"], head["file_kind"], f.name), f, state, res))
    parsed.sort(key=lambda t: t[0])
    summary = []
    for _, f, state, res in parsed:
        data = res.frames["data"].with_columns(pl.lit(f.sha256).alias("source_sha256"))
        rows = levy.levy_rows(data)
        rej = res.rejects
        ctx.totals.count("levy", label="期別調定", read=data.height + rej.height, accepted=data.height,
                         rejected=rej.height)
        if rej.height:
            ctx.reject(rej.select("record_no", "byte_offset", "record_type", "field",
                                  pl.col("label").alias("field_label"), "reason", "raw"), file_name=f.name)
        amount = int(rows["levy_amount"].sum() or 0)
        ctx.totals.add_money("levy_amount", amount, label="期別税額")
        ctx.totals.add_money("change_amount", int(rows["change_amount"].sum() or 0), label="増減額")
        if state is None:
            ctx.message("KKB413I", file=f.name, sha256=f.sha256)
            continue
        with ledger.transaction() as tx:
            figs = levy.register(tx, rows, run)
            reconcile.register_file(tx, sha256=f.sha256, file_name=f.name, channel="levy", records=rows.height,
                                    amount=amount, run=run)
        ctx.message("KKB414I", file=f.name, installments=rows.height, new=figs['installments_new'],
                    changed=figs['installments_changed'], amount=amount)
        summary.append({"file_name": f.name, "sha256": f.sha256, "records": rows.height, "amount": amount})
    with ledger.transaction() as tx:
        pending = reconcile.post_pending(tx, run)
    if pending.height:
        ctx.message("KKB415I", payments=pending.height, amount=int(pending['amount'].sum()))
        ctx.totals.add_figure("pending_posted", pending.height, label="保留分消込")
    ctx.totals.written += sum(s["records"] for s in summary)
    # The day's registration record (issue 12): KB410's SN120 waits for this generation. One row per
    # 調定 file of this generation (also one reported again on a re-run), none on a day without a file.
    # It marks that SN100 ran; its rows are not output records of the step (the written count is the
    # registered installments), so they are taken off again.
    registered = pl.DataFrame(
        [{"file_name": f.name, "sha256": f.sha256, "file_kind": str(key[1]), "records": res.frames["data"].height}
         for key, f, _, res in parsed],
        schema={"file_name": pl.String, "sha256": pl.String, "file_kind": pl.String, "records": pl.Int64},
        orient="row",
    ).sort("file_name")
    ctx.write_dataset(LEVY_REGISTRATION, registered)
    ctx.totals.written -= registered.height
    ledger.dispose()
    return None


# --- 消込 (SN115 / SN205 / SN215 / SN235) --------------------------------------------------------


def post_channel(ctx: StepContext) -> int | None:
    channel = ctx.spec.options["channel"]
    source = ctx.spec.inputs[0]
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    gens = [g for g in datasets.generations(source, municipality=ctx.municipality) if g <= ctx.generation]
    posted_now = 0
    for gen in gens:
        data = None  # the generation is read once, and only when one of its files is new
        for inp in datasets.read_totals(source, gen).get("inputs") or []:
            sha, name = inp["sha256"], inp["name"]
            with ledger.transaction() as tx:
                if reconcile.posted_file(tx, sha) is not None:
                    continue
            data = datasets.read(source, gen) if data is None else data
            frame = data.filter(pl.col("source_sha256") == sha)
            pay, archived = adapt(ctx, channel, source, frame, name, sha)
            trailer_check(ctx, channel, source, name, sha, pay, archived)
            if channel == "pension":
                pension_trailer_check(ctx, inp, name, pay)
            raw = archived_file(ctx, name, sha)
            amount = int(pay["amount"].sum() or 0)
            # one transaction; a large file on DuckDB a slice at a time (collection.reconcile.slice_commit)
            res = reconcile.post_file(
                ledger, pay, run, slicing=reconcile.Slicing.of(ctx.config, ledger.dialect),
                each=lambda tx, res: fill_raw(tx, res.rows, raw),
                register=lambda tx: reconcile.register_file(tx, sha256=sha, file_name=name, channel=channel,
                                                            records=pay.height, amount=amount, run=run))
            posted_now += 1
            ctx.message("KKB420I", file=name, posted=res.counts.get('posted', 0),
                        posted_amount=res.amounts.get('posted', 0), provisional=res.counts.get('provisional', 0),
                        rejected=res.rejected, sha256=sha)
            ctx.message("KKB424I", file=name, installments=res.updated.installments,
                        by_address=res.updated.by_address, by_key=res.updated.installments - res.updated.by_address)
            if res.transactions > 1:
                ctx.message("KKB429I", file=name, records=sum(res.counts.values()), transactions=res.transactions)
            if res.without_provisional:
                ctx.message("KKB421W", file=name, records=res.without_provisional)
            if res.dunned[0]:
                ctx.message("KKB693I", file=name, records=res.dunned[0], tax=res.dunned[1], late_fee=res.dunned[2],
                            fee=res.dunned[3])
            record_messages(ctx, name, res)
    if posted_now == 0:
        ctx.message("KKB422I")
    report(ctx, ledger, channel)
    ledger.dispose()
    return None


#: the records a file's conflicts, rejected 口座振替 results and 訂正 are each named in the job
#: log (the rest are counted in one more message; every one is in the 消込エラー list / 消込データ)
RECORD_MESSAGES = 20


def record_messages(ctx: StepContext, name: str, res: reconcile.PostResult) -> None:
    """KKB435W 金額相違 (保留), KKB436W 口座振替結果 ≠ 請求, KKB437I 訂正: one per record."""
    for msg_id, frame in (("KKB435W", res.conflicts), ("KKB436W", res.debit_rejects),
                          ("KKB437I", res.corrections)):
        if frame.height == 0:
            continue
        for r in frame.head(RECORD_MESSAGES).iter_rows(named=True):
            if msg_id == "KKB436W":
                variant = "no_request" if r["req_amount"] is None else None
                ctx.message(msg_id, variant=variant, file=name, record=r["record_no"],
                            customer_number=r["customer_number"], amount=r["amount"], requested=r["req_amount"])
            else:
                ctx.message(msg_id, file=name, record=r["record_no"], amount=r["amount"], prev_file=r["prev_file"],
                            prev_record=r["prev_record"], prev_amount=r["prev_amount"])
        if frame.height > RECORD_MESSAGES:
            ctx.message(msg_id, variant="more", file=name, records=frame.height - RECORD_MESSAGES)


#: trailer money fields (summed over the file's trailers) ↔ payment frame columns (summed over records)
TRAILER_MONEY = {
    "counter": [(("amount_total",), "amount"), (("late_fee_total",), "late_fee"),
                (("dunning_fee_total",), "dunning_fee")],
    "cvs": [(("provisional_amount", "confirmed_amount", "cancel_amount"), "amount")],
    "debit": [(("total_amount",), "amount")],
}


def trailer_check(ctx: StepContext, channel: str, source: str, name: str, sha: str, pay: pl.DataFrame,
                  archived: fw.ReadResult | None) -> None:
    """The file's trailer against every record of the file, accepted and rejected (issue 13: any
    disagreement is RC 8, the file is not posted). Count: the 消込 rows (one per data record, the
    rejected ones included) against the trailers' 件数. Money: the trailers' sums against the sum
    over all data records of the archived file (``money_all``: rejected records' amounts too) —
    the codec refuses a file whose trailer disagrees, so a difference here means the intake
    dataset and the archive copy are not the same file."""
    if channel not in TRAILER_MONEY:
        return
    trailers = _trailers(ctx, source, [sha])
    stated = int(trailers["total_count"].sum() or 0) if "total_count" in trailers.columns else pay.height
    if stated != pay.height:
        raise StepError.of("KKB427E", file=name, expected=stated, got=pay.height)
    money_all = (archived.totals.get("money_all") or {}) if archived is not None else {}
    for fields, column in TRAILER_MONEY[channel]:
        expected = sum(int(trailers[f].sum() or 0) for f in fields if f in trailers.columns)
        got = money_all.get(f"data.{column}")
        if got is None:
            continue
        if expected != int(got):
            raise StepError.of("KKB425E", file=name, expected=expected, got=int(got), column=column)
    ctx.message("KKB423I", file=name, trailer_count=stated, records=pay.height)


def pension_trailer_check(ctx: StepContext, inp: dict, name: str, pay: pl.DataFrame) -> None:
    """年金特徴 (SN235): TK320 (jobs/pension/apply.py) records each Z24 file's trailer (合計件数,
    合計金額 金額1) and what it did not pass on (不徴収 records, its rejects) in the dataset's
    ``inputs``; the 消込 rows plus those must equal the trailer to the yen, or RC 8 (nothing posted).
    A generation without these figures (written by hand, not by TK320) is posted unchecked."""
    if "trailer_amount" not in inp:
        return
    rejected = int(inp.get("rejected_amount") or 0)
    got = int(pay["amount"].sum() or 0)
    if got + rejected != int(inp["trailer_amount"]):
        raise StepError.of("KKB550E", file=name, field="合計金額 金額1", expected=int(inp["trailer_amount"]),
                           got=got, rejected=rejected)
    count = pay.height + int(inp.get("not_withheld") or 0) + int(inp.get("rejected") or 0)
    if count != int(inp["trailer_count"]):
        raise StepError.of("KKB550E", file=name, field="合計件数", expected=int(inp["trailer_count"]), got=count,
                           rejected=int(inp.get("rejected") or 0))
    ctx.message("KKB423I", file=name, trailer_count=int(inp["trailer_count"]), records=count)


def _trailers(ctx: StepContext, source: str, shas: list[str]) -> pl.DataFrame:
    ds = f"{source}_trailer"
    parts = [datasets.read(ds, g).filter(pl.col("source_sha256").is_in(shas))
             for g in datasets.generations(ds, municipality=ctx.municipality)]
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()


def adapt(ctx: StepContext, channel: str, source: str, frame: pl.DataFrame, name: str,
          sha: str) -> tuple[pl.DataFrame, fw.ReadResult | None]:
    """The normalized payment frame of one intake file (and the archived file's reading): its
    accepted records from the intake dataset, plus what only the archived file holds — the
    records the codec or the plausibility rules rejected (they reach the 消込データ as errors,
    so every record of a file is there), the record stride (CRLF or not) for byte offsets, and
    for 口座振替 the group headers (the 引落日 of each record)."""
    src = channels.Source(Path(name), name, sha)
    if channel == "pension":
        return channels.pension(frame, ctx.config), None
    archive = archived_file(ctx, name, sha)
    if archive is None:
        raise StepError.of("KKB426S", "no_source", job_id=ctx.job_id)
    try:
        archived = archive.read()
    except (OSError, fw.FileRefused) as exc:
        raise StepError.of("KKB426S", path=paths.relative(archive.path), error=exc) from exc
    archived, frame = _plausible(ctx, archive, archived, frame)
    res = _Frames({"data": frame}, archived)
    if channel == "debit":
        res.frames["header"] = archived.frames["header"]
        res.debit_year = debit_year(ctx, archived.frames["header"])
    return channels.ADAPTERS[channel](res, src, ctx.config), archived


#: the reason of a record the intake rejected that the rules at this business date would pass
REASON_INTAKE_REJECTED = "取込時に妥当性検査で不合格 (取込のエラーリスト参照) / rejected at intake by a plausibility rule"


def _plausible(ctx: StepContext, archive: ArchivedFile, archived: fw.ReadResult,
               frame: pl.DataFrame) -> tuple[fw.ReadResult, pl.DataFrame]:
    """The plausibility rules again on the archived file, as at intake (jobs/common/plausibility):
    its rejects join the codec's, and a data record the intake rejected — absent from the
    dataset — is a reject here too, even if the rules at this business date would pass it."""
    limits = plausibility.Limits.of(ctx.config, ctx.business_date, ctx.calendar)
    try:
        archived = plausibility.apply(archive.layout, archived, limits, archive.records)
    except plausibility.Implausible as exc:
        raise StepError.of("KKB113E", error=exc) from exc
    data_rt = archive.layout.data_type.name
    rejected = archived.rejects.filter(pl.col("record_type").is_null() | (pl.col("record_type") == data_rt))
    frame = frame.filter(~pl.col("record_no").is_in(rejected["record_no"].implode()))
    missing = archived.frames[data_rt].filter(~pl.col("record_no").is_in(frame["record_no"].implode()))
    if missing.height:
        nos = missing["record_no"].to_list()
        offsets = [archived.byte_offset(int(n)) for n in nos]
        extra = pl.DataFrame({
            "record_no": pl.Series(nos, dtype=pl.Int64), "byte_offset": pl.Series(offsets, dtype=pl.Int64),
            "record_type": [data_rt] * len(nos), "field": [None] * len(nos), "label": [None] * len(nos),
            "reason": [REASON_INTAKE_REJECTED] * len(nos),
            "raw": pl.Series(archive.records(offsets), dtype=pl.Binary)}, schema=archived.rejects.schema)
        archived.rejects = pl.concat([archived.rejects, extra], how="vertical").sort("record_no")
    return archived, frame


class _Frames:
    """A ReadResult whose data records are the intake dataset's (the archived file's read gives
    the rest)."""

    def __init__(self, frames: dict, archived: fw.ReadResult):
        self.frames = frames
        self.rejects = archived.rejects
        self.lead_in_length = archived.lead_in_length
        self.stride = archived.stride
        self.debit_year = 0


def debit_year(ctx: StepContext, heads: pl.DataFrame) -> int:
    """The year of the result header's 引落日 (MMDD): the 振替日 at or before the business date."""
    if heads.height == 0:
        return ctx.business_date.year
    mmdd = str(heads["debit_date"][0])
    m, d = int(mmdd[:2]), int(mmdd[2:])
    y = ctx.business_date.year
    return y if (m, d) <= (ctx.business_date.month, ctx.business_date.day) else y - 1


def archived_file(ctx: StepContext, name: str, sha: str) -> ArchivedFile | None:
    """The intake's archive copy of an input file (``options["source"]``; None without one: SN235)."""
    source = ctx.spec.options.get("source")
    return ArchivedFile.of(source, name=name, sha256=sha) if source else None


def fill_raw(tx, rows: pl.DataFrame, archive: ArchivedFile | None) -> None:
    """The bytes of rejected records the adapter could not keep, from the archive copy (for the
    消込エラー list)."""
    bad = rows.filter(pl.col("status").is_in(list(REJECTED)) & pl.col("raw").is_null())
    if bad.height == 0:
        return
    offsets = bad["byte_offset"].to_list()
    data = archive.records(offsets) if archive is not None else [None] * len(offsets)
    fix = bad.select("source_sha256", "record_no").with_columns(
        pl.Series("raw_hex", [d.hex() if d is not None else None for d in data], dtype=pl.String))
    tx.stage("_raw", fix)
    tx.run("collection/reconciliation_fill_raw")


def report(ctx: StepContext, ledger: Ledger, channel: str) -> None:
    """The run's outputs from the ledger rows of this generation (the same bytes on a rerun)."""
    rows = ledger.query("collection/reconciliation_of_run", {"g": ctx.generation, "j": ctx.job_id})
    rows = rows.cast({"record_no": pl.Int64, "byte_offset": pl.Int64, "amount": pl.Int64})
    labels = dict(STATUS_LABELS)
    for status, part in rows.sort("status").group_by("status", maintain_order=True):
        st = status[0]
        rejected = st in REJECTED
        ctx.totals.count(st, label=labels.get(st, st), read=part.height,
                         accepted=0 if rejected else part.height, rejected=part.height if rejected else 0)
        ctx.totals.add_money(st, int(part["amount"].sum() or 0), label=labels.get(st, st))
    shas = rows["source_sha256"].unique().to_list()
    if channel in TRAILER_MONEY and shas:
        trailers = _trailers(ctx, ctx.spec.inputs[0], shas)
        for fields, column in TRAILER_MONEY[channel]:
            ctx.totals.add_money(f"trailer.{column}", sum(int(trailers[f].sum() or 0) for f in fields
                                                          if f in trailers.columns), label="トレーラ合計")
    errs = rows.filter(pl.col("status").is_in(list(REJECTED)))
    ctx.reject(errs.select(
        pl.col("source_file").alias("file_name"), "record_no", "byte_offset",
        pl.lit("data").alias("record_type"), pl.lit(None, dtype=pl.String).alias("field"),
        pl.col("status").replace_strict(labels, default=None).alias("field_label"),
        "reason", pl.col("raw_hex").str.decode("hex").alias("raw")))
    out = datasets.sort_by_key(rows.drop("raw_hex"), ("source_file", "source_sha256", "record_no"))
    ctx.write_dataset(f"reconciliation_{channel}", out, totals={
        "channel": channel, "files": sorted(set(out["source_file"].to_list())),
        "money": {"total": int(out["amount"].sum() or 0)}})
    ctx.totals.written -= out.height  # a report of the postings, not new records
    ctx.totals.written += int(rows.filter(pl.col("status") == "posted").height)

