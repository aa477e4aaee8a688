"""滞納整理の記録 job steps (job net KB620 滞納記録ジョブネット; registered in ``jobs/registry.py``).

    TN210 分割納付計画登録   bunkatsu*.csv → arrears_plan / _target / _installment (one plan a record),
                             the 分割納付 納付書 of every 回 (print data var/outbox/print/
                             arrears_plan_<世代>.dat, layout arrears_plan_print; PDF in
                             var/reports/arrears/<世代>/bunkatsu_nofusho.pdf)
    TN220 履行状況確認       active plans: a 回 unpaid ``plan.broken_after_days`` after its date →
                             broken (不履行; its 期別 are no longer held from 督促/催告, see
                             sql/arrears/held_installments.sql); every target paid → completed;
                             履行状況一覧 CSV/PDF
    TN310 返戻登録           henrei*.csv (returned 納税通知書 / 督促状) → arrears_return (pending 調査中)
    TN320 住所調査結果・公示送達  chousa*.csv → found (判明): new address and 再送付日, 再送付一覧 CSV and a
                             returned 督促状 printed again to the new address (dunning_reissue_<世代>.dat);
                             not found (不明): 公示送達 掲示日 and 送達日 = 掲示日 + ``public_notice.effect_days``
                             (地方税法20条の2第3項), 公示送達対象者一覧 CSV/PDF
    TN410 執行停止登録       teishi*.csv → arrears_suspension (地方税法15条の7 第1項 各号, 第5項 即時消滅)
                             and 取消 (15条の8); 執行停止一覧 CSV/PDF with the day the 納付義務 ends
                             (sql/arrears/suspension_limitation.sql, what the year close reads)

Every input file (jobs/arrears/records.py): a 個人番号 column refuses it (KKB640E); a record that
does not pass goes to the error list with file, record, field and reason (RC 4, KKB701W); a file
already posted (by SHA-256) is not posted again (KKB638I); each file's ledger writes and its
posted_file row are one transaction, every row keyed by the file's hash and the record number.
The lists and print data are written from the ledger rows of the day's files: a rerun writes the
same bytes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import polars as pl

from jobs.common import paths
from jobs.common.step import StepContext
from jobs.ledger import Ledger, audit_columns, now_stamp, open_ledger, run_of

from . import records as rc
from .dunning_steps import notice_rows

PLAN_CHANNEL, RETURN_CHANNEL, SEARCH_CHANNEL, SUSPENSION_CHANNEL = "plan", "returned", "search", "suspend"
STATUS_LABELS = {"active": "履行中", "broken": "不履行", "completed": "完了", "cancelled": "取消"}
KEY = ("levy_year", "notice_number", "installment_no")


def _audit(run, op) -> dict[str, Any]:
    return {"op": run.operator_id, "od": op[0], "ot": op[1], "rs": run.reason}


def _row_id(prefix: str, sha: str, record_no: int, width: int) -> str:
    return f"{prefix}{sha[:width - 8]}{record_no:07d}"


def _split(text: str) -> list[str]:
    return [t for t in re.split(r"[;；\s]+", text.strip()) if t]


def _new_files(ctx: StepContext, ledger: Ledger, kind: str, columns: Mapping[str, tuple[str, ...]],
               required: tuple[str, ...]) -> list[rc.InputFile]:
    """The run's files of ``kind`` not posted yet (read; KKB640E / KKB639E refuse the step)."""
    out = []
    for path in rc.input_files(ctx, kind):
        f = rc.read_csv(ctx, path, columns, required)
        if not rc.already_posted(ctx, ledger, f):
            out.append(f)
    return out


def _finish_file(ctx: StepContext, f: rc.InputFile, record_type: str, label: str) -> None:
    """Counts of one file: a record is rejected once, whatever number of its fields failed."""
    rejected = len({r["record_no"] for r in f.rejects})
    accepted = len(f.records) - rejected
    ctx.totals.count(record_type, label=label, read=len(f.records), accepted=accepted, rejected=rejected)
    ctx.message("KKB700I", file=f.name, records=len(f.records), accepted=accepted, rejected=rejected)


def _end_rejects(ctx: StepContext, files: list[rc.InputFile]) -> None:
    n = rc.send_rejects(ctx, files)
    if n:
        ctx.message("KKB701W", rejected=n)


def _shas_of_day(ledger: Ledger, ctx: StepContext, channel: str) -> list[str]:
    frame = ledger.query("arrears/posted_files_of_day", {"m": ctx.municipality, "d": ctx.business_date, "c": channel})
    return frame["source_sha256"].to_list() if frame.height else []


def _yes(text: str) -> bool:
    t = text.strip().lower()
    if t in {"1", "有", "あり", "yes", "y", "true", "即時消滅"}:
        return True
    if t in {"", "0", "無", "なし", "no", "n", "false"}:
        return False
    raise ValueError(f"1 (即時消滅) か 0 です: {text!r}")


