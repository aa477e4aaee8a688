"""The notice job steps (通知書作成), registered in ``jobs.registry``.

- ``FK150 納税通知書作成`` (当初賦課, after FK130): this run's ``assessment``, ``installments`` and
  ``withholding`` and the householders' 宛名 (the intake dataset ``nhi_qualification``) → the
  print-data file for the print vendor (``var/outbox/print/tax_notice_<generation>.dat``, layout
  ``tax_notice_print``) and the PDFs (``var/reports/notices/<generation>/tax_notice_0001.pdf`` …:
  納税通知書, 納付書 with the GS1-128 barcode, 特別徴収開始通知書) with ``tax_notice_index.csv``
  (which household is in which file, from which page).
- ``FK230 変更通知書作成`` (異動賦課, after FK210): the households of this run's ``change_notices``
  whose installments changed → the same outputs for the 税額変更通知書 (``change_notice_*``), the
  amounts before the change from FK210's ``corrections``.

Both read the 世帯主's 口座振替 account from the 収納台帳 (``debit_accounts``; none without a ledger,
KKB695I): the 期 the bank debits are marked 口座振替 on the notice and get no 納付書 (KKB694I).

Both print through ``reports.print_data`` (the notice frame and the fixed-width file) and
``reports.notices`` (the PDFs), so the vendor's file and the PDFs carry the same rows.

A household that cannot be printed (no 送付先 address or name, a name or address the print file
cannot hold, installments that do not add up to the tax, more installments than the print slots)
goes to the error list with its reason (RC 4); it is never dropped silently. Control totals:
households read = printed + rejected; money: Σ 年税額 of the printed notices = the print file's
trailer = Σ 年税額 of the assessment − Σ of the rejected households, to the yen (else RC 8, nothing
delivered); figures: PDF files, pages, 納付書, barcodes.

Outputs appear only when the step commits (RC < 8): the print file is written under a hidden
staged name and renamed (``ctx.stage_file``); the generation's PDF folder is staged whole
(``ctx.stage_dir``: ``.<generation>.staged-<host>-<pid>-<token>``) and swapped in with one rename,
replacing this kind's earlier files and keeping the other kind's. Worker processes render each
PDF to a private hidden name that only the step renames, and die with the step
(``PR_SET_PDEATHSIG``; they also check their parent). A killed run's staging leftovers are
removed when the step next starts (``StepContext``). Everything depends only on the data and
config (issue date and creation date = the business date, reportlab invariant mode), so a rerun
gives the same bytes.
Paths, file names and the households per PDF file are config (``notice_output.*``).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common import datasets, errorlist, paths, pdf_pool
from jobs.common import fixedwidth as fw
from jobs.common.config import Config, ConfigError
from jobs.common.register import one_per_person
from jobs.common.step import StepContext, StepError
from jobs.ledger import ledger_present, open_ledger

from . import reassessment as reass
from . import steps
from .lineage import stale_judgment

INITIAL = "initial"
CHANGE = "change"
HOUSEHOLD = "household"
HOUSEHOLD_LABEL = "世帯"
MONEY_LABELS = {
    "annual_tax": "年税額 (賦課)",
    "printed_annual_tax": "年税額 (通知書)",
    "unprinted_annual_tax": "年税額 (印刷不可)",
    "ordinary": "普通徴収",
    "withholding": "特別徴収",
    "change": "増減額",
    "printed_change": "増減額 (通知書)",
    "unprinted_change": "増減額 (印刷不可)",
    "debit": "口座振替 (納付書なし)",
}
FIGURE_LABELS = {
    "pdf_files": "PDFファイル数",
    "pages": "PDFページ数",
    "notice_pages": "通知書ページ",
    "withholding_start_pages": "特別徴収開始通知書ページ",
    "slip_pages": "納付書ページ",
    "slips": "納付書",
    "barcodes": "バーコード",
    "debit_households": "口座振替世帯",
    "debit_installments": "口座振替の期 (納付書なし)",
}
INDEX_COLUMNS = ("ファイル", "開始ページ", "ページ数", "通知書番号", "世帯番号", "郵便番号", "年税額")


@dataclass(frozen=True)
class OutputSettings:
    """``notice_output.*`` of the config (step options may override the split, for tests)."""

    print_outbox: str
    pdf_folder: str
    names: dict[str, str]
    households_per_pdf: int
    pdf_workers: int

    @classmethod
    def from_config(cls, cfg: Config, options: dict[str, Any] | None = None) -> OutputSettings:
        o = options or {}
        names = {str(k): str(v) for k, v in (cfg.get("notice_output.names") or {}).items()}
        per = int(o.get("households_per_pdf") or cfg.get("notice_output.households_per_pdf"))
        if per < 1:
            raise ConfigError(f"notice_output.households_per_pdf は1以上です: {per}")
        for kind in (INITIAL, CHANGE):
            name = names.get(kind, "")
            if not name or "/" in name or name.startswith("."):
                raise ConfigError(f"notice_output.names.{kind} はファイル名の語幹です: {name!r}")
        return cls(str(cfg.get("notice_output.print_outbox")), str(cfg.get("notice_output.pdf_folder")),
                   names, per, pdf_pool.workers(cfg, o.get("pdf_workers")))


@dataclass
class Issued:
    """What ``_issue`` delivered (for the step's totals)."""

    frame: pl.DataFrame
    rejected: pl.DataFrame  # household_id, reason
    print_path: Path
    pdf_dir: Path
    pages: int
    files: int


# --- FK150 納税通知書作成 -----------------------------------------------------------------------------


def tax_notices(ctx: StepContext) -> int | None:
    agen = steps.require(ctx, "assessment", "FK110 当初賦課")
    igen = steps.require(ctx, "installments", "FK130 期割・納期限")
    wgen = steps.require(ctx, "withholding", "FK120 特別徴収判定")
    _check_lineage(ctx, "installments", igen, {"assessment": agen, "withholding": wgen}, "FK130 期割・納期限")
    assessment = datasets.read("assessment", agen)
    rows = datasets.read("installments", igen)
    judged = datasets.read("withholding", wgen)
    stale = stale_judgment(assessment, judged)
    if stale:
        raise StepError.of("KKB351E", "withholding", withholding=wgen, assessment=agen, stale=stale)
    qgen = steps.require(ctx, "nhi_qualification", "FK020 国保資格取込")
    addresses = one_per_person(datasets.read("nhi_qualification", qgen))

    annual = int(assessment["annual_tax"].sum() or 0)
    _money(ctx, "annual_tax", annual)
    issued = _issue(ctx, INITIAL, assessment, rows, addresses, documents=("notice", "withholding_start", "slips"))
    frame, rejected = issued.frame, issued.rejected
    printed = int(frame["annual_tax"].sum() or 0)
    unprinted = int(assessment.join(rejected, on="household_id", how="semi")["annual_tax"].sum() or 0)
    _money(ctx, "printed_annual_tax", printed)
    _money(ctx, "unprinted_annual_tax", unprinted)
    _money(ctx, "ordinary", int(frame["ordinary_total"].sum() or 0))
    _money(ctx, "withholding", int(frame["withholding_total"].sum() or 0))
    if printed + unprinted != annual:
        raise StepError.of("KKB359E", printed=printed, unprinted=unprinted, annual=annual)
    withheld = judged.filter(pl.col("final_total") + pl.col("provisional_total") > 0).height
    ctx.message("KKB356I", notices=frame.height, withheld=withheld, printed=printed, annual=annual,
                unprinted=unprinted or None)
    return None


# --- FK230 変更通知書作成 -----------------------------------------------------------------------------


def change_notices(ctx: StepContext) -> int | None:
    gen = steps.latest(ctx, "change_notices")
    if gen != ctx.generation:
        raise StepError.of("KKB301E", "reassessment", date=ctx.business_date, dataset="change_notices",
                           generation=ctx.generation)
    ctx.message("KKB302I", dataset="change_notices, corrections, assessment, installments", generation=gen)
    notices = datasets.read("change_notices", gen)
    issue = notices.filter(pl.col("issue_notice")) if "issue_notice" in notices.columns else \
        notices.filter(pl.col("installments_changed") > 0)
    skipped = notices.height - issue.height
    if skipped:
        ctx.message("KKB357I", households=skipped)
    ids = issue.select("household_id")
    assessment = datasets.read("assessment", gen).join(ids, on="household_id", how="semi")
    codes = {label: code for code, label in reass.REASON_LABELS.items()}
    assessment = assessment.join(issue.select(
        "household_id",
        pl.col("correction_seq").cast(pl.Int64).alias("revision") if "correction_seq" in issue.columns
        else pl.lit(1, pl.Int64).alias("revision"),
        pl.col("reason").replace(codes).alias("change_reason"),
    ), on="household_id", how="left")
    rows = datasets.read("installments", gen).join(ids, on="household_id", how="semi")
    corrections = datasets.read("corrections", gen).join(ids, on="household_id", how="semi")
    if "overpayment" in corrections.columns:  # the 過誤納 the 異動賦課 decided, per household
        assessment = assessment.join(corrections.group_by("household_id").agg(
            pl.col("overpayment").fill_null(0).sum().cast(pl.Int64)), on="household_id", how="left")
    previous_assessment = issue.select("household_id", pl.col("annual_before").alias("annual_tax"))
    previous_installments = corrections.select("household_id", "installment_no", "method", "month",
                                               pl.col("amount_before").alias("amount"))
    addresses = one_per_person(datasets.read("nhi_qualification",
                                             steps.require(ctx, "nhi_qualification", "FK020 国保資格取込")))

    change = int(issue["change"].sum() or 0)
    _money(ctx, "change", change)
    issued = _issue(ctx, CHANGE, assessment, rows, addresses, documents=("notice", "slips"),
                    previous_assessment=previous_assessment, previous_installments=previous_installments)
    frame, rejected = issued.frame, issued.rejected
    printed = int(frame["annual_tax"].sum() or 0)
    printed_change = int(issue.join(frame.select("household_id"), on="household_id", how="semi")["change"].sum() or 0)
    unprinted_change = int(issue.join(rejected, on="household_id", how="semi")["change"].sum() or 0)
    _money(ctx, "printed_annual_tax", printed)
    _money(ctx, "printed_change", printed_change)
    _money(ctx, "unprinted_change", unprinted_change)
    if printed_change + unprinted_change != change:
        raise StepError.of("KKB359E", "change", printed=printed_change, unprinted=unprinted_change, change=change)
    ctx.message("KKB358I", notices=frame.height, printed=printed, printed_change=printed_change)
    return None


# --- shared: checks, print file, PDFs ------------------------------------------------------------


def _issue(ctx: StepContext, kind: str, assessment: pl.DataFrame, rows: pl.DataFrame, addresses: pl.DataFrame, *,
           documents: Sequence[str], previous_assessment: pl.DataFrame | None = None,
           previous_installments: pl.DataFrame | None = None) -> Issued:
    from reports import print_data

    cfg = ctx.config
    out = OutputSettings.from_config(cfg, ctx.options)
    notice_kind = print_data.NOTICE_INITIAL if kind == INITIAL else print_data.NOTICE_CHANGE
    assessment = assessment.with_columns(pl.col("household_id").cast(pl.String))
    rows = rows.with_columns(pl.col("household_id").cast(pl.String))
    rejected = unprintable_households(assessment, rows, addresses, cfg, notice_kind=notice_kind)
    ok = assessment.join(rejected, on="household_id", how="anti")
    frame = print_data.notice_frame(
        ok, rows.join(ok.select("household_id"), on="household_id", how="semi"), addresses, cfg,
        issue_date=ctx.business_date, notice_kind=notice_kind,
        previous_assessment=previous_assessment, previous_installments=(
            None if previous_installments is None else
            previous_installments.join(ok.select("household_id"), on="household_id", how="semi")),
        debit_accounts=debit_accounts(ctx),
    )
    bad_text = text_problems(frame)
    if bad_text.height:
        frame = frame.join(bad_text, on="household_id", how="anti")
        rejected = pl.concat([rejected, bad_text], how="vertical")
    _debit_totals(ctx, frame)
    _reject(ctx, rejected, assessment, addresses)
    ctx.totals.count(HOUSEHOLD, label=HOUSEHOLD_LABEL, read=assessment.height, accepted=frame.height,
                     rejected=rejected.height)
    if rejected.height:
        ctx.message("KKB352W", households=rejected.height)

    name = out.names[kind]
    print_path = paths.outbox(out.print_outbox) / f"{name}_{ctx.generation}.dat"
    pdf_dir = paths.reports_root() / out.pdf_folder / ctx.generation
    if frame.height == 0:
        ctx.message("KKB357I", variant="none")
        ctx.on_commit(lambda: print_path.unlink(missing_ok=True))
        if pdf_dir.is_dir():  # this kind's PDFs go, the folder's other files stay (one swap)
            ctx.stage_dir(pdf_dir, keep=lambda f: not _is_kind_file(f, name))
        return Issued(frame, rejected, print_path, pdf_dir, 0, 0)
    _write_print_file(ctx, frame, out, print_path)
    pages, files = _write_pdfs(ctx, frame, out, name, documents, pdf_dir)
    return Issued(frame, rejected, print_path, pdf_dir, pages, files)


def debit_accounts(ctx: StepContext) -> pl.DataFrame | None:
    """The 口座振替 accounts as of the business date from the 収納台帳
    (``sql/ledger/debit_accounts_as_of.sql``: the payers' 口座振替依頼 registered by KB410 SN010/SN020),
    for the notices' 口座振替 items and to leave out the 納付書 of the 期 the bank debits. A city
    without a ledger (賦課 only) gets None — every 期 gets a 納付書 — with KKB695I."""
    if not ledger_present(ctx.config):
        ctx.message("KKB695I")
        return None
    ledger = open_ledger(ctx)
    try:
        return ledger.query("ledger/debit_accounts_as_of", {"m": ctx.municipality, "d": ctx.business_date})
    finally:
        ledger.dispose()


def _debit_totals(ctx: StepContext, frame: pl.DataFrame) -> None:
    """KKB694I and the figures: households paying by 口座振替, and their 期 and amount debited (no 納付書)."""
    from reports import print_data

    debit = frame.filter(pl.col("debit_kind") == print_data.DEBIT_YES)
    periods = amount = 0
    for row in debit.iter_rows(named=True):
        slots = print_data.debited_slots(row)
        periods += len(slots)
        amount += sum(int(row[f"ordinary_{i}_amount"] or 0) for i in slots)
    if debit.height:
        _figure(ctx, "debit_households", debit.height)
        _figure(ctx, "debit_installments", periods)
        _money(ctx, "debit", amount)
        ctx.message("KKB694I", households=debit.height, installments=periods, amount=amount)


def unprintable_households(assessment: pl.DataFrame, rows: pl.DataFrame, addresses: pl.DataFrame, cfg: Config, *,
                           notice_kind: str) -> pl.DataFrame:
    """Households whose notice cannot be made, with the reason (household_id, reason): no
    送付先 (the 世帯主's name, address or postal code missing), installments that do not add up to
    the annual tax (当初: equal; 変更: at least, the excess being the overpayment), more installments
    than the print file has slots."""
    from reports import print_data

    a = assessment.select(pl.col("household_id").cast(pl.String), pl.col("taxpayer_person_id").cast(pl.String),
                          pl.col("annual_tax").cast(pl.Int64))
    addr = addresses.select(pl.col("person_id").cast(pl.String).alias("taxpayer_person_id"),
                            "name_kanji", pl.col("postal_code").cast(pl.String), "address_kanji"
                            ).unique("taxpayer_person_id", keep="first", maintain_order=True)
    j = a.join(addr, on="taxpayer_person_id", how="left")

    def blank(c: str) -> pl.Expr:
        return pl.col(c).is_null() | (pl.col(c).str.strip_chars(" 　") == "")

    problems = [
        j.filter(pl.col("taxpayer_person_id").is_null()).select("household_id", pl.lit("世帯主 (納税義務者) がいない")),
        j.filter(pl.col("taxpayer_person_id").is_not_null() & blank("name_kanji")).select(
            "household_id", pl.lit("送付先の氏名がない (宛名データに世帯主の氏名がない)")),
        j.filter(pl.col("taxpayer_person_id").is_not_null() & blank("address_kanji")).select(
            "household_id", pl.lit("送付先の住所がない")),
        j.filter(pl.col("taxpayer_person_id").is_not_null() & ~blank("address_kanji")
                 & (blank("postal_code") | ~pl.col("postal_code").fill_null("").str.contains(r"^\d{7}$"))).select(
            "household_id", pl.lit("送付先の郵便番号がない、または7桁の数字でない")),
    ]
    sums = rows.group_by(pl.col("household_id").cast(pl.String)).agg(
        pl.col("amount").sum().alias("_total"),
        (pl.col("method") == "ordinary").sum().alias("_ord"),
        (pl.col("method") == "withholding").sum().alias("_wh"),
        (pl.col("amount") < 0).any().alias("_neg"),
    )
    s = a.join(sums, on="household_id", how="left").with_columns(pl.col("_total").fill_null(0),
                                                                 pl.col("_ord").fill_null(0), pl.col("_wh").fill_null(0))
    mismatch = (pl.col("_total") != pl.col("annual_tax")) if notice_kind == print_data.NOTICE_INITIAL \
        else (pl.col("_total") < pl.col("annual_tax"))
    problems.append(s.filter(mismatch).select(
        "household_id", pl.format("期別額の合計 {}円 が年税額 {}円 と一致しない", "_total", "annual_tax")))
    problems.append(s.filter(pl.col("_neg").fill_null(False)).select("household_id", pl.lit("期別額が負の期がある")))
    max_ord = int(cfg.get("notices.max_ordinary_installments"))
    max_wh = int(cfg.get("notices.max_withholding_installments"))
    problems.append(s.filter(pl.col("_ord") > max_ord).select(
        "household_id", pl.format("普通徴収の期数 {} が印刷の上限 {} を超える", "_ord", pl.lit(max_ord))))
    problems.append(s.filter(pl.col("_wh") > max_wh).select(
        "household_id", pl.format("特別徴収の回数 {} が印刷の上限 {} を超える", "_wh", pl.lit(max_wh))))
    problems.append(a.filter(~pl.col("household_id").str.contains(r"^\d{1,10}$")).select(
        "household_id", pl.lit("世帯番号が10桁以内の数字でない (通知書番号・バーコードを作れない)")))
    out = pl.concat([p.rename({p.columns[1]: "reason"}) for p in problems], how="vertical")
    return _merge_reasons(out)


def text_problems(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of a notice frame whose text items the print file cannot hold (household_id, reason):
    a character outside cp932, a control character, longer than the field's bytes, or blank
    where the layout needs a value."""
    from reports import print_data

    layout = fw.load_layout(print_data.LAYOUT_ID)
    parts = []
    for f in layout.data_type.columns:
        if f.type != "text" or f.name not in frame.columns:
            continue
        cs = layout.charset_of(f)
        codec = "cp932" if cs.kind in ("cp932", "sbcs") else "euc_jp"
        col = frame.select("household_id", pl.col(f.name).alias("_v"))
        if not f.blank:
            parts.append(col.filter(pl.col("_v").is_null() | (pl.col("_v") == "")).select(
                "household_id", pl.lit(f"{f.label}がない").alias("reason")))
        values = col["_v"].drop_nulls().unique().to_list()
        bad = {}
        for v in values:
            why = _text_fault(v, codec, f.length)
            if why:
                bad[v] = f"{f.label}を印刷データに書けない: {why}"
        if bad:
            table = pl.DataFrame({"_v": list(bad), "reason": list(bad.values())})
            parts.append(col.join(table, on="_v", how="inner").select("household_id", "reason"))
    if not parts:
        return pl.DataFrame(schema={"household_id": pl.String, "reason": pl.String})
    return _merge_reasons(pl.concat(parts, how="vertical"))


def _text_fault(value: str, codec: str, length: int) -> str | None:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "制御文字がある"
    try:
        data = value.encode(codec)
    except UnicodeEncodeError as exc:
        ch = value[exc.start]
        return f"文字 {ch!r} (U+{ord(ch):04X}) は {codec} にない"
    if len(data) > length:
        return f"{len(data)}バイトで項目の長さ {length}バイトを超える"
    return None


def _merge_reasons(problems: pl.DataFrame) -> pl.DataFrame:
    return problems.group_by("household_id", maintain_order=True).agg(
        pl.col("reason").unique(maintain_order=True).str.join("; ")).sort("household_id")


def _reject(ctx: StepContext, rejected: pl.DataFrame, assessment: pl.DataFrame, addresses: pl.DataFrame) -> None:
    """Error-list rows of the households not printed, pointing at the 世帯主's 資格 record."""
    if rejected.height == 0:
        ctx.reject(errorlist.empty())
        return
    df = rejected.join(assessment.select("household_id", pl.col("taxpayer_person_id").cast(pl.String)),
                       on="household_id", how="left")
    if {"person_id", "record_no", "source_file"} <= set(addresses.columns):
        src = addresses.select(pl.col("person_id").cast(pl.String).alias("taxpayer_person_id"), "record_no",
                               pl.col("source_file").alias("file_name")).unique("taxpayer_person_id", keep="first")
        df = df.join(src, on="taxpayer_person_id", how="left")
    ctx.reject(df.select(
        *[c for c in ("file_name", "record_no") if c in df.columns],
        pl.lit(HOUSEHOLD_LABEL).alias("record_type"),
        pl.lit("household_id").alias("field"),
        pl.lit("世帯番号").alias("field_label"),
        pl.format("世帯 {}: 通知書を印刷できない: {}", "household_id", "reason").alias("reason"),
    ))


def _check_lineage(ctx: StepContext, dataset: str, gen: str, expected: dict[str, str], job: str) -> None:
    """The generation of ``dataset`` was made from the expected input generations (a rerun of
    an earlier step without its followers would print stale installments)."""
    inputs = datasets.read_totals(dataset, gen).get("inputs", {})
    wrong = {k: (inputs.get(k), v) for k, v in expected.items() if k in inputs and inputs[k] != v}
    if wrong:
        detail = ", ".join(f"{k} は世代 {got} から作成 (最新 {want})" for k, (got, want) in wrong.items())
        raise StepError.of("KKB351E", dataset=dataset, generation=gen, detail=detail, job=job)


def _money(ctx: StepContext, name: str, amount: int) -> None:
    ctx.totals.add_money(name, int(amount or 0), label=MONEY_LABELS.get(name))


def _figure(ctx: StepContext, name: str, value: int) -> None:
    ctx.totals.add_figure(name, int(value), label=FIGURE_LABELS.get(name))


# --- the print-data file ------------------------------------------------------------------------


def _write_print_file(ctx: StepContext, frame: pl.DataFrame, out: OutputSettings, final: Path) -> Path:
    from reports import print_data

    staged = ctx.stage_file(final)
    summary = print_data.write_frame(frame, ctx.config, staged, creation_date=ctx.business_date)
    trailer = read_trailer(staged)
    want = {"total_count": frame.height, "annual_tax_total": int(frame["annual_tax"].sum() or 0),
            "ordinary_total_sum": int(frame["ordinary_total"].sum() or 0),
            "withholding_total_sum": int(frame["withholding_total"].sum() or 0)}
    got = {k: trailer.get(k) for k in want}
    if got != want or summary.notices != frame.height:
        raise StepError.of("KKB353E", trailer=got, notices=want)
    ctx.totals.written += frame.height
    ctx.message("KKB354I", path=paths.relative(final), records=frame.height, annual_tax=want['annual_tax_total'])
    return final


def read_trailer(path: Path) -> dict[str, Any]:
    """The numeric items of the print file's trailer record (the last record), by field name."""
    from reports import print_data

    layout = fw.load_layout(print_data.LAYOUT_ID)
    rt = layout.by_role("T")
    size = layout.record_length + (2 if layout.write_line_end == "crlf" or layout.line_end == "crlf" else 0)
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() < size:
            raise StepError.of("KKB353E", "short", path=path)
        fh.seek(-size, os.SEEK_END)
        record = fh.read(layout.record_length)
    if record[:1] != str(rt.code).encode("ascii"):
        raise StepError.of("KKB353E", "no_trailer", path=path)
    out = {}
    for f in rt.fields:
        if f.type == "numeric":
            out[f.name] = int(record[f.offset:f.offset + f.length])
    return out


# --- the PDFs -----------------------------------------------------------------------------------


def _write_pdfs(ctx: StepContext, frame: pl.DataFrame, out: OutputSettings, name: str,
                documents: Sequence[str], final_dir: Path) -> tuple[int, int]:
    # the whole generation folder is staged and swapped in with one rename at the commit; the
    # other notice kind's files in it (FK150 and FK230 of one business date) are kept
    folder = ctx.stage_dir(final_dir, keep=lambda f: not _is_kind_file(f, name))
    parts = [frame.slice(k, out.households_per_pdf) for k in range(0, frame.height, out.households_per_pdf)]
    names = [f"{name}_{i:04d}.pdf" for i in range(1, len(parts) + 1)]
    jobs = [(part, ctx.config, str(folder / n), tuple(documents)) for part, n in zip(parts, names, strict=True)]
    results = pdf_pool.render_files(
        _render_part, jobs, out.pdf_workers,
        on_parallel=lambda n: ctx.message("KKB355I", variant="start", files=len(jobs), workers=n))
    index = _index_csv(frame, names, results)
    (folder / f"{name}_index.csv").write_bytes(index)
    paths.fsync_file(folder / f"{name}_index.csv")
    paths.fsync_dir(folder)
    pages = sum(r["pages"] for r in results)
    for key, doc in (("notice_pages", "notice"), ("withholding_start_pages", "withholding_start"),
                     ("slip_pages", "slips")):
        if doc in documents:
            _figure(ctx, key, sum(r["by_document"][doc] for r in results))
    _figure(ctx, "pdf_files", len(names))
    _figure(ctx, "pages", pages)
    _figure(ctx, "slips", sum(r["slips"] for r in results))
    _figure(ctx, "barcodes", sum(r["barcodes"] for r in results))
    ctx.message("KKB355I", folder=paths.relative(final_dir), name=name, files=len(names), pages=pages,
                households=out.households_per_pdf)
    return pages, len(names)


def _render_part(frame: pl.DataFrame, cfg: Config, path: str, documents: tuple[str, ...]) -> dict[str, Any]:
    """Render one PDF file (a worker process or the step's own) to a private hidden name beside
    ``path`` (``pdf_pool.private_name``); the step renames it (``pdf_pool.adopt``)."""
    from reports import notices

    pdf_pool.check_parent()
    private = pdf_pool.private_name(path)
    per_row = []
    with notices.NoticeWriter(cfg, private, documents=documents) as w:
        for row in frame.iter_rows(named=True):
            before = w.stats.pages
            w.add(row)
            per_row.append(w.stats.pages - before)
        pdf_pool.check_parent()
    st = w.stats
    return {"pages": st.pages, "by_document": dict(st.by_document), "slips": st.slips, "barcodes": st.barcodes,
            "per_row": per_row, "private": str(private), "path": path}


def _index_csv(frame: pl.DataFrame, names: list[str], results: list[dict[str, Any]]) -> bytes:
    """Which household is in which PDF, from which page (UTF-8 with BOM, CRLF, like error lists)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(INDEX_COLUMNS)
    rows = frame.select("notice_no", "household_id", "postal_code", "annual_tax").iter_rows()
    for name, res in zip(names, results, strict=True):
        page = 1
        for pages in res["per_row"]:
            notice_no, hid, postal, annual = next(rows)
            w.writerow((name, page, pages, notice_no, hid, postal, annual))
            page += pages
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _is_kind_file(file_name: str, name: str) -> bool:
    """A file of notice kind ``name`` in a generation's folder (its PDFs and index)."""
    return file_name == f"{name}_index.csv" or (file_name.startswith(f"{name}_") and file_name.endswith(".pdf")
                                                 and file_name[len(name) + 1:-4].isdigit())


def pdf_files(pdf_dir: Path, name: str) -> list[Path]:
    """The PDF files of a notice kind in a generation's folder, in order."""
    return sorted(Path(pdf_dir).glob(f"{name}_[0-9]*.pdf"))
