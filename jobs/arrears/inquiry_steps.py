"""財産調査照会 job step (job net KB610 催告ジョブネット, or on demand; registered in ``jobs/registry.py``).

    TN150 財産調査照会   the 滞納整理システム's 財産調査 照会文書: for each 滞納者 (督促済 and unpaid,
                         not held by a 分割納付 or an 執行停止) owing at least
                         ``property_inquiry.min_amount`` whose last 催告書 (現年 / 一斉) was sent
                         ``days_after_reminder`` days ago or more, and with no 約束期日 still to come, a
                         預貯金等の照会書 to every configured bank not asked about that person in the last
                         ``repeat_after_days`` days. Each (滞納者, bank) is recorded in the 催告履歴
                         (arrears_reminder kind ``inquiry``, with its 期別 in arrears_reminder_item),
                         then from those rows: the PDFs var/reports/arrears/<世代>/zaisan_shokai/
                         shokai_<金融機関コード>_<nnn>.pdf and the list zaisan_shokai_ichiran.csv.

Legal basis (config ``arrears_records.property_inquiry.basis``): 国税徴収法第141条 (質問及び検査:
第3号 the 滞納者's debtor — the bank holding a deposit), applied to 国民健康保険税 by 地方税法第728条
第7項 (滞納処分は国税徴収法に規定する滞納処分の例による). 地方税法第20条の11 (官公署等への協力要請)
is for 官公署・政府関係機関, not banks. No 個人番号: no statute requires it on this 照会書 (番号法 第19条
allows its use for 滞納処分 but does not oblige it; the ledger has none), and the seed's 別添1 (②調査から
滞納管理まで) marks only [19] (他自治体・税務署への実態調査) as "特定個人情報を含むもの、含まないものあり",
not [18] (金融機関へ口座情報の照会); the 滞納者 is named by 氏名,
フリガナ and 住所. The 宛名番号 is not printed either (a bank has no use for it); the 照会番号 links
the reply to the record. A rerun the same day writes the same bytes from the recorded rows and
records nothing.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from jobs.common import paths
from jobs.common.config import ConfigError
from jobs.common.step import StepContext, StepError
from jobs.ledger import audit_columns, now_stamp, open_ledger, run_of

from . import records as rc
from .reminder_steps import taxpayers

KEY = ["levy_year", "notice_number", "installment_no"]
KIND = "inquiry"
KIND_CODE = "4"
LIST_LABELS = {"inquiry_no": "照会番号", "inquiry_date": "照会日", "bank_code": "金融機関コード",
               "bank_name": "金融機関名", "person_id": "宛名番号", "taxpayer_name": "氏名",
               "taxpayer_kana": "フリガナ", "postal_code": "郵便番号", "address": "住所", "amount": "滞納額",
               "installments": "滞納期別数", "oldest_due_date": "最古納期限", "reply_by": "回答期限"}


def inquiry_no(day: dt.date, person_id: str, bank_code: str) -> str:
    """照会番号 (= 催告番号 of the record) = '4' + 照会日 (8) + 宛名番号 (10) + 金融機関コード (4)."""
    return f"{KIND_CODE}{day:%Y%m%d}{person_id}{bank_code}"


def banks(ctx: StepContext) -> list[tuple[str, str]]:
    """(金融機関コード, 名称) of the 照会先, in code order: ``property_inquiry.banks``, or the 口座振替
    banks of the config. KKB654E when a bank has no name or there is none."""
    names = {str(k): str(v) for k, v in (rc.cfg(ctx, "property_inquiry.bank_names") or {}).items()}
    codes = [str(c) for c in (rc.cfg(ctx, "property_inquiry.banks") or [])]
    if not codes:
        try:  # an absent key: no bank from there
            codes += [str(b["bank_code"]) for b in ctx.config.get("direct_debit.collecting_banks") or []]
        except ConfigError:
            pass
        try:
            codes += [str(k) for k in (ctx.config.get("collection.direct_debit.banks") or {}) if str(k) != "default"]
        except ConfigError:
            pass
    codes = sorted(set(codes))
    bad = [c for c in codes if len(c) != 4 or not c.isdigit()]
    unnamed = [c for c in codes if c not in names]
    if not codes or bad or unnamed:
        raise StepError.of("KKB654E", codes=", ".join(bad + unnamed) or "なし")
    return [(c, names[c]) for c in codes]


def property_inquiry(ctx: StepContext) -> int | None:
    d, m = ctx.business_date, ctx.municipality
    if not rc.cfg(ctx, "property_inquiry.enabled"):
        ctx.message("KKB659I")
        return None
    min_amount = int(rc.cfg(ctx, "property_inquiry.min_amount"))
    days = int(rc.cfg(ctx, "property_inquiry.days_after_reminder"))
    repeat = int(rc.cfg(ctx, "property_inquiry.repeat_after_days"))
    reply_days = int(rc.cfg(ctx, "property_inquiry.reply_days"))
    if min(days, repeat, reply_days) < 1:
        raise StepError("arrears_records.property_inquiry の日数は1以上です")
    reply_by = ctx.calendar.roll_forward(d + dt.timedelta(days=reply_days))
    bank_list = banks(ctx)
    bank_frame = pl.DataFrame(bank_list, schema={"bank_code": pl.String, "bank_name": pl.String}, orient="row")
    ledger = open_ledger(ctx)
    run = run_of(ctx)
    try:
        items = rc.arrears_items(ledger, ctx)
        last = ledger.query("arrears/inquiry_last_notice", {"m": m, "d": d})
        free = rc.dunned(items, d).filter(pl.col("held").is_null())
        people = taxpayers(free, as_of=d, fy=ctx.fy, amount_bounds=[0], age_bounds=[0])
        last = last.select(pl.col("person_id").cast(pl.String), pl.col("last_notice_date").cast(pl.Date),
                           pl.col("promise_date").cast(pl.Date)) if last.height else pl.DataFrame(
            schema={"person_id": pl.String, "last_notice_date": pl.Date, "promise_date": pl.Date})
        cutoff = d - dt.timedelta(days=days)
        picked = (people.filter(pl.col("amount") >= min_amount).join(last, on="person_id", how="left")
                  .filter(pl.col("last_notice_date").is_not_null() & (pl.col("last_notice_date") <= cutoff))
                  .filter(pl.col("promise_date").is_null() | (pl.col("promise_date") < d)))
        ctx.message("KKB652I", taxpayers=picked.height, amount=int(picked["amount"].sum() or 0) if picked.height else 0,
                    min_amount=min_amount, days=days, banks=len(bank_list))
        addr = rc.addresses(ctx)
        with_addr = picked.join(addr, on="person_id", how="left")
        targets = rc.reject_missing_addresses(ctx, with_addr, "財産調査照会対象").select(picked.columns)
        ctx.totals.count("taxpayer", label="財産調査照会対象者", read=picked.height, accepted=targets.height,
                         rejected=picked.height - targets.height)
        pairs = targets.select("person_id", "household_id", "amount", "installments", "oldest_due_date").join(
            bank_frame, how="cross")
        with ledger.transaction() as tx:
            history = tx.query("arrears/inquiry_history", {"m": m, "d": d})
            if history.height and pairs.height:
                since = d - dt.timedelta(days=repeat)
                recent = history.select(pl.col("person_id").cast(pl.String), pl.col("bank_code").cast(pl.String),
                                        pl.col("reminder_date").cast(pl.Date)).filter(pl.col("reminder_date") > since)
                before = pairs.height
                pairs = pairs.join(recent.select("person_id", "bank_code").unique(), on=["person_id", "bank_code"],
                                   how="anti")
                if before - pairs.height:
                    ctx.message("KKB653I", inquiries=before - pairs.height, repeat_days=repeat)
            if pairs.height:
                op = now_stamp()
                heads = pairs.sort("person_id", "bank_code").with_columns(
                    pl.concat_str([pl.lit(f"{KIND_CODE}{d:%Y%m%d}"), pl.col("person_id"), pl.col("bank_code")])
                    .alias("reminder_id"))
                tx.insert("arrears_reminder", heads.select(
                    "reminder_id", pl.lit(m).alias("municipality_code"), "person_id", "household_id",
                    pl.lit(KIND).alias("reminder_kind"), pl.lit(d).alias("reminder_date"),
                    pl.col("amount").cast(pl.Int64), pl.col("installments").cast(pl.Int32), "oldest_due_date",
                    pl.lit(None, dtype=pl.Date).alias("promise_date"),
                    pl.concat_str([pl.lit("財産調査照会 "), pl.col("bank_code"), pl.lit(" "), pl.col("bank_name")])
                    .str.slice(0, 200).alias("note"),
                    pl.lit(ctx.job_id).alias("job_id"), *audit_columns(run, op)))
                tx.insert("arrears_reminder_item", free.join(heads.select("person_id", "reminder_id"),
                                                             on="person_id").select(
                    "reminder_id", pl.col("levy_year").cast(pl.Int32), "notice_number",
                    pl.col("installment_no").cast(pl.Int32), "due_date", pl.col("balance").cast(pl.Int64),
                    *audit_columns(run, op)).sort("reminder_id", *KEY))
            issued = tx.query("arrears/reminders_of_day", {"m": m, "kind": KIND, "d": d})
    finally:
        ledger.dispose()
    if issued.height == 0:
        ctx.message("KKB656I")
        return None
    docs = (issued.group_by("reminder_id", maintain_order=True).agg(
        pl.col("person_id").first().cast(pl.String), pl.col("amount").first().cast(pl.Int64),
        pl.col("installments").first().cast(pl.Int64), pl.col("oldest_due_date").first().cast(pl.Date))
        .with_columns(pl.col("reminder_id").str.slice(19, 4).alias("bank_code"))
        .join(bank_frame, on="bank_code", how="left")
        .join(addr, on="person_id", how="left")
        .with_columns(pl.col("reminder_id").alias("inquiry_no"), pl.lit(d).alias("inquiry_date"),
                      pl.lit(reply_by).alias("reply_by"))
        .sort("bank_code", "person_id"))
    missing = docs.filter(pl.col("bank_name").is_null() | pl.col("address").is_null())
    if missing.height:  # a recorded 照会 whose bank or 宛名 has gone from the config / 国保資格
        raise StepError.of("KKB657E", inquiries=missing.height, first=missing["inquiry_no"][0])
    _deliver(ctx, docs, reply_by)
    return None


def _deliver(ctx: StepContext, docs: pl.DataFrame, reply_by: dt.date) -> None:
    from reports import property_inquiry as pi

    folder_final = rc.report_dir(ctx) / "zaisan_shokai"
    folder = ctx.stage_dir(folder_final)
    per_file = int(rc.cfg(ctx, "property_inquiry.pdf_max_documents"))
    pages = files = 0
    for (bank,), part in docs.group_by("bank_code", maintain_order=True):
        for k in range(0, part.height, per_file):
            files += 1
            stats = pi.render_inquiries(part.slice(k, per_file), ctx.config,
                                        folder / f"shokai_{bank}_{k // per_file + 1:03d}.pdf")
            pages += stats.pages
    listing = rc.report_dir(ctx) / "zaisan_shokai_ichiran.csv"
    rc.write_csv(ctx, listing, docs, LIST_LABELS)
    amount = int(docs.unique("person_id")["amount"].sum() or 0)
    people = docs["person_id"].n_unique()
    ctx.totals.count("inquiry", label="財産調査照会書", read=docs.height, accepted=docs.height)
    ctx.totals.written += docs.height
    ctx.totals.add_money("arrears", amount, label="照会対象者の滞納額")
    ctx.totals.add_figure("banks", docs["bank_code"].n_unique(), label="照会先金融機関")
    ctx.totals.add_figure("pdf_pages", pages, label="照会書ページ")
    ctx.totals.add_figure("pdf_files", files, label="照会書PDF")
    ctx.message("KKB655I", documents=docs.height, banks=docs["bank_code"].n_unique(), taxpayers=people,
                amount=amount, files=files, pages=pages, reply_by=reply_by, path=paths.relative(folder_final))


__all__ = ["banks", "inquiry_no", "property_inquiry"]
