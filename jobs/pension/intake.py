"""TK110 年金特徴ファイル受信: the files of the 年金保険者 through the 経由機関 (国保連合会).

Reads every ``Z2*.dta`` of ``var/inbox/nenkin/`` (500-byte records after the 96-byte lead-in,
FORMATS.md §2.2) with the one codec: the file kind (the name's first 3 characters) gives the
layout and the 通知内容コード its groups may carry (``config/common/pension_files.yaml``), the
header's 通知内容コード routes the records to a dataset:

=========  =========================  ==========================
通知内容    file                       dataset
=========  =========================  ==========================
30         Z21 追加候補者 (捕捉)         ``tokucho_capture``
02, 32     Z23 依頼処理結果             ``tokucho_request_result``
22         Z24 特別徴収結果             ``tokucho_result``
42, 62     Z2A 各種異動 処理結果         ``tokucho_change``
=========  =========================  ==========================

Columns of each dataset: ``source_file``, ``source_sha256``, ``record_no``, then the data record's
fields of ``layouts/tokucho_500.yaml`` in their order (``record_kind`` レコード区分 first), then the
trailer's ``total_*``: each group's trailer record (レコード区分 3) is kept beside its data records (2),
for KB520's check of the file against its trailer.

Checks, each naming the file, the record and the field: record length and structure, the lead-in
ファイル格納件数, trailer 合計件数 and 合計金額 金額1–3 (the codec); the lead-in's, headers' and data
records' 市町村コード; the 通知内容コード allowed for the file kind, the same in a group's header, data
and trailer, and allowed in the month of the header's 作成年月日 (22 only in odd months, 30 only in
even months ...). A file failing one is refused: it stays in the inbox, is reported (KKB503W and
a row of the error list) and the others are taken in (RC 4); when every file is refused, RC 8.
Z21 files of 通知内容 00 (the May 対象者 file) are FK030's: left in the inbox.
Totals: per file (ファイル: read = accepted + refused) and per record type of the accepted files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from jobs.common import datasets, errorlist, paths, plausibility
from jobs.common import fixedwidth as fw
from jobs.common.step import StepContext, StepError
from jobs.intake import generic
from jobs.intake import inputs as inputs_mod

LEAD_IN = 96
RECORD = 500
ANNUAL_NOTICE = "00"  # the Z21 対象者情報 of FK030
FILE_TOTALS = "file"
FILE_LABEL = "ファイル"


class Refused(Exception):
    """A file refused by a check of this step (or the codec): the text names file, record and field."""

    def __init__(self, file: str, reason: str, *, record_no: int | None = None, field: str | None = None,
                 label: str | None = None, record_type: str | None = None, byte_offset: int | None = None):
        self.file, self.reason, self.record_no, self.field, self.label = file, reason, record_no, field, label
        self.record_type, self.byte_offset = record_type, byte_offset
        where = [f"ファイル {file}"]
        if record_no is not None:
            where.append(f"レコード {record_no}")
        if field is not None:
            where.append(f"項目 {label or ''}({field})")
        super().__init__(" / ".join(where) + f": {reason}")


@dataclass(frozen=True)
class FileKind:
    prefix: str
    label: str
    notices: tuple[str, ...]
    layout: str


@dataclass(frozen=True)
class NoticeRule:
    code: str
    label: str
    dataset: str
    months: frozenset[int]


@dataclass(frozen=True)
class PensionFiles:
    files: Mapping[str, FileKind]
    notices: Mapping[str, NoticeRule]
    scheme_code: str | None

    @classmethod
    def from_config(cls, cfg, datasets_by_kind: Mapping[str, str]) -> PensionFiles:
        files = {}
        for prefix, d in (cfg.get("pension_files.files") or {}).items():
            files[str(prefix).upper()] = FileKind(str(prefix).upper(), str(d["label"]),
                                                  tuple(str(n) for n in d["notices"]), str(d["layout"]))
        notices = {}
        for code, d in (cfg.get("pension_files.notices") or {}).items():
            kind = str(d["dataset"])
            if kind not in datasets_by_kind:
                raise ValueError(f"pension_files.notices.{code}.dataset={kind} (one of {sorted(datasets_by_kind)})")
            notices[str(code)] = NoticeRule(str(code), str(d["label"]), datasets_by_kind[kind], _months(d["months"]))
        unknown = [n for f in files.values() for n in f.notices if n not in notices]
        if unknown:
            raise ValueError(f"pension_files.files name 通知内容コード without a rule in pension_files.notices: {unknown}")
        sc = cfg.get("pension_files.scheme_code", None)
        return cls(files, notices, None if sc is None else str(sc))


def _months(spec) -> frozenset[int]:
    if spec == "all":
        return frozenset(range(1, 13))
    if spec == "odd":
        return frozenset(range(1, 13, 2))
    if spec == "even":
        return frozenset(range(2, 13, 2))
    months = frozenset(int(m) for m in spec)
    if not months or not months <= set(range(1, 13)):
        raise ValueError(f"pension_files months: {spec!r} (all | odd | even | a list of 1–12)")
    return months


# --- the step ------------------------------------------------------------------------------------


def receive_step(ctx: StepContext) -> int | None:
    # kind → dataset: the step's declared outputs tokucho_<kind> (jobs.registry.TOKUCHO_DATASETS)
    by_kind = {ds.removeprefix("tokucho_"): ds for ds in ctx.spec.outputs}
    rules = PensionFiles.from_config(ctx.config, by_kind)
    inputs_mod.prepare(ctx)
    files = select_files(ctx)
    inputs_mod.verify_checksums(ctx, files)
    generic.check_duplicates(ctx, files)
    limits = plausibility.Limits.of(ctx.config, ctx.business_date, ctx.calendar)
    code5 = str(ctx.config.get("municipality.code5"))

    parts: dict[str, list[pl.DataFrame]] = {ds: [] for ds in by_kind.values()}
    taken: list[inputs_mod.InputFile] = []
    refused = 0
    ctx.reject(errorlist.empty())  # the step always has an error list (header only when clean)
    for f in ctx.progress(files, total=len(files), desc=f"{ctx.job_id} 受信"):
        try:
            layout, res, by_dataset = read_checked(f, rules, limits, code5)
        except Refused as exc:
            refused += 1
            ctx.message("KKB503W", error=exc)
            ctx.reject(_refusal_row(exc, f))
            ctx.totals.count(FILE_TOTALS, label=FILE_LABEL, read=1, rejected=1)
            continue
        ctx.totals.count(FILE_TOTALS, label=FILE_LABEL, read=1, accepted=1)
        rejects = generic.codec_rejects(layout, res, f)
        ctx.reject(rejects)
        _count_records(ctx, layout, res, rejects)
        for w in res.warnings:
            ctx.message("KKB111W", file=f.name, warning=w)
        for (dataset, notice), frame in by_dataset.items():
            ctx.message("KKB502I", file=f.name, notice=notice, label=rules.notices[notice].label,
                        records=int((frame["record_kind"] == "2").sum()), dataset=dataset)
            parts[dataset].append(generic.with_source(frame, f))
        taken.append(f)
    if not taken:
        raise StepError.of("KKB504E", files=len(files))

    inputs_doc = [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in taken]
    for dataset, frames in parts.items():
        if not frames:
            continue
        frame = datasets.sort_by_key(pl.concat(frames, how="diagonal_relaxed"), ("source_file", "record_no"))
        money = {}
        for name in ("amount1", "amount2", "amount3"):
            money[name] = int(frame[name].sum() or 0)
            ctx.totals.add_money(f"{dataset}.{name}", money[name], label=f"{dataset} 各種金額欄 {name[-1]}")
        ctx.write_dataset(dataset, frame, totals={"layout": "tokucho_500", "inputs": inputs_doc, "money": money,
                                                  "notices": sorted(frame["notice_code"].unique().to_list())})
    if ctx.totals.rejected:
        ctx.message("KKB120W", rejected=ctx.totals.rejected)
    ctx.on_commit(lambda: generic.archive_inputs(ctx, taken))
    return None


def select_files(ctx: StepContext) -> list[inputs_mod.InputFile]:
    """``files=[...]`` given; else the inbox's files of the pattern (less FK030's 通知内容 00 Z21
    files) and, on a rerun of a committed generation, the archived inputs it read."""
    out = inputs_mod.given_files(ctx)
    if not out:
        out = []
        complete, pending = inputs_mod.complete_inbox_files(ctx)  # an incomplete file stays (KKB114W)
        for p in complete:
            if _first_notice(p) == ANNUAL_NOTICE and p.name.upper().startswith("Z21"):
                ctx.message("KKB506I", file=p.name)
                continue
            out.append(inputs_mod.describe(p, "inbox"))
        seen = {f.sha256 for f in out}
        for f in _rerun_inputs(ctx):
            if f.sha256 not in seen:
                out.append(f)
                ctx.message("KKB102I", generation=ctx.generation)
        if not out:
            inputs_mod.end_if_only_incomplete(ctx, pending)  # still arriving: RC 4, nothing written
    if not out:
        raise StepError.of("KKB505E", inbox=paths.relative(paths.inbox(ctx.spec.inbox, ctx.municipality)), pattern=ctx.spec.pattern)
    for f in out:
        ctx.message("KKB101I", variant=None if f.origin == "inbox" else f.origin, file=f.name, size=f.size,
                    sha256=f.sha256)
    return out


def _rerun_inputs(ctx: StepContext) -> list[inputs_mod.InputFile]:
    records: dict[str, dict] = {}
    for ds in ctx.spec.outputs:
        if ctx.generation in datasets.generations(ds):
            for rec in datasets.read_totals(ds, ctx.generation).get("inputs") or []:
                records.setdefault(rec["sha256"], rec)
    if not records:
        return []
    try:
        return inputs_mod.archived_inputs(ctx.spec.inbox, list(records.values()))
    except (FileNotFoundError, ValueError) as exc:
        raise StepError.of("KKB105S", error=exc) from exc


def _first_notice(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(LEAD_IN + 11)
    return head[LEAD_IN + 9: LEAD_IN + 11].decode("ascii", "replace") if len(head) == LEAD_IN + 11 else None


# --- reading and checking one file --------------------------------------------------------------


def read_checked(f: inputs_mod.InputFile, rules: PensionFiles, limits, code5: str):
    """(layout, read result, {(dataset, 通知内容コード): data frame}) of an accepted file; Refused otherwise."""
    kind = rules.files.get(f.name[:3].upper())
    if kind is None:
        raise Refused(f.name, f"ファイル名の種別 {f.name[:3]!r} は受信するファイルではありません "
                              f"(受信する種別: {', '.join(sorted(rules.files))}; config pension_files.files)")
    layout = whole_file_layout(kind.layout)
    try:
        res = fw.read(layout, inputs_mod.content(f), source=f.name)
    except fw.FileRefused as exc:
        raise _codec_refusal(f, layout, exc) from exc
    try:
        res = plausibility.apply(layout, res, limits, f.path if f.origin != "archive" else inputs_mod.content(f))
    except plausibility.Implausible as exc:
        raise Refused(f.name, exc.reason, record_no=exc.record_no, field=exc.field, label=exc.label) from exc
    if res.rejects.height:  # an implausible record (e.g. another city's 市町村コード): the file, not the record
        row = res.rejects.row(0, named=True)
        raise Refused(f.name, row["reason"], record_no=row["record_no"], field=row["field"], label=row["label"],
                      record_type=generic.record_type_title(layout, row["record_type"]),
                      byte_offset=row["byte_offset"])

    lead = res.lead_in or {}
    if lead.get("municipality_code") != code5:
        raise Refused(f.name, f"市町村コード {lead.get('municipality_code')} はこの団体 ({code5}) ではありません",
                      record_no=0, field="municipality_code", label="市町村コード", record_type="管理レコード")
    head = res.frames["header"]
    trailer = res.frames["trailer"]
    for frame, rt in ((head, "header"), (trailer, "trailer")):
        for row in frame.iter_rows(named=True):
            if row["municipality_code"] != code5:
                raise _field(f, layout, rt, row, "municipality_code",
                             f"市町村コード {row['municipality_code']} はこの団体 ({code5}) ではありません")
            if rules.scheme_code is not None and row["scheme_code"] != rules.scheme_code:
                raise _field(f, layout, rt, row, "scheme_code",
                             f"特別徴収制度コード {row['scheme_code']} (期待値 {rules.scheme_code})")
    for row in head.iter_rows(named=True):
        notice = row["notice_code"]
        if notice not in kind.notices:
            raise _field(f, layout, "header", row, "notice_code",
                         f"通知内容コード {notice} は {kind.prefix} {kind.label} にありません "
                         f"(許可: {', '.join(kind.notices)})")
        month = row["created_on"].month
        if month not in rules.notices[notice].months:
            raise _field(f, layout, "header", row, "notice_code",
                         f"通知内容コード {notice} ({rules.notices[notice].label}) は {month}月 には来ません "
                         f"(作成年月日 {row['created_on']:%Y-%m-%d}; 許可される月: "
                         f"{', '.join(map(str, sorted(rules.notices[notice].months)))}; config pension_files.notices)")
    # each record's 通知内容コード = its group's header's (the groups: header .. trailer, by record_no)
    groups = head.select(pl.col("record_no").alias("_group"), pl.col("notice_code").alias("_notice"),
                         pl.col("payer_code").alias("_payer")).sort("_group")
    for rt in ("data", "trailer"):
        frame = res.frames[rt]
        if not frame.height:
            continue
        j = frame.sort("record_no").join_asof(groups, left_on="record_no", right_on="_group", strategy="backward")
        bad = j.filter((pl.col("notice_code") != pl.col("_notice")) | (pl.col("payer_code") != pl.col("_payer")))
        if bad.height:
            row = bad.row(0, named=True)
            name = "notice_code" if row["notice_code"] != row["_notice"] else "payer_code"
            raise _field(f, layout, rt, row, name, f"{row[name]} がヘッダー (レコード {row['_group']}) の "
                                                   f"{row['_notice'] if name == 'notice_code' else row['_payer']} と違います")
    data = res.frames["data"]
    _check_unique_persons(f, layout, data)
    trailers = res.frames["trailer"]
    out: dict[tuple[str, str], pl.DataFrame] = {}
    for notice in sorted(head["notice_code"].unique().to_list()):
        ds = rules.notices[notice].dataset
        # the group's trailers (レコード区分 3) go with its data records: KB520 (TK310/TK320) checks each
        # file's data against them (合計件数, 合計金額) before applying it (KKB544E)
        part = pl.concat([data.filter(pl.col("notice_code") == notice),
                          trailers.filter(pl.col("notice_code") == notice)], how="diagonal_relaxed")
        key = (ds, notice)
        out[key] = pl.concat([out[key], part]) if key in out else part
    return layout, res, out


@functools.lru_cache(maxsize=16)
def whole_file_layout(layout_id: str):
    """The kind's layout with ``on_bad_record: refuse``: a pension file is taken whole or not at all
    (its trailer totals are the insurer's, and a record left out would be a payment or a stop
    never seen), so a record the codec cannot read refuses the file, naming that record and field,
    before the trailer sums are compared (FK030 keeps the shared layout's per-record rejects)."""
    return dataclasses.replace(fw.load_layout(layout_id), on_bad_record="refuse")


def _codec_refusal(f, layout, exc: fw.FileRefused) -> Refused:
    """The codec's refusal, always naming a record and a field: the lead-in's ファイル格納件数
    (record 0) when the file has no record to name (empty, lead-in only, cut short), the レコード区分
    when the fault is the record's type or its place in the H D* T order."""
    record_no, field, label = exc.record_no, exc.field, exc.label
    if record_no is None:
        record_no = 0
    if field is None:
        if record_no == 0:
            field, label = "record_count", layout.lead_in.field("record_count").label
        else:
            field, label = "record_kind", layout.record_types[0].field("record_kind").label
    return Refused(f.name, exc.reason, record_no=record_no, field=field, label=label, byte_offset=exc.byte_offset)


def _check_unique_persons(f, layout, data: pl.DataFrame) -> None:
    """One record per person (基礎年金番号 + 年金コード) in a group (特別徴収義務者, 通知内容): a record
    sent twice (and counted twice in the trailer) would post a withholding or a stop twice."""
    if not data.height:
        return
    key = ["payer_code", "notice_code", "basic_pension_number", "pension_code"]
    dup = data.sort("record_no").filter(pl.struct(key).is_duplicated() & ~pl.struct(key).is_first_distinct())
    if dup.height:
        row = dup.row(0, named=True)
        first = data.filter(pl.all_horizontal(pl.col(k) == row[k] for k in key))["record_no"].min()
        raise _field(f, layout, "data", row, "basic_pension_number",
                     f"基礎年金番号 {row['basic_pension_number']} 年金コード {row['pension_code']} のレコードが"
                     f"重複しています (レコード {first} と同じ人)")


def _field(f, layout, rt: str, row: dict, name: str, reason: str) -> Refused:
    label = layout.record_type(rt).field(name).label
    return Refused(f.name, reason, record_no=row["record_no"], field=name, label=label,
                   record_type=generic.record_type_title(layout, rt))


def _refusal_row(exc: Refused, f: inputs_mod.InputFile) -> pl.DataFrame:
    raw = None
    offset = exc.byte_offset
    if exc.record_no is not None:
        offset = LEAD_IN + (exc.record_no - 1) * RECORD if exc.record_no > 0 else 0
        try:
            data = inputs_mod.content(f)
            blob = data.read_bytes() if isinstance(data, Path) else bytes(data)
            raw = blob[offset: offset + (RECORD if exc.record_no > 0 else LEAD_IN)]
        except OSError:
            raw = None
    return pl.DataFrame([{
        "file_name": f.name, "record_no": exc.record_no, "byte_offset": offset,
        "record_type": exc.record_type or "ファイル", "field": exc.field, "field_label": exc.label,
        "reason": f"ファイルを受け付けません (受信箱に残します): {exc.reason}", "raw": raw,
    }], schema=errorlist.SCHEMA)


def _count_records(ctx: StepContext, layout, res, rejects: pl.DataFrame) -> None:
    by_type = dict(res.totals.get("by_type", {}))
    rej = dict(rejects.group_by("_record_type_name").len().iter_rows()) if rejects.height else {}
    for rt in layout.record_types:
        ctx.totals.count(rt.name, label=rt.label, read=by_type.get(rt.name, 0),
                         accepted=res.frames[rt.name].height, rejected=rej.get(rt.name, 0))
    if by_type.get("unknown") or rej.get(None):
        ctx.totals.count("unknown", label="レコード区分不明", read=by_type.get("unknown", 0), rejected=rej.get(None, 0))


def month_allowed(rules: PensionFiles, notice: str, day: dt.date) -> bool:
    """May 通知内容 ``notice`` come in the month of ``day`` (config pension_files.notices)?"""
    rule = rules.notices.get(notice)
    return rule is not None and day.month in rule.months
