"""``kokuho``: the command line of kokuho-batch.

    kokuho run <job-id> --date 2026-06-15 [--fy 2026] [--municipality 111007] [--file PATH ...] [--force]
    kokuho jobs
    kokuho errors <job-id> [--municipality 111007] [--path]
    kokuho datasets [<dataset>]
    kokuho layout-listing <layout-id> | --all
    kokuho synth ...            (the synthetic city generator: jobs.synth.cli)
    kokuho synth-payments ...   (synthetic payment files from 調定 files: jobs.synth.payments)
    kokuho synth-nenkin ...     (pension-insurer simulator: Z22/Z2A → Z23/Z24: jobs.synth.insurer)
    kokuho shisan ...           (試算 of one household's tax: jobs.assessment.shisan)
    kokuho rundays KBnnn|<rule> [--fy YYYY | --from D --to D]   (業務日程: jobs.common.runcalendar)
    kokuho messages [ID]        (メッセージ一覧: jobs/common/messages.yaml)
    kokuho archive cat <file|sha256> [--inbox SRC]   (保管ファイルの復号表示: jobs.intake.secure_cli)
    kokuho keys init|rotate|list|pair                (保管鍵・個人番号HMAC鍵: jobs.intake.secure_cli)
    kokuho audit --atena <宛名番号> [--json] | --summary   (アクセス記録: jobs.common.access_log)
    kokuho purge [--dry-run] [--date D]        (管理外データ削除 KR900: jobs.ledger.retention)
    kokuho arrears-record plan|suspension --date D --person 宛名番号 ...   (分割納付計画 / 執行停止 1件: TN210 / TN410)

``run`` prints the job log and exits with the step's return code (0, 4, 8, 12, 16).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.getLogger("kokuho").addHandler(logging.NullHandler())  # the CLI prints the job log itself
    from jobs.common import paths

    paths.private_umask()  # every file the command writes is 0600, every folder 0700
    if argv and argv[0] in ("archive", "keys"):  # its own argument parser (jobs.intake.secure_cli)
        from jobs.intake.secure_cli import main as secure_main

        return int(secure_main(argv) or 0)
    if argv and argv[0] == "synth":  # its own argument parser
        from jobs.synth.cli import main as synth_main

        return int(synth_main(argv[1:]) or 0)
    if argv and argv[0] == "synth-payments":  # its own argument parser
        from jobs.synth.payments import main as payments_main

        return int(payments_main(argv[1:]) or 0)
    if argv and argv[0] == "synth-nenkin":  # its own argument parser
        from jobs.synth.insurer import main as insurer_main

        return int(insurer_main(argv[1:]) or 0)
    if argv and argv[0] == "shisan":  # its own argument parser
        from jobs.assessment.shisan import main as shisan_main

        _record_shisan(argv[1:])
        return int(shisan_main(argv[1:]) or 0)
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kokuho", description="国保税バッチ kokuho-batch")
    sub = p.add_subparsers(dest="command", metavar="<command>")

    r = sub.add_parser("run", help="ジョブステップを実行する (終了コード = RC)")
    r.add_argument("job_id", help="ジョブID (例 FK010)")
    r.add_argument("--date", required=True, type=_date, help="業務日 YYYY-MM-DD")
    r.add_argument("--fy", type=int, default=None, help="年度 (既定: 業務日の属する年度)")
    r.add_argument("--municipality", default=None, help="団体コード6桁 (既定: 設定の既定団体)")
    r.add_argument("--file", dest="files", action="append", default=None, metavar="PATH",
                   help="受信箱の代わりにこのファイルを取り込む (複数可)")
    r.add_argument("--force", action="store_true", help="取込済みと同じ内容のファイルも取り込む")
    r.set_defaults(func=cmd_run)

    ar = sub.add_parser("arrears-record", help="分割納付計画 1件 / 執行停止 1件 を登録する (TN210 / TN410 を1行のファイルで実行)")
    ars = ar.add_subparsers(dest="record", metavar="<plan|suspension>", required=True)
    ap = ars.add_parser("plan", help="分割納付計画 1件 (TN210: 検査・登録・納付書)")
    ap.add_argument("--person", required=True, help="宛名番号")
    ap.add_argument("--pledged", required=True, type=_date, help="誓約日 YYYY-MM-DD")
    ap.add_argument("--amount", required=True, help="計画額 (円)")
    ap.add_argument("--targets", required=True, help="対象期別 年度-通知書番号-期別 (; 区切り)")
    ap.add_argument("--dues", required=True, help="各回の納付期日 (; 区切り, 昇順)")
    ap.add_argument("--amounts", required=True, help="各回の納付額 (; 区切り, 合計 = 計画額)")
    asp = ars.add_parser("suspension", help="執行停止 1件 の登録または取消 (TN410)")
    asp.add_argument("--person", required=True, help="宛名番号")
    asp.add_argument("--reason", default="", help="停止事由コード (1 無財産 / 2 生活困窮 / 3 所在・財産不明)")
    asp.add_argument("--start", type=_date, default=None, help="停止開始日 YYYY-MM-DD")
    asp.add_argument("--immediate", action="store_true", help="即時消滅 (地方税法15条の7第5項, 事由1のみ)")
    asp.add_argument("--lift", type=_date, default=None, help="停止取消日 YYYY-MM-DD (取消のとき)")
    asp.add_argument("--note", default="", help="備考")
    for x in (ap, asp):
        x.add_argument("--date", required=True, type=_date, help="業務日 YYYY-MM-DD")
        x.add_argument("--municipality", default=None, help="団体コード6桁 (既定: 設定の既定団体)")
    ar.set_defaults(func=cmd_arrears_record)

    j = sub.add_parser("jobs", help="ジョブ一覧")
    j.set_defaults(func=cmd_jobs)

    jn = sub.add_parser("jobnets", help="ジョブネットの構成 (タスクと先行タスク; DAG はこれから作られる)")
    jn.add_argument("jobnet", nargs="?", help="ジョブネットID (KB400) または dag_id; 省略時は全件")
    jn.set_defaults(func=cmd_jobnets)

    e = sub.add_parser("errors", help="最新のエラーリストを表示する")
    e.add_argument("job_id")
    e.add_argument("--municipality", default=None)
    e.add_argument("--path", action="store_true", help="ファイルのパスだけを表示する")
    e.set_defaults(func=cmd_errors)

    d = sub.add_parser("datasets", help="データセットと世代の一覧")
    d.add_argument("dataset", nargs="?")
    d.set_defaults(func=cmd_datasets)

    lst = sub.add_parser("layout-listing", help="レイアウトの項目一覧 (オフセット・長さ・項目名)")
    lst.add_argument("layout_id", nargs="?")
    lst.add_argument("--all", action="store_true", help="全レイアウトを layouts/listings/ に書き出す")
    lst.set_defaults(func=cmd_layout_listing)

    rd = sub.add_parser("rundays", help="業務日程: ジョブネット (KB300, KB310 …) または業務日程の名前の定時実行日の一覧")
    rd.add_argument("rule", help="KBnnn (業務日程を持つジョブネット) または run_calendar.yaml の業務日程の名前")
    rd.add_argument("--fy", type=int, default=None, help="年度 (既定: 今日の属する年度; --from/--to と併用不可)")
    rd.add_argument("--from", dest="start", type=_date, default=None, help="開始日 YYYY-MM-DD")
    rd.add_argument("--to", dest="end", type=_date, default=None, help="終了日 YYYY-MM-DD")
    rd.add_argument("--municipality", default=None, help="団体コード6桁 (既定: 設定の既定団体)")
    rd.set_defaults(func=cmd_rundays)

    m = sub.add_parser("messages", help="メッセージ一覧 (ID・レベル・文言・対処)")
    m.add_argument("msg_id", nargs="?", metavar="ID", help="メッセージID (KKBnnnX); 省略時は全件")
    m.set_defaults(func=cmd_messages)

    a = sub.add_parser("audit", help="アクセス記録: ある宛名番号の記録を誰がいつ読み書きしたか")
    who = a.add_mutually_exclusive_group(required=True)
    who.add_argument("--atena", help="宛名番号 (個人または世帯; 個人番号は不可)")
    who.add_argument("--summary", action="store_true",
                     help="職員・ジョブごとの記録件数と、台帳の行の操作者ID別件数 (処理事由のない行は警告 RC 4)")
    a.add_argument("--municipality", default=None, help="団体コード6桁 (通知書番号の引き当てに使う台帳)")
    a.add_argument("--json", action="store_true", help="JSON Lines で出力する")
    a.set_defaults(func=cmd_audit)

    pg = sub.add_parser("purge", help="管理外データ削除 (KR900): 保存期間を過ぎたファイルと台帳の行を削除する")
    pg.add_argument("--dry-run", action="store_true", help="削除せず、削除予定を一覧にする")
    pg.add_argument("--date", type=_date, default=None, help="基準日 YYYY-MM-DD (既定: 今日)")
    pg.add_argument("--municipality", default=None, help="団体コード6桁 (既定: 設定の既定団体)")
    pg.add_argument("--no-ledger", action="store_true", help="収納台帳には触れない (ファイルだけ)")
    pg.set_defaults(func=cmd_purge)

    sub.add_parser("synth", help="合成団体データを生成する (kokuho synth --help)", add_help=False)
    sub.add_parser("synth-payments", help="合成の収納データを生成する (kokuho synth-payments --help)", add_help=False)
    sub.add_parser("synth-nenkin", help="年金保険者シミュレータ: Z22 に Z23/Z24 を返す (kokuho synth-nenkin --help)",
                   add_help=False)
    sub.add_parser("shisan", help="1世帯の国民健康保険税を試算する (kokuho shisan --help)", add_help=False)
    sub.add_parser("archive", help="保管ファイルを復号して表示する (kokuho archive cat --help)", add_help=False)
    sub.add_parser("keys", help="鍵の作成・更新・一覧 (kokuho keys --help)", add_help=False)
    return p


# --- commands ----------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    from jobs.common import config as config_mod
    from jobs.common import messages
    from jobs.common.step import RC_ABEND, RC_SEVERE, StepAbend
    from jobs.runner import run_job

    options = {}
    if args.files:
        options["files"] = args.files
    if args.force:
        options["force"] = True
    try:
        result = run_job(args.job_id, fy=args.fy, business_date=args.date, municipality=args.municipality,
                         echo=_print, **options)
    except KeyError as exc:  # unknown job id
        _print(messages.line("KKB920E", error=exc.args[0] if exc.args else exc), err=True)
        return RC_SEVERE
    except config_mod.ConfigError as exc:
        _print(messages.line("KKB910S", error=exc), err=True)
        return RC_SEVERE
    except StepAbend as exc:
        return min(exc.result.rc, 255) or RC_ABEND
    return min(result.rc, 255)


def cmd_arrears_record(args: argparse.Namespace) -> int:
    """One 分割納付計画 or 執行停止 as a one-record CSV run through TN210 / TN410 (``kokuho run --file``):
    the same checks, error list and RC; the same command twice posts nothing twice (KKB638I)."""
    import csv
    import io
    import tempfile

    if args.record == "plan":
        job, name = "TN210", "bunkatsu_kokuho_cli.csv"
        header = ["宛名番号", "誓約日", "計画額", "対象期別", "納付期日", "納付額"]
        row = [args.person, args.pledged.isoformat(), args.amount, args.targets, args.dues, args.amounts]
    else:
        job, name = "TN410", "teishi_kokuho_cli.csv"
        header = ["区分", "宛名番号", "停止事由コード", "停止開始日", "即時消滅", "取消日", "備考"]
        row = ["取消" if args.lift else "登録", args.person, args.reason, args.start.isoformat() if args.start else "",
               "1" if args.immediate else "0", args.lift.isoformat() if args.lift else "", args.note]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, row])
    with tempfile.TemporaryDirectory(prefix="kokuho-cli-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(buf.getvalue().encode("utf-8"))
        ns = argparse.Namespace(job_id=job, fy=None, date=args.date, municipality=args.municipality,
                                files=[str(path)], force=False)
        return cmd_run(ns)


def cmd_jobs(args: argparse.Namespace) -> int:
    from jobs import registry

    for spec in registry.JOBS.values():
        where = f"var/inbox/{spec.inbox}/{spec.pattern}" if spec.inbox else ""
        after = f" (先行: {', '.join(spec.after)})" if spec.after else ""
        _print(f"{spec.job_id}  {spec.name_ja}  {where}{after}".rstrip())
    return 0


def cmd_jobnets(args: argparse.Namespace) -> int:
    from jobs import registry
    from jobs.common import messages

    try:
        nets = [registry.jobnet(args.jobnet)] if args.jobnet else list(registry.JOBNETS.values())
    except KeyError as exc:
        _print(messages.line("KKB920E", error=exc.args[0]), err=True)
        return 8
    for i, net in enumerate(nets):
        when = f"cron {net.schedule}" if net.schedule else "手動起動"
        _print(("\n" if i else "") + f"{net.title}  ({net.dag_id}, {when})")
        _print(registry.diagram(net))
    return 0


def cmd_errors(args: argparse.Namespace) -> int:
    from jobs import registry
    from jobs.common import errorlist, paths

    try:
        spec = registry.get(args.job_id)
    except KeyError as exc:
        _print(str(exc.args[0]), err=True)
        return 8
    path = errorlist.latest(spec.job_id, municipality=args.municipality)
    if path is None:
        _print(f"{spec.title}: エラーリストはありません")
        return 0
    if args.path:
        _print(str(path))
        return 0
    frame = errorlist.read(path)
    _print(f"{spec.title} エラーリスト {paths.relative(path)} {frame.height:,}件")
    for row in frame.iter_rows(named=True):
        _print("  " + " | ".join(f"{k}={v}" for k, v in row.items() if k != errorlist.LABELS["raw"] and v))
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from jobs.common import datasets

    names = [args.dataset] if args.dataset else datasets.datasets()
    for name in names:
        gens = datasets.generations(name)
        if not gens:
            _print(f"{name}: 世代なし")
            continue
        for g in gens:
            rows = datasets.read_totals(name, g).get("rows")
            _print(f"{name}  {g}  {rows:,}件")
    return 0


def cmd_layout_listing(args: argparse.Namespace) -> int:
    from jobs.common import fixedwidth as fw
    from jobs.common import paths

    if args.all:
        out = paths.ensure_dir(paths.layouts_root() / "listings")
        for layout in fw.all_layouts():
            target = out / f"{layout.id}.txt"
            target.write_text(fw.listing(layout), encoding="utf-8")
            _print(f"{paths.relative(target)}")
        return 0
    if not args.layout_id:
        _print("レイアウトIDか --all を指定してください", err=True)
        return 2
    _print(fw.listing(fw.load_layout(args.layout_id)).rstrip("\n"))
    return 0


def cmd_rundays(args: argparse.Namespace) -> int:
    """One run day a line (YYYY-MM-DD and the weekday), for the fiscal year or the range."""
    from jobs.common import bizcal, messages, runcalendar
    from jobs.common import config as config_mod

    try:
        from jobs import registry

        base = config_mod.load(args.municipality)
        nets = {n.jobnet_id: n.entry.rule for n in registry.JOBNETS.values() if n.entry and n.entry.rule}
        rule = runcalendar.rule_of(args.rule, base, nets)
        cal = bizcal.BusinessCalendar.from_config(base)
        if args.fy is not None and (args.start or args.end):
            raise ValueError("--fy と --from/--to は同時に指定できません")
        fy = args.fy if args.fy is not None else cal.fiscal_year(args.start or dt.date.today())
        fy_start = dt.date(fy, *cal.fiscal_year_start)
        start = args.start or fy_start
        end = args.end or dt.date(fy_start.year + 1, fy_start.month, fy_start.day) - dt.timedelta(days=1)
        days = runcalendar.run_days(rule, start, end, municipality=args.municipality)
    except (ValueError, config_mod.ConfigError, bizcal.CalendarError) as exc:
        _print(messages.line("KKB920E", error=exc), err=True)
        return 8
    for d in days:
        _print(f"{d.isoformat()} {'月火水木金土日'[d.weekday()]}")
    if not days:
        _print(f"{runcalendar.label_of(rule, base)}の定時実行日はありません ({start} 〜 {end})", err=True)
    return 0


def cmd_messages(args: argparse.Namespace) -> int:
    """The message catalogue for the operators: id, level, text (fields in {}), action; one
    entry with all its wordings when an id is given (RC 8 for an unknown id)."""
    from jobs.common import messages
    from jobs.common.step import SEVERITY_RC

    if args.msg_id:
        msg_id = args.msg_id.strip().upper()
        try:
            e = messages.entry(msg_id)
        except messages.MessageError as exc:
            _print(messages.line("KKB920E", error=exc), err=True)
            return 8
        _print(f"{e.msg_id}  {e.level} {messages.LEVEL_LABELS[e.level]} (RC {SEVERITY_RC[e.level]})")
        _print(f"  文言: {e.text}")
        for name, text in e.variants.items():
            _print(f"  文言 ({name}): {text}")
        for name, text in e.optional.items():
            _print(f"  {{{name}}} の部分 (指定時のみ): {text}")
        _print(f"  対処: {e.action or '-'}")
        return 0
    for e in messages.catalogue().values():
        _print(f"{e.msg_id}  {e.level}  {e.text}")
        for text in e.variants.values():
            _print(f"{'':10}{text}")
        if e.action:
            _print(f"{'':10}対処: {e.action}")
    return 0


# --- helpers -----------------------------------------------------------------------------------


def _print(text: str, *, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"日付は YYYY-MM-DD で指定してください: {text}") from exc




def cmd_audit(args: argparse.Namespace) -> int:
    """The access-log events naming a 宛名番号 (or the 通知書番号 it has in the ledger), oldest first."""
    import json

    from jobs.common import access_log, messages

    if args.summary:
        return _audit_summary(args.municipality)
    atena = args.atena.strip()
    if len(atena) == 12 and atena.isdigit():  # a 個人番号 is 12 digits; the log never holds one
        _print(messages.line("KKB805E", masked=atena[:2] + "*" * 10), err=True)
        return 8
    access_log.record(action="read", step="audit", atena=[atena], extra={"command": "kokuho audit"})
    events = access_log.history(atena, _notices_of(atena, args.municipality))
    for e in events:
        if args.json:
            _print(json.dumps(e, ensure_ascii=False))
            continue
        table = (e.get("extra") or {}).get("table", "")
        _print(f"{e['ts']}  {e['op']:<16} {e['act']:<14} {e['step']:<12} {e.get('why') or '':<40} "
               f"{table or ''} {e.get('file') or ''}".rstrip())
    if not args.json:
        _print(f"{len(events)}件 (宛名番号 {atena})")
    return 0


def _audit_summary(municipality: str | None) -> int:
    """Who did what: the access log per 職員 × step × action (events, 宛名番号 and 通知書番号
    named), then the ledger's rows per table and 操作者ID; RC 4 when a row carries no 操作者ID or
    処理事由 (KKB806W)."""
    from collections import defaultdict

    from jobs.common import access_log, messages
    from jobs.common import config as config_mod
    from jobs.ledger import Ledger, models

    groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in access_log.lines():
        g = groups[(str(e.get("op")), str(e.get("step")), str(e.get("act")))]
        g[0] += 1
        g[1] += len(e.get("atena") or ())
        g[2] += len(e.get("notice") or ())
    _print("アクセス記録 (職員・ジョブ・操作ごと)")
    _print(f"  {'職員':<16} {'ジョブ':<22} {'操作':<14} {'件数':>6} {'宛名番号':>10} {'通知書番号':>10}")
    for (op, step, act), (n, atena, notices) in sorted(groups.items()):
        _print(f"  {op:<16} {step:<22} {act:<14} {n:>6,} {atena:>10,} {notices:>10,}")
    cfg = config_mod.load(municipality or config_mod.default_municipality())
    led = Ledger.open(cfg=cfg, migrate=False)
    bad: dict[str, int] = {}
    try:
        _print("収納台帳の行 (表・操作者IDごと)")
        for table in models.metadata.sorted_tables:
            if "operator_id" not in table.c or "operation_reason" not in table.c:
                continue
            for op, rows, without in led.query("ledger/rows_by_operator", table=table.name).iter_rows():
                _print(f"  {table.name:<22} {op or '(なし)':<16} {rows:>10,}行")
                missing = (rows if not op else 0) + int(without or 0) * (1 if op else 0)
                if missing:
                    bad[table.name] = bad.get(table.name, 0) + missing
    finally:
        led.dispose()
    access_log.record(action="read", step="audit", extra={"command": "kokuho audit --summary"})
    if bad:
        _print(messages.line("KKB806W", rows=sum(bad.values()), tables=", ".join(sorted(bad))), err=True)
        return 4
    return 0


def _notices_of(atena: str, municipality: str | None) -> list[str]:
    """The 通知書番号 of a 宛名番号 in the ledger (the access log names 消込 rows by them)."""
    from jobs.common import config as config_mod
    from jobs.ledger import Ledger, LedgerError

    try:
        cfg = config_mod.load(municipality or config_mod.default_municipality())
        led = Ledger.open(cfg=cfg, migrate=False)
    except (LedgerError, config_mod.ConfigError, Exception):  # no ledger yet: the 宛名番号 alone
        return []
    try:
        frame = led.query("ledger/notices_of_atena", {"a": atena})
        return [str(n) for n in frame["notice_number"].to_list()]
    except Exception:
        return []
    finally:
        led.dispose()


def cmd_purge(args: argparse.Namespace) -> int:
    from jobs.common import config as config_mod
    from jobs.common import messages
    from jobs.ledger import Ledger, LedgerError, retention

    municipality = args.municipality or config_mod.default_municipality()
    today = args.date or dt.date.today()
    try:
        cfg = config_mod.load(municipality)
        ledger = None if args.no_ledger else Ledger.open(cfg=cfg)
    except (config_mod.ConfigError, LedgerError) as exc:
        _print(messages.line("KKB910S", error=exc), err=True)
        return 12
    try:
        result = retention.purge(cfg, today, municipality=municipality, dry_run=args.dry_run, ledger=ledger,
                                 step="kokuho purge")
    finally:
        if ledger is not None:
            ledger.dispose()
    for item in result.items:
        _print(f"{'削除予定' if args.dry_run else '削除'}  {item.label:<10} 年度{item.fiscal_year}  "
               f"{item.expires_on}  {item.rel}")
    for table, rows in result.ledger_rows.items():
        if rows:
            _print(f"{'削除予定' if args.dry_run else '削除'}  収納台帳   {table}: {rows:,}行 (賦課年度 {result.ledger_max_year} 以前)")
    report = str(result.report)
    if args.dry_run:
        _print(messages.line("KKB803I", files=len(result.items), size=result.size, notices=result.notice_count,
                             rows=result.row_count, report=report))
    else:
        _print(messages.line("KKB800I", files=len(result.items), size=result.size, report=report))
    if result.unclassified:
        _print(messages.line("KKB802W", files=len(result.unclassified), sample=", ".join(result.unclassified[:3])))
        return 4
    return 0


def _record_shisan(argv: list[str]) -> None:
    """kokuho shisan in the access log: the input file and the 宛名番号 it names (if any)."""
    import json
    from pathlib import Path

    from jobs.common import access_log

    source, atena = None, []
    if "--input" in argv and argv.index("--input") + 1 < len(argv):
        source = argv[argv.index("--input") + 1]
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
            items = [data] + list(data.get("members") or []) if isinstance(data, dict) else []
            atena = [m.get(k) for m in items if isinstance(m, dict) for k in ("atena", "person_id", "household_id")
                     if m.get(k)]
        except (OSError, ValueError):
            pass
    access_log.record(action="read", step="shisan", file=source, atena=atena,
                      extra={"members": sum(a == "--member" for a in argv)})


if __name__ == "__main__":
    sys.exit(main())
