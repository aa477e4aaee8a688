"""What the 滞納整理 record steps share (TN110–TN499): their CSV inputs, the 滞納 of the ledger,
the addresses, and the report folder.

Inputs (分割納付計画, 返戻, 住所調査結果, 執行停止, 電話催告結果) are small CSV files from the 収納課,
the mail room and the call centre: UTF-8 (a BOM is allowed), a header row with Japanese or English
column names, one record a line. They come from ``var/inbox/arrears/<pattern>``
(``arrears_records.patterns``) or from ``kokuho run TNxxx --date D --file F``. A file is registered
once (``posted_file``, by SHA-256): a rerun with the same bytes registers nothing again. A record
that does not pass goes to the error list with its raw bytes, line and field; the others are
registered. A file with a 個人番号 column is refused whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from jobs.common import datasets, paths
from jobs.common.register import one_per_person
from jobs.common.step import StepContext, StepError
from jobs.intake import inputs as inputs_mod
from jobs.ledger import Ledger, Run

SECTION = "arrears_records"
MYNUMBER_COLUMNS = {"個人番号", "マイナンバー", "my_number", "mynumber", "individual_number"}
_ATENA = re.compile(r"^\d{1,10}$")

KIND_LABELS = {"current": "現年催告", "bulk": "一斉催告", "phone": "電話催告"}
DOC_LABELS = {"1": "納税通知書", "2": "督促状"}


def cfg(ctx: StepContext, key: str) -> Any:
    return ctx.config.get(f"{SECTION}.{key}")


def report_dir(ctx: StepContext) -> Path:
    """var/reports/arrears/<generation>/ (the step's CSV lists and PDFs)."""
    return paths.reports_root() / "arrears" / ctx.generation


# --- CSV inputs -----------------------------------------------------------------------------------


@dataclass
class Record:
    record_no: int  # 1 = the first data line (the header is line 0)
    offset: int  # byte offset of the line in the file
    raw: bytes
    values: dict[str, str]


@dataclass
class InputFile:
    path: Path
    sha256: str
    records: list[Record]
    rejects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    def reject(self, rec: Record, fld: str, label: str, reason: str) -> None:
        self.rejects.append({"file_name": self.name, "record_no": rec.record_no, "byte_offset": rec.offset,
                             "record_type": "data", "field": fld, "field_label": label, "reason": reason,
                             "raw": rec.raw})


def input_files(ctx: StepContext, kind: str) -> list[Path]:
    """The files of this run: ``--file`` (options ``files``) or the inbox's files of the kind's pattern."""
    given = ctx.options.get("files")
    if given:
        return [Path(f) for f in given]
    source = str(cfg(ctx, "inbox"))
    folder = paths.inbox(source, ctx.municipality)
    pattern = str(cfg(ctx, f"patterns.{kind}"))
    # complete files only (handoff.inbox.<source>.complete; an incomplete one stays: KKB114W)
    found, pending = inputs_mod.complete_inbox_files(ctx, source, pattern)
    if not found:
        if pending:  # files still arriving: RC 4, the step goes on as with no file
            inputs_mod.end_if_only_incomplete(ctx, pending, source, pattern, stop=False)
        else:
            ctx.message("KKB637I", inbox=paths.relative(folder), pattern=pattern)
    return found


def read_csv(ctx: StepContext, path: Path, columns: Mapping[str, tuple[str, ...]], required: Sequence[str]) -> InputFile:
    """The file's records with their values under the English names of ``columns`` (name → the
    header names accepted, Japanese first). A 個人番号 column refuses the file (KKB640E); a missing
    required column too (KKB639E)."""
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8-sig") if data else ""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    lines = data[bom:].splitlines(keepends=True)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return InputFile(path, sha, [])
    header = [h.strip() for h in rows[0]]
    for h in header:
        if h in MYNUMBER_COLUMNS or h.lower() in MYNUMBER_COLUMNS:
            raise StepError.of("KKB640E", file=path.name, column=h)
    index: dict[str, int] = {}
    for name, accepted in columns.items():
        for a in (*accepted, name):
            if a in header:
                index[name] = header.index(a)
                break
    missing = [columns[n][0] for n in required if n not in index]
    if missing:
        raise StepError.of("KKB639E", file=path.name, columns=", ".join(missing))
    records = []
    offset = bom + (len(lines[0]) if lines else 0)
    for i, row in enumerate(rows[1:], start=1):
        raw = lines[i] if i < len(lines) else b""
        if not any(c.strip() for c in row):
            offset += len(raw)
            continue
        values = {n: (row[j].strip() if j < len(row) else "") for n, j in index.items()}
        records.append(Record(i, offset, raw.rstrip(b"\r\n"), values))
        offset += len(raw)
    return InputFile(path, sha, records)


def parse_date(text: str) -> dt.date:
    t = text.strip().replace("/", "-")
    if re.fullmatch(r"\d{8}", t):
        return dt.date(int(t[:4]), int(t[4:6]), int(t[6:]))
    return dt.date.fromisoformat(t)


def parse_yen(text: str) -> int:
    t = text.strip().replace(",", "")
    if not re.fullmatch(r"\d+", t):
        raise ValueError(f"金額は0以上の整数 (円) です: {text!r}")
    return int(t)


def parse_atena(text: str) -> str:
    t = text.strip()
    if not _ATENA.fullmatch(t):
        raise ValueError(f"宛名番号は10桁以内の数字です: {text!r}")
    return t.zfill(10)


def field_value(f: InputFile, rec: Record, name: str, label: str, parse, *, optional: bool = False):
    """``parse(rec.values[name])``; a bad value rejects the record (None returned)."""
    text = rec.values.get(name, "")
    if text == "" and optional:
        return None
    try:
        if text == "":
            raise ValueError("値がありません")
        return parse(text)
    except (ValueError, TypeError) as exc:
        f.reject(rec, name, label, str(exc) if str(exc) else f"{label}が不正です")
        return None


def send_rejects(ctx: StepContext, files: Sequence[InputFile]) -> int:
    rows = [r for f in files for r in f.rejects]
    ctx.reject(pl.DataFrame(rows, schema={"file_name": pl.String, "record_no": pl.Int64, "byte_offset": pl.Int64,
                                          "record_type": pl.String, "field": pl.String, "field_label": pl.String,
                                          "reason": pl.String, "raw": pl.Binary}))
    return len(rows)


def already_posted(ctx: StepContext, ledger: Ledger, f: InputFile) -> bool:
    from jobs.collection.reconcile import posted_file

    with ledger.transaction() as tx:
        if posted_file(tx, f.sha256) is None:
            return False
    ctx.message("KKB638I", file=f.name, sha=f.sha256[:12])
    return True


def mark_posted(tx, f: InputFile, channel: str, run: Run, *, records: int, amount: int = 0) -> None:
    from jobs.collection.reconcile import register_file

    register_file(tx, sha256=f.sha256, file_name=f.name, channel=channel, records=records, amount=amount, run=run)


# --- the ledger's 滞納 ------------------------------------------------------------------------------


ITEM_SCHEMA = {"person_id": pl.String, "household_id": pl.String, "levy_year": pl.Int32, "notice_number": pl.String,
               "installment_no": pl.Int32, "due_date": pl.Date, "levy_amount": pl.Int64, "paid_amount": pl.Int64,
               "balance": pl.Int64, "dunning_issued_date": pl.Date, "reminder_stopped_date": pl.Date,
               "held": pl.String}


def arrears_items(ledger: Ledger, ctx: StepContext, as_of: dt.date | None = None) -> pl.DataFrame:
    """Every installment unpaid past its 納期限 at ``as_of`` (default: the business date), with
    督促状発行日 and hold (sql/arrears/arrears_items.sql)."""
    frame = ledger.query("arrears/arrears_items", {"as_of": as_of or ctx.business_date, "m": ctx.municipality})
    if frame.height == 0:
        return pl.DataFrame(schema=ITEM_SCHEMA)
    return frame.select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()])