def _write_list(ctx: StepContext, stem: str, frame: pl.DataFrame, columns: list[tuple[str, str, str, float]],
                *, title: str, subtitle: str, footer: str = "", pdf: bool = True) -> str:
    """``<stem>.csv`` (and ``.pdf``) in var/reports/arrears/<世代>/, staged then committed."""
    from reports.arrears_records import render_list

    folder = rc.report_dir(ctx)
    csv_path = rc.write_csv(ctx, folder / f"{stem}.csv", frame, {k: label for k, label, _kind, _w in columns})
    if pdf:
        stats = render_list(ctx.config, ctx.stage_file(folder / f"{stem}.pdf"), title=title, subtitle=subtitle,
                            columns=columns, rows=frame, footer=footer)
        ctx.totals.add_figure(f"{stem.split('_')[0]}_pdf_pages", stats.pages, label=f"{title} PDF頁")
    return paths.relative(csv_path)


# --- TN210 分割納付計画登録 ---------------------------------------------------------------------------

PLAN_INPUT = {
    "person_id": ("宛名番号", "納税義務者宛名番号"),
    "registered_date": ("誓約日", "pledge_date"),
    "plan_amount": ("計画額",),
    "targets": ("対象期別",),
    "due_dates": ("納付期日",),
    "amounts": ("納付額",),
}


def _parse_target(text: str) -> tuple[int, str, int]:
    m = re.fullmatch(r"(\d{4})[-:/](\d{11})[-:/](\d{1,2})", text.strip())
    if not m:
        raise ValueError(f"対象期別は 年度-通知書番号(11桁)-期別 です: {text!r}")
    return int(m.group(1)), m.group(2), int(m.group(3))


def _slip_targets(targets: list[dict[str, Any]], amounts: list[int]) -> list[dict[str, Any]]:
    """The 期別 each 回's 納付書 names: the oldest target still open after the earlier 回 (paid in
    the order of the targets, oldest 納期限 first); past the last target's balance, the last one."""
    out, before = [], 0
    for amount in amounts:
        cum, pick = 0, targets[-1]
        for t in targets:
            cum += int(t["balance"])
            if cum > before:
                pick = t
                break
        out.append(pick)
        before += amount
    return out


