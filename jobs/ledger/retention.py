"""KR900 管理外データ削除 (特定個人情報保護評価書: 管理外データ退避及び削除): the files under var/ and
the 収納台帳 rows past their retention (config/common/retention.yaml, jobs.common.retention).

- Files: each past its kind's years after the end of its fiscal year (the newest generation of a
  dataset always stays; the access log, keys, Airflow and the ledger file are never looked at).
- Ledger: the 通知書 of 賦課年度 past the ``ledger.kind`` retention that are paid in full or
  written off, with their 期別, 調定履歴, 納付履歴, 消込, 口座振替請求, 不納欠損 and 充当 rows
  (sql/ledger/retention_*.sql); an unpaid notice stays (its 時効 may have been renewed).
  posted_file rows of business days before that year's end go too.
- Every run writes a purge report (var/reports/retention/purge_<date>_<time>.csv: what went, or
  with ``dry_run`` what would go) and an access-log line (act ``purge``, the 宛名番号 of the
  notices deleted). ``kokuho purge [--dry-run]`` and the KR900 step (job net KB900) run ``purge``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common import access_log, paths
from jobs.common import retention as files

from .db import Ledger

#: the tables holding rows of a 通知書, with the prefix of their key columns; notice last
LEDGER_TABLES: tuple[tuple[str, str], ...] = (
    ("payment", ""), ("reconciliation", ""), ("levy_history", ""), ("debit_request", ""), ("write_off", ""),
    ("refund_offset", "from_"), ("installment", ""), ("notice", ""),
)


@dataclass
class PurgeResult:
    dry_run: bool
    today: dt.date
    items: list[files.Item] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)
    ledger_max_year: int | None = None
    notices: pl.DataFrame | None = None
    ledger_rows: dict[str, int] = field(default_factory=dict)
    report: Path | None = None

    @property
    def size(self) -> int:
        return sum(i.size for i in self.items)

    @property
    def notice_count(self) -> int:
        return 0 if self.notices is None else self.notices.height

    @property
    def row_count(self) -> int:
        return sum(self.ledger_rows.values())

    def atena(self) -> list[str]:
        if self.notices is None or not self.notices.height:
            return []
        return sorted(set(self.notices["person_id"].drop_nulls().to_list())
                      | set(self.notices["household_id"].drop_nulls().to_list()))


def purge(cfg, today: dt.date, *, municipality: str, dry_run: bool = True, ledger: Ledger | None = None,
          var: Path | None = None, step: str = "KR900") -> PurgeResult:
    """Delete (or with ``dry_run`` list) what is past its retention on ``today``."""
    pol = files.policy(cfg)
    var = var or paths.var_root()
    result = PurgeResult(dry_run, today)
    result.items, result.unclassified = files.plan(pol, today, var=var)
    if ledger is not None:
        kind = pol.kind(pol.ledger_kind)
        result.ledger_max_year = kind.newest_expired_fy(today, pol.calendar)
        first_kept = pol.calendar.fiscal_year_first_day(result.ledger_max_year + 1)
        params = {"m": municipality, "y": result.ledger_max_year}
        with ledger.transaction() as tx:
            result.notices = tx.query("ledger/retention_notices", params)
            if dry_run:
                if result.notices.height:
                    tx.stage("_purge", _keys(result.notices))
                    for table, prefix in LEDGER_TABLES:
                        result.ledger_rows[table] = int(
                            tx.value("ledger/retention_delete", table=table, prefix=prefix, count=True) or 0)
                result.ledger_rows["posted_file"] = int(tx.value(
                    "ledger/retention_posted_files", {"m": municipality, "b": first_kept}, count=True) or 0)
            else:
                if result.notices.height:
                    tx.stage("_purge", _keys(result.notices))
                    for table, prefix in LEDGER_TABLES:
                        result.ledger_rows[table] = int(
                            tx.run("ledger/retention_delete", table=table, prefix=prefix).rowcount or 0)
                result.ledger_rows["posted_file"] = int(
                    tx.run("ledger/retention_posted_files", {"m": municipality, "b": first_kept}).rowcount or 0)
    if not dry_run:
        files.delete(result.items, var=var)
    result.report = write_report(result, pol, var=var)
    access_log.record(action="purge" if not dry_run else "purge-dry-run", step=step, file=paths.relative(result.report), atena=result.atena(),
                      rows=len(result.items) + result.row_count,
                      extra={"files": len(result.items), "bytes": result.size, "ledger_rows": result.ledger_rows,
                             "ledger_max_year": result.ledger_max_year, "today": today.isoformat()})
    return result


def _keys(notices: pl.DataFrame) -> pl.DataFrame:
    return notices.select(pl.col("municipality_code").cast(pl.String), pl.col("levy_year").cast(pl.Int32),
                          pl.col("target_year").cast(pl.Int32), pl.col("notice_number").cast(pl.String),
                          pl.col("person_id").cast(pl.String), pl.col("household_id").cast(pl.String))


def write_report(result: PurgeResult, pol: files.Policy, *, var: Path) -> Path:
    """The purge report (CSV, UTF-8 with BOM for Excel), 0600: one line per file and per ledger table."""
    now = dt.datetime.now()
    folder = paths.ensure_dir(var / "reports" / pol.report_folder, 0o700)
    name = f"purge_{'dryrun_' if result.dry_run else ''}{now:%Y%m%d_%H%M%S_%f}.csv"
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["区分", "種別", "対象", "年度", "年度の決め方", "削除可能日", "件数・バイト", "実行"])
    mode = "予定 (dry run)" if result.dry_run else "削除済"
    for item in result.items:
        w.writerow(["ファイル", item.label, item.rel, item.fiscal_year, item.source, item.expires_on.isoformat(),
                    item.size, mode])
    for table, rows in result.ledger_rows.items():
        w.writerow(["収納台帳", pol.kind(pol.ledger_kind).label, table, result.ledger_max_year, "賦課年度",
                    "", rows, mode])
    for rel in result.unclassified:
        w.writerow(["ファイル", "(種別なし)", rel, "", "", "", "", "残した"])
    path = folder / name
    paths.write_atomic(path, ("\ufeff" + out.getvalue()).encode("utf-8"), mode=0o600)
    return path


def unverified(pol: files.Policy, result: PurgeResult) -> list[str]:
    used = {i.kind for i in result.items} | ({pol.ledger_kind} if result.row_count else set())
    return sorted(k.label for k in pol.kinds if k.name in used and not k.verified)


def purge_step(ctx) -> int | None:
    """KR900 管理外データ削除: ``purge`` on the business date (option ``dry_run``)."""
    from .session import open_ledger

    dry = bool(ctx.options.get("dry_run", False))
    ledger = open_ledger(ctx)
    try:
        result = purge(ctx.config, ctx.business_date, municipality=ctx.municipality, dry_run=dry, ledger=ledger,
                       step=ctx.job_id)
    finally:
        ledger.dispose()
    return report_messages(ctx, result)


def report_messages(ctx, result: PurgeResult) -> int | None:
    pol = files.policy(ctx.config)
    report = paths.relative(result.report) if result.report else ""
    ctx.totals.count("file", label="ファイル", read=len(result.items), accepted=len(result.items))
    ctx.totals.count("notice", label="台帳の通知書", read=result.notice_count, accepted=result.notice_count)
    ctx.totals.add_figure("ledger_rows", result.row_count, label="台帳の行")
    ctx.totals.add_figure("bytes", result.size, label="バイト")
    if result.dry_run:
        ctx.message("KKB803I", files=len(result.items), size=result.size, notices=result.notice_count,
                    rows=result.row_count, report=report)
    else:
        ctx.message("KKB800I", files=len(result.items), size=result.size, report=report)
        ctx.message("KKB801I", max_year=result.ledger_max_year, notices=result.notice_count, rows=result.row_count)
    if result.unclassified:
        ctx.message("KKB802W", files=len(result.unclassified), sample=", ".join(result.unclassified[:3]))
    kinds = unverified(pol, result)
    if kinds and not result.dry_run:
        ctx.message("KKB804W", kinds=", ".join(kinds))
    return None


def summary(result: PurgeResult) -> dict[str, Any]:
    return {"dry_run": result.dry_run, "files": len(result.items), "bytes": result.size,
            "notices": result.notice_count, "ledger_rows": result.ledger_rows,
            "unclassified": len(result.unclassified), "report": str(result.report)}