def dunned(items: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The 滞納: installments whose 督促状 was issued by ``as_of``."""
    return items.filter(pl.col("dunning_issued_date").is_not_null() & (pl.col("dunning_issued_date") <= as_of))


ADDRESS_SCHEMA = {"person_id": pl.String, "taxpayer_name": pl.String, "taxpayer_kana": pl.String,
                  "postal_code": pl.String, "address": pl.String}


def addresses(ctx: StepContext, *, required: bool = True) -> pl.DataFrame:
    """宛名 (氏名, カナ, 郵便番号, 住所) by 宛名番号 from the latest 国保資格 (nhi_qualification); never the
    個人番号. Missing dataset: KKB636E when ``required``, else an empty frame."""
    gen = datasets.latest("nhi_qualification", municipality=ctx.municipality, upto=ctx.generation)
    if gen is None:
        if required:
            raise StepError.of("KKB636E")
        return pl.DataFrame(schema=ADDRESS_SCHEMA)
    q = one_per_person(datasets.read("nhi_qualification", gen))
    kana = pl.col("name_kana").cast(pl.String) if "name_kana" in q.columns else pl.lit(None, dtype=pl.String)
    return q.select(pl.col("person_id").cast(pl.String), pl.col("name_kanji").cast(pl.String).alias("taxpayer_name"),
                    kana.alias("taxpayer_kana"), pl.col("postal_code").cast(pl.String),
                    pl.col("address_kanji").cast(pl.String).alias("address"))


def reject_missing_addresses(ctx: StepContext, frame: pl.DataFrame, what: str) -> pl.DataFrame:
    """Rows without a 宛名 go to the error list (KKB635W); the rest are returned."""
    missing = frame.filter(pl.col("address").is_null())
    if missing.height:
        people = missing["person_id"].unique().sort()
        ctx.message("KKB635W", taxpayers=people.len())
        ctx.reject(pl.DataFrame({"file_name": ["ledger"] * people.len(), "record_no": [None] * people.len(),
                                 "record_type": [what] * people.len(), "field": ["person_id"] * people.len(),
                                 "field_label": ["宛名番号"] * people.len(),
                                 "reason": [f"宛名がありません (宛名番号 {p})" for p in people]},
                                schema_overrides={"record_no": pl.Int64}))
    return frame.filter(pl.col("address").is_not_null())


def write_csv(ctx: StepContext, final: Path, frame: pl.DataFrame, labels: Mapping[str, str]) -> Path:
    """A list for people (Excel): UTF-8 with BOM, Japanese headers, CRLF; staged then committed."""
    out = frame.select([pl.col(c).alias(labels[c]) for c in labels])
    buf = io.StringIO()
    out.write_csv(buf, line_terminator="\r\n", date_format="%Y-%m-%d")
    staged = ctx.stage_file(final)
    staged.write_bytes(b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8"))
    return final