def register_plans(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    max_n = int(rc.cfg(ctx, "plan.max_installments"))
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    files = _new_files(ctx, ledger, "plan", PLAN_INPUT, tuple(PLAN_INPUT))
    addr = rc.addresses(ctx) if files else None  # KKB636E before anything is posted
    items = rc.arrears_items(ledger, ctx) if files else pl.DataFrame(schema=rc.ITEM_SCHEMA)
    by_key = {(r["levy_year"], r["notice_number"], r["installment_no"]): r for r in items.iter_rows(named=True)}
    taken: set[tuple[int, str, int]] = set()
    if files:
        held = ledger.query("arrears/plan_targets_all", {"m": m})
        taken = {(int(r["levy_year"]), r["notice_number"], int(r["installment_no"]))
                 for r in held.iter_rows(named=True) if r["status"] == "active"}
    plans = installments_n = amount_total = 0
    for f in files:
        plan_rows, target_rows, inst_rows = [], [], []
        for rec in f.records:
            before = len(f.rejects)
            person = rc.field_value(f, rec, "person_id", "宛名番号", rc.parse_atena)
            pledged = rc.field_value(f, rec, "registered_date", "誓約日", rc.parse_date)
            plan_amount = rc.field_value(f, rec, "plan_amount", "計画額", rc.parse_yen)
            keys = rc.field_value(f, rec, "targets", "対象期別", lambda t: [_parse_target(x) for x in _split(t)])
            dues = rc.field_value(f, rec, "due_dates", "納付期日", lambda t: [rc.parse_date(x) for x in _split(t)])
            amounts = rc.field_value(f, rec, "amounts", "納付額", lambda t: [rc.parse_yen(x) for x in _split(t)])
            if len(f.rejects) > before:
                continue

            def bad(fld: str, label: str, reason: str, rec=rec) -> None:
                f.reject(rec, fld, label, reason)

            if pledged > d:
                bad("registered_date", "誓約日", f"誓約日 {pledged} が業務日 {d} より後です")
                continue
            if not keys:
                bad("targets", "対象期別", "対象期別がありません")
                continue
            targets, problem = [], None
            for k in dict.fromkeys(keys):
                item = by_key.get(k)
                if item is None or item["person_id"] != person:
                    problem = f"{k[0]}-{k[1]}-{k[2]} は宛名番号 {person} の滞納 (納期限を過ぎた未納の期別) ではありません"
                    break
                if item["held"] == "suspension":
                    problem = f"{k[0]}-{k[1]}-{k[2]} は執行停止中です (分割納付の対象にできません)"
                    break
                if k in taken:
                    problem = f"{k[0]}-{k[1]}-{k[2]} は履行中の分割納付計画の対象です (計画の重複)"
                    break
                targets.append(item)
            if problem:
                bad("targets", "対象期別", problem)
                continue
            if len(dues) != len(amounts) or not dues:
                bad("amounts", "納付額", f"納付期日 {len(dues)}件 と納付額 {len(amounts)}件 の数が合いません")
                continue
            if len(dues) > max_n:
                bad("due_dates", "納付期日", f"分割回数 {len(dues)} が上限 {max_n} 回を超えます")
                continue
            if any(b <= a for a, b in zip(dues, dues[1:], strict=False)) or dues[0] < pledged:
                bad("due_dates", "納付期日", "納付期日は誓約日以後で、回ごとに後の日付 (昇順) にしてください")
                continue
            if any(a <= 0 for a in amounts) or sum(amounts) != plan_amount:
                bad("amounts", "納付額", f"納付額の合計 {sum(amounts):,}円 が計画額 {plan_amount:,}円 と一致しません")
                continue
            owed = sum(int(t["balance"]) for t in targets)
            if plan_amount < owed:
                bad("plan_amount", "計画額", f"計画額 {plan_amount:,}円 が対象期別の未納額 {owed:,}円 に足りません")
                continue
            targets.sort(key=lambda t: (t["due_date"], t["levy_year"], t["notice_number"], t["installment_no"]))
            plan_id = _row_id("P", f.sha256, rec.record_no, 24)
            plan_rows.append({"plan_id": plan_id, "municipality_code": m, "person_id": person,
                              "household_id": targets[0]["household_id"], "registered_date": pledged,
                              "first_due_date": dues[0], "last_due_date": dues[-1], "plan_amount": plan_amount,
                              "installment_count": len(dues),
                              "paid_at_registration": sum(int(t["paid_amount"]) for t in targets),
                              "status": "active", "status_date": None, "source_sha256": f.sha256,
                              "job_id": ctx.job_id})
            for t in targets:
                target_rows.append({"plan_id": plan_id, "levy_year": t["levy_year"], "notice_number": t["notice_number"],
                                    "installment_no": t["installment_no"], "municipality_code": m,
                                    "due_date": t["due_date"], "balance": int(t["balance"])})
                taken.add((t["levy_year"], t["notice_number"], t["installment_no"]))
            for no, (due, amount, slip) in enumerate(zip(dues, amounts, _slip_targets(targets, amounts), strict=True), 1):
                inst_rows.append({"plan_id": plan_id, "plan_no": no, "due_date": due, "amount": amount,
                                  "slip_levy_year": slip["levy_year"], "slip_notice_number": slip["notice_number"],
                                  "slip_installment_no": slip["installment_no"]})
        op = now_stamp()
        with ledger.transaction() as tx:
            if plan_rows:
                audit = audit_columns(run, op)
                tx.insert("arrears_plan", pl.DataFrame(plan_rows, schema_overrides={
                    "status_date": pl.Date, "installment_count": pl.Int32}).with_columns(*audit))
                tx.insert("arrears_plan_target", pl.DataFrame(target_rows).with_columns(
                    pl.col("levy_year", "installment_no").cast(pl.Int32), *audit))
                tx.insert("arrears_plan_installment", pl.DataFrame(inst_rows).with_columns(
                    pl.col("plan_no", "slip_levy_year", "slip_installment_no").cast(pl.Int32), *audit))
            rc.mark_posted(tx, f, PLAN_CHANNEL, run, records=len(f.records),
                           amount=sum(p["plan_amount"] for p in plan_rows))
        _finish_file(ctx, f, "plan", "分割納付計画")
        plans += len(plan_rows)
        installments_n += len(inst_rows)
        amount_total += sum(p["plan_amount"] for p in plan_rows)
    if not files:
        ctx.totals.count("plan", label="分割納付計画")
    _end_rejects(ctx, files)
    ctx.totals.add_money("plan_amount", amount_total, label="計画額")
    if plans:
        ctx.message("KKB702I", plans=plans, amount=amount_total, installments=installments_n)
    shas = _shas_of_day(ledger, ctx, PLAN_CHANNEL)
    slips = ledger.query("arrears/plans_of_day", {"m": m, "d": d, "c": PLAN_CHANNEL}) if shas else None
    ledger.dispose()
    if slips is not None and slips.height:
        _deliver_plan_slips(ctx, slips, addr if addr is not None else rc.addresses(ctx))
    return None


def _deliver_plan_slips(ctx: StepContext, slips: pl.DataFrame, addr: pl.DataFrame) -> None:
    from reports import print_data
    from reports.arrears_records import PLAN_COLUMNS, render_plan_slips, write_plan_print_file

    cfg = ctx.config
    rows = slips.join(addr.select("person_id", pl.col("taxpayer_name").alias("addressee_name"), "postal_code",
                                  "address"), on="person_id", how="left", maintain_order="left")
    rows = rc.reject_missing_addresses(ctx, rows, "分割納付 納付書")
    if rows.height == 0:
        return
    rows = rows.with_columns(pl.col("slip_levy_year").cast(pl.Int64), pl.col("slip_installment_no").cast(pl.Int64),
                             pl.col("plan_no").cast(pl.Int64), pl.col("installment_count").cast(pl.Int64))
    parts = []
    for (levy_year,), part in rows.with_row_index("_i").group_by("slip_levy_year", maintain_order=True):
        slots = part.select(pl.col("slip_household_id").alias("household_id"),
                            pl.col("slip_installment_no").alias("installment_no"), "due_date", "amount",
                            pl.lit(0).alias("_revision"))
        parts.append(part.with_columns(print_data.barcode_series(slots, cfg, fy=int(levy_year)).alias("barcode")))
    rows = pl.concat(parts).sort("_i").select(*PLAN_COLUMNS)
    print_final = paths.outbox("print") / f"arrears_plan_{ctx.generation}.dat"
    summary = write_plan_print_file(rows, cfg, ctx.stage_file(print_final), issue_date=ctx.business_date)
    pdf_final = rc.report_dir(ctx) / "bunkatsu_nofusho.pdf"
    stats = render_plan_slips(rows, cfg, ctx.stage_file(pdf_final), issue_date=ctx.business_date)
    ctx.totals.written += rows.height
    ctx.totals.add_figure("slips", rows.height, label="分割納付 納付書")
    ctx.totals.add_figure("pdf_pages", stats.pages, label="納付書PDF頁")
    ctx.totals.add_money("slip_amount", summary.amount_total, label="納付書金額")
    ctx.message("KKB703I", slips=rows.height, amount=summary.amount_total, path=paths.relative(print_final),
                pages=stats.pages)


# --- TN220 履行状況確認 -------------------------------------------------------------------------------

PLAN_LIST = [("plan_id", "計画番号", "text", 38.0), ("person_id", "宛名番号", "text", 20.0),
             ("registered_date", "誓約日", "date", 18.0), ("plan_amount", "計画額", "yen", 18.0),
             ("due_so_far", "期日到来額", "yen", 18.0), ("paid_since", "誓約後収納額", "yen", 18.0),
             ("shortfall", "不足額", "yen", 16.0), ("balance_now", "未納残額", "yen", 16.0),
             ("status_label", "状態", "text", 18.0)]


def check_plans(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    days = int(rc.cfg(ctx, "plan.broken_after_days"))
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    checks = ledger.query("arrears/plans_check", {"m": m, "as_of": d})
    if checks.height == 0:
        ledger.dispose()
        ctx.totals.count("plan", label="分割納付計画")
        ctx.message("KKB710I", as_of=d)
        return None
    insts = ledger.query("arrears/plan_installments", {"m": m})
    ripe = insts.filter(pl.col("due_date") + pl.duration(days=days) <= pl.lit(d)).group_by("plan_id").agg(
        pl.col("amount").sum().alias("due_so_far"))
    rows = checks.join(ripe, on="plan_id", how="left").with_columns(
        pl.col("due_so_far").fill_null(0).cast(pl.Int64),
        (pl.col("paid_now") - pl.col("paid_at_registration")).cast(pl.Int64).alias("paid_since"),
        pl.col("balance_now").cast(pl.Int64), pl.col("plan_amount").cast(pl.Int64))
    rows = rows.with_columns(
        pl.max_horizontal(pl.col("due_so_far") - pl.col("paid_since"), pl.lit(0)).alias("shortfall"))
    rows = rows.with_columns(
        pl.when(pl.col("status") != "active").then(pl.col("status"))
        .when(pl.col("balance_now") <= 0).then(pl.lit("completed"))
        .when(pl.col("shortfall") > 0).then(pl.lit("broken"))
        .otherwise(pl.lit("active")).alias("new_status")).sort("plan_id")
    changed = rows.filter((pl.col("status") == "active") & (pl.col("new_status") != "active"))
    if changed.height:
        op = now_stamp()
        with ledger.transaction() as tx:
            tx.run("arrears/plan_status_set", [{"p": r["plan_id"], "st": r["new_status"], "d": d, **_audit(run, op)}
                                               for r in changed.iter_rows(named=True)])
    ledger.dispose()
    counts = {s: rows.filter(pl.col("new_status") == s).height for s in ("active", "broken", "completed")}
    broken = rows.filter(pl.col("new_status") == "broken")
    ctx.totals.count("plan", label="分割納付計画", read=rows.height, accepted=rows.height)
    ctx.totals.written += changed.height
    for s, n in counts.items():
        ctx.totals.add_figure(f"plan_{s}", n, label=f"計画({STATUS_LABELS[s]})")
    ctx.totals.add_money("shortfall", int(broken["shortfall"].sum() or 0), label="不履行 不足額")
    out = rows.with_columns(pl.col("new_status").replace_strict(STATUS_LABELS, default="").alias("status_label"))
    path = _write_list(ctx, f"rikou_joukyou_{d:%Y%m%d}", out.select([c[0] for c in PLAN_LIST]), PLAN_LIST,
                       title="分割納付 履行状況一覧", subtitle=f"基準日 {d.isoformat()}  不履行: 納付期日から"
                       f"{days}日を過ぎても期日到来額に満たない計画")
    ctx.message("KKB704I", as_of=d, path=path, active=counts["active"], broken=counts["broken"],
                completed=counts["completed"])
    if broken.height:
        ctx.message("KKB705W", plans=broken.height, shortfall=int(broken["shortfall"].sum() or 0))
    return None


# --- TN310 返戻登録 ------------------------------------------------------------------------------------

RETURN_INPUT = {
    "person_id": ("宛名番号",),
    "document_kind": ("文書種別", "document"),
    "levy_year": ("賦課年度", "年度"),
    "notice_number": ("通知書番号",),
    "installment_no": ("期別",),
    "returned_date": ("返戻日",),
    "return_reason": ("返戻事由", "reason"),
}


def _doc_kind(text: str) -> str:
    t = text.strip()
    for code, label in rc.DOC_LABELS.items():
        if t in (code, label):
            return code
    raise ValueError(f"文書種別は 1 (納税通知書) か 2 (督促状) です: {text!r}")


def _int_in(lo: int, hi: int, label: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"\d+", text.strip()) or not lo <= int(text) <= hi:
            raise ValueError(f"{label}は {lo}〜{hi} の数字です: {text!r}")
        return int(text)
    return parse


def _notice_no(text: str) -> str:
    if not re.fullmatch(r"\d{11}", text.strip()):
        raise ValueError(f"通知書番号は11桁の数字です: {text!r}")
    return text.strip()


def register_returns(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    files = _new_files(ctx, ledger, "returned", RETURN_INPUT,
                       ("person_id", "document_kind", "levy_year", "notice_number", "returned_date"))
    total = 0
    if files:
        owned = ledger.query("arrears/person_notices", {"m": m})
        inst = {(r["person_id"], int(r["levy_year"]), r["notice_number"], int(r["installment_no"])): r["dunning_issued_date"]
                for r in owned.iter_rows(named=True)}
        notices = {(p, y, n) for (p, y, n, _i) in inst}
        pending = {(r["person_id"], r["document_kind"], int(r["levy_year"]), r["notice_number"], int(r["installment_no"]))
                   for r in ledger.query("arrears/returns_all", {"m": m}).iter_rows(named=True)
                   if r["search_result"] == "pending"}
    for f in files:
        rows = []
        for rec in f.records:
            before = len(f.rejects)
            person = rc.field_value(f, rec, "person_id", "宛名番号", rc.parse_atena)
            kind = rc.field_value(f, rec, "document_kind", "文書種別", _doc_kind)
            year = rc.field_value(f, rec, "levy_year", "賦課年度", _int_in(2000, 2099, "賦課年度"))
            notice = rc.field_value(f, rec, "notice_number", "通知書番号", _notice_no)
            no = rc.field_value(f, rec, "installment_no", "期別", _int_in(0, 99, "期別"), optional=True) or 0
            returned = rc.field_value(f, rec, "returned_date", "返戻日", rc.parse_date)
            if len(f.rejects) > before:
                continue
            if returned > d:
                f.reject(rec, "returned_date", "返戻日", f"返戻日 {returned} が業務日 {d} より後です")
            elif (person, year, notice) not in notices:
                f.reject(rec, "notice_number", "通知書番号",
                         f"宛名番号 {person} の {year}年度 通知書番号 {notice} は収納台帳にありません")
            elif kind == "2" and (no == 0 or inst.get((person, year, notice, no)) is None):
                f.reject(rec, "installment_no", "期別", f"{year}年度 {notice} 第{no}期 に督促状は発行されていません")
            elif (person, kind, year, notice, no) in pending:
                f.reject(rec, "notice_number", "通知書番号", "同じ文書の返戻が調査中です (登録済)")
            else:
                pending.add((person, kind, year, notice, no))
                rows.append({"return_id": _row_id("R", f.sha256, rec.record_no, 40), "municipality_code": m,
                             "person_id": person, "document_kind": kind, "levy_year": year, "notice_number": notice,
                             "installment_no": no, "returned_date": returned,
                             "return_reason": rec.values.get("return_reason") or None, "search_result": "pending",
                             "search_date": None, "new_postal_code": None, "new_address": None, "reissue_date": None,
                             "posting_date": None, "effective_date": None, "source_sha256": f.sha256,
                             "record_no": rec.record_no, "job_id": ctx.job_id})
        op = now_stamp()
        with ledger.transaction() as tx:
            if rows:
                dates = ("search_date", "reissue_date", "posting_date", "effective_date")
                strs = ("return_reason", "new_postal_code", "new_address")
                tx.insert("arrears_return", pl.DataFrame(rows, schema_overrides={
                    **dict.fromkeys(dates, pl.Date), **dict.fromkeys(strs, pl.String)}).with_columns(
                    pl.col("levy_year", "installment_no").cast(pl.Int32), *audit_columns(run, op)))
            rc.mark_posted(tx, f, RETURN_CHANNEL, run, records=len(f.records))
        _finish_file(ctx, f, "returned", "返戻")
        total += len(rows)
    ledger.dispose()
    if not files:
        ctx.totals.count("returned", label="返戻")
    ctx.totals.written += total
    _end_rejects(ctx, files)
    if total:
        ctx.message("KKB706I", records=total)
    return None


# --- TN320 住所調査結果・公示送達 ---------------------------------------------------------------------

SEARCH_INPUT = {
    "person_id": ("宛名番号",),
    "result": ("調査結果",),
    "search_date": ("調査日",),
    "postal_code": ("郵便番号", "判明郵便番号"),
    "address": ("住所", "判明住所"),
    "return_id": ("返戻番号",),
}
_FOUND = {"判明", "found", "1"}
_NOT_FOUND = {"不明", "not_found", "2"}

REISSUE_LIST = [("return_id", "返戻番号", "text", 40.0), ("person_id", "宛名番号", "text", 20.0),
                ("document_label", "文書", "text", 16.0), ("levy_year", "賦課年度", "text", 12.0),
                ("notice_number", "通知書番号", "text", 22.0), ("installment_no", "期別", "text", 8.0),
                ("new_postal_code", "郵便番号", "text", 14.0), ("new_address", "判明住所", "text", 48.0)]
NOTICE_LIST = [("person_id", "宛名番号", "text", 18.0), ("taxpayer_name", "氏名", "text", 26.0),
               ("address", "最後の住所", "text", 44.0), ("document_label", "送達する書類", "text", 16.0),
               ("levy_year", "年度", "text", 10.0), ("notice_number", "通知書番号", "text", 22.0),
               ("installment_no", "期別", "text", 8.0), ("posting_date", "掲示日", "date", 18.0),
               ("effective_date", "送達日", "date", 18.0)]


def _search_result(text: str) -> str:
    t = text.strip()
    if t in _FOUND:
        return "found"
    if t in _NOT_FOUND:
        return "not_found"
    raise ValueError(f"調査結果は 判明 か 不明 です: {text!r}")


def public_notice_dates(ctx: StepContext) -> tuple[dt.date, dt.date]:
    """掲示日 (the business date moved ``posting_business_days`` business days on) and 送達日 =
    掲示日 + ``effect_days`` (地方税法20条の2第3項: 掲示を始めた日から起算して7日を経過したとき)."""
    n = int(rc.cfg(ctx, "public_notice.posting_business_days"))
    posting = ctx.calendar.add_business_days(ctx.business_date, n) if n else ctx.business_date
    return posting, posting + dt.timedelta(days=int(rc.cfg(ctx, "public_notice.effect_days")))


def record_searches(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    posting, effective = public_notice_dates(ctx)
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    files = _new_files(ctx, ledger, "search", SEARCH_INPUT, ("person_id", "result", "search_date"))
    returns = ledger.query("arrears/returns_all", {"m": m})
    open_by_person: dict[str, list[str]] = {}
    for r in returns.iter_rows(named=True):
        if r["search_result"] == "pending":
            open_by_person.setdefault(r["person_id"], []).append(r["return_id"])
    found_n = missing_n = 0
    for f in files:
        updates = []
        for rec in f.records:
            before = len(f.rejects)
            person = rc.field_value(f, rec, "person_id", "宛名番号", rc.parse_atena)
            result = rc.field_value(f, rec, "result", "調査結果", _search_result)
            searched = rc.field_value(f, rec, "search_date", "調査日", rc.parse_date)
            if len(f.rejects) > before:
                continue
            ids = open_by_person.get(person, [])
            wanted = rec.values.get("return_id", "")
            if wanted:
                ids = [i for i in ids if i == wanted]
            if searched > d:
                f.reject(rec, "search_date", "調査日", f"調査日 {searched} が業務日 {d} より後です")
                continue
            if not ids:
                f.reject(rec, "person_id", "宛名番号", f"宛名番号 {person} に調査中の返戻がありません")
                continue
            postal = address = None
            if result == "found":
                postal = rec.values.get("postal_code", "").replace("-", "")
                address = rec.values.get("address", "")
                if not re.fullmatch(r"\d{7}", postal):
                    f.reject(rec, "postal_code", "郵便番号", f"判明のときは郵便番号 (7桁) が必要です: {postal!r}")
                    continue
                if not address:
                    f.reject(rec, "address", "住所", "判明のときは住所が必要です")
                    continue
            for rid in ids:
                updates.append({"r": rid, "res": result, "sd": searched, "pc": postal, "ad": address,
                                "rd": d if result == "found" else None,
                                "pd": posting if result == "not_found" else None,
                                "ed": effective if result == "not_found" else None})
            open_by_person[person] = [i for i in open_by_person[person] if i not in ids]
            if result == "found":
                found_n += len(ids)
            else:
                missing_n += len(ids)
        op = now_stamp()
        with ledger.transaction() as tx:
            if updates:
                tx.run("arrears/return_search_set", [{**u, **_audit(run, op)} for u in updates])
            rc.mark_posted(tx, f, SEARCH_CHANNEL, run, records=len(f.records))
        _finish_file(ctx, f, "search", "住所調査結果")
    after = ledger.query("arrears/returns_all", {"m": m})
    dunning = ledger.query("arrears/reissue_dunning", {"m": m, "d": d})
    ledger.dispose()
    if not files:
        ctx.totals.count("search", label="住所調査結果")
    _end_rejects(ctx, files)
    ctx.totals.written += found_n + missing_n
    after = after.with_columns(pl.col("document_kind").replace_strict(rc.DOC_LABELS, default="").alias("document_label"))
    reissued = after.filter(pl.col("reissue_date") == d)
    noticed = after.filter(pl.col("posting_date") == posting)
    ctx.totals.add_figure("found", reissued.height, label="住所判明 (再送付)")
    ctx.totals.add_figure("public_notice", noticed.height, label="公示送達")
    if reissued.height:
        path = _write_list(ctx, f"saisoufu_{d:%Y%m%d}", reissued, REISSUE_LIST, title="返戻 再送付一覧",
                           subtitle=f"再送付日 {d.isoformat()}", pdf=False)
        ctx.message("KKB707I", records=reissued.height, path=path)
    if dunning.height:
        _reissue_dunning_notices(ctx, dunning)
    if noticed.height:
        addr = rc.addresses(ctx, required=False)
        rows = noticed.join(addr.select("person_id", "taxpayer_name", "address"), on="person_id", how="left",
                            maintain_order="left")
        rc.reject_missing_addresses(ctx, rows, "公示送達")  # KKB635W; listed all the same (掲示 of the name known)
        path = _write_list(ctx, f"koji_soutatsu_{d:%Y%m%d}", rows, NOTICE_LIST, title="公示送達対象者一覧",
                           subtitle=f"掲示日 {posting.isoformat()}  送達日 {effective.isoformat()}",
                           footer=f"地方税法第20条の2第3項により、掲示を始めた日から起算して"
                           f"{int(rc.cfg(ctx, 'public_notice.effect_days'))}日を経過したときに書類の送達があったものとみなす。")
        ctx.message("KKB708I", records=noticed.height, posting=posting, effective=effective, path=path)
    return None


def _reissue_dunning_notices(ctx: StepContext, rows: pl.DataFrame) -> None:
    """The returned 督促状 whose address was found, printed again as issued (督促状番号, amounts,
    指定期限, barcode) to the new address: print file var/outbox/print/dunning_reissue_<世代>.dat
    (layout dunning_notice_print) and tokusoku_saisoufu.pdf in the report folder."""
    from reports import dunning as rd

    cfg = ctx.config
    names = rc.addresses(ctx, required=False).select("person_id", pl.col("taxpayer_name").alias("addressee_name"))
    rows = notice_rows(rows.join(names, on="person_id", how="left", maintain_order="left").with_columns(
        pl.col("levy_year").cast(pl.Int64), pl.col("installment_no").cast(pl.Int64)), cfg)
    final = paths.outbox("print") / f"dunning_reissue_{ctx.generation}.dat"
    summary = rd.write_print_file(rows, cfg, ctx.stage_file(final), issue_date=ctx.business_date)
    stats = rd.render_dunning_notices(rows, cfg, ctx.stage_file(rc.report_dir(ctx) / "tokusoku_saisoufu.pdf"))
    ctx.totals.add_figure("reissued_dunning", rows.height, label="督促状 再送付")
    ctx.totals.add_figure("reissue_pdf_pages", stats.pages, label="督促状 再送付 PDF頁")
    ctx.message("KKB711I", records=rows.height, amount=summary.grand_total, path=paths.relative(final))


# --- TN410 執行停止登録 ----------------------------------------------------------------------------

SUSPENSION_INPUT = {
    "action": ("区分",),
    "person_id": ("宛名番号",),
    "reason_code": ("停止事由コード", "停止事由"),
    "start_date": ("停止開始日",),
    "immediate": ("即時消滅",),
    "lifted_date": ("取消日", "停止取消日"),
    "note": ("備考",),
}
SUSPENSION_LIST = [("suspension_id", "執行停止番号", "text", 40.0), ("person_id", "宛名番号", "text", 18.0),
                   ("reason_code", "事由", "text", 8.0), ("start_date", "停止開始日", "date", 18.0),
                   ("immediate_label", "即時消滅", "text", 14.0), ("extinction_date", "納付義務消滅日", "date", 22.0),
                   ("installments", "期別数", "text", 12.0), ("balance", "未納額", "yen", 22.0),
                   ("candidate_label", "消滅到来", "text", 26.0)]


def _one_of(values: set[str], label: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.strip() not in values:
            raise ValueError(f"{label}は {', '.join(sorted(values))} のいずれかです: {text!r}")
        return text.strip()
    return parse


def _action(text: str) -> str:
    t = text.strip().lower()
    if t in {"", "登録", "1", "register"}:
        return "register"
    if t in {"取消", "2", "lift", "cancel"}:
        return "lift"
    raise ValueError(f"区分は 登録 か 取消 です: {text!r}")


def register_suspensions(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    reasons = {str(k) for k in rc.cfg(ctx, "suspension.reasons")}
    years = int(rc.cfg(ctx, "suspension.extinction_years"))
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    files = _new_files(ctx, ledger, "suspension", SUSPENSION_INPUT, ("person_id",))
    registered = immediate = lifted = 0
    if files:
        debtors = set(rc.arrears_items(ledger, ctx)["person_id"].to_list())
        active = {}
        for r in ledger.query("arrears/suspensions_all", {"m": m}).iter_rows(named=True):
            if r["lifted_date"] is None:
                active[r["person_id"]] = r
    for f in files:
        rows, lifts = [], []
        for rec in f.records:
            before = len(f.rejects)
            action = rc.field_value(f, rec, "action", "区分", _action, optional=True) or "register"
            person = rc.field_value(f, rec, "person_id", "宛名番号", rc.parse_atena)
            if len(f.rejects) > before:
                continue
            if action == "lift":
                when = rc.field_value(f, rec, "lifted_date", "取消日", rc.parse_date)
                if when is None:
                    continue
                cur = active.get(person)
                if cur is None:
                    f.reject(rec, "person_id", "宛名番号", f"宛名番号 {person} に取り消す執行停止がありません")
                elif when < cur["start_date"] or when > d:
                    f.reject(rec, "lifted_date", "取消日", f"取消日 {when} は停止開始日 {cur['start_date']} から業務日 {d} の間です")
                else:
                    lifts.append({"s": cur["suspension_id"], "l": when})
                    del active[person]
                continue
            code = rc.field_value(f, rec, "reason_code", "停止事由コード", _one_of(reasons, "停止事由コード"))
            start = rc.field_value(f, rec, "start_date", "停止開始日", rc.parse_date)
            now = rc.field_value(f, rec, "immediate", "即時消滅", _yes, optional=True) or False
            if len(f.rejects) > before:
                continue
            if start > d:
                f.reject(rec, "start_date", "停止開始日", f"停止開始日 {start} が業務日 {d} より後です")
            elif person not in debtors:
                f.reject(rec, "person_id", "宛名番号", f"宛名番号 {person} に滞納 (納期限を過ぎた未納) がありません")
            elif person in active:
                f.reject(rec, "person_id", "宛名番号", f"宛名番号 {person} は執行停止中です ({active[person]['suspension_id']})")
            elif now and code != "1":
                f.reject(rec, "immediate", "即時消滅", "即時消滅 (地方税法15条の7第5項) は第1号 (停止事由 1) の停止だけです")
            else:
                row = {"suspension_id": _row_id("S", f.sha256, rec.record_no, 40), "municipality_code": m,
                       "person_id": person, "reason_code": code, "start_date": start, "immediate_extinction": now,
                       "lifted_date": None, "note": rec.values.get("note") or None, "source_sha256": f.sha256,
                       "record_no": rec.record_no, "job_id": ctx.job_id}
                rows.append(row)
                active[person] = row
        op = now_stamp()
        with ledger.transaction() as tx:
            if rows:
                tx.insert("arrears_suspension", pl.DataFrame(rows, schema_overrides={
                    "lifted_date": pl.Date, "note": pl.String}).with_columns(*audit_columns(run, op)))
            if lifts:
                tx.run("arrears/suspension_lift", [{**x, **_audit(run, op)} for x in lifts])
            rc.mark_posted(tx, f, SUSPENSION_CHANNEL, run, records=len(f.records))
        _finish_file(ctx, f, "suspension", "執行停止")
        registered += len(rows)
        immediate += sum(1 for r in rows if r["immediate_extinction"])
        lifted += len(lifts)
    if not files:
        ctx.totals.count("suspension", label="執行停止")
    _end_rejects(ctx, files)
    ctx.totals.written += registered + lifted
    ctx.totals.add_figure("registered", registered, label="執行停止 登録")
    ctx.totals.add_figure("lifted", lifted, label="執行停止 取消")
    shas = set(_shas_of_day(ledger, ctx, SUSPENSION_CHANNEL))
    day = pl.DataFrame()
    if shas:
        day = ledger.query("arrears/suspensions_of_day", {"m": m, "d": d, "c": SUSPENSION_CHANNEL})
        limit = ledger.query("arrears/suspension_limitation", {"m": m, "as_of": d, "years": years})
    ledger.dispose()
    if day.height:
        per = (limit.group_by("suspension_id").agg(pl.len().alias("installments"),
                                                    pl.col("balance").sum().alias("balance"),
                                                    pl.col("extinction_date").first(), pl.col("candidate").any())
               if limit.height else pl.DataFrame(schema={"suspension_id": pl.String, "installments": pl.UInt32,
                                                        "balance": pl.Int64, "extinction_date": pl.Date,
                                                        "candidate": pl.Boolean}))
        out = day.join(per, on="suspension_id", how="left", maintain_order="left").with_columns(
            pl.col("installments").fill_null(0), pl.col("balance").fill_null(0).cast(pl.Int64),
            # the day suspension_limitation.sql gives the year close; the same rule when nothing is unpaid
            pl.coalesce(pl.col("extinction_date"), pl.when(pl.col("immediate_extinction")).then(pl.col("start_date"))
                        .otherwise(pl.col("start_date").dt.offset_by(f"{years}y"))).alias("extinction_date"),
            pl.when(pl.col("immediate_extinction")).then(pl.lit("有 (第5項)")).otherwise(pl.lit("")).alias(
                "immediate_label"),
            pl.when(pl.col("lifted_date").is_not_null()).then(pl.format("取消 {}", pl.col("lifted_date")))
            .when(pl.col("candidate").fill_null(False)).then(pl.lit("消滅 (不納欠損対象)"))
            .otherwise(pl.lit("")).alias("candidate_label"))
        path = _write_list(ctx, f"shikkou_teishi_{d:%Y%m%d}", out, SUSPENSION_LIST, title="滞納処分の執行停止一覧",
                           subtitle=f"業務日 {d.isoformat()}  納付義務消滅日: 停止開始日から{years}年 "
                           "(地方税法15条の7第4項) / 即時消滅は停止開始日 (同第5項)")
        ctx.message("KKB709I", registered=registered, immediate=immediate, lifted=lifted, path=path)
    elif registered or lifted:
        ctx.message("KKB709I", registered=registered, immediate=immediate, lifted=lifted, path="-")
    return None
