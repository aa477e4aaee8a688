"""Helpers of the 収納 ledger / 消込 tests: small input files made with the codec, the job steps
run as operators run them, and ledger queries.

Files are written with ``jobs.common.fixedwidth.write`` (the trailer counts and sums filled by
the codec) so every test file is a valid file of its layout unless a test breaks it on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import polars as pl

from jobs.common import datasets, errorlist, gs1, paths
from jobs.common import fixedwidth as fw
from jobs.common.step import StepResult
from jobs.ledger import Ledger
from jobs.runner import run_job

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
MUNI = "111007"
COMPANY = "912345"  # cvs.company_code of 111007
TAX_CODE = "51"  # notices.cvs.tax_code
D = dt.date
DAY1 = D(2026, 10, 1)
DAY2 = D(2026, 10, 2)
DAY3 = D(2026, 10, 5)

COMPONENTS = ("medical_general", "medical_retired", "support_general", "support_retired", "care_general",
              "care_retired", "child_general")


# --- running steps ----------------------------------------------------------------------------


def run(job_id: str, business_date: dt.date = DAY1, **options) -> StepResult:
    return run_job(job_id, business_date=business_date, municipality=MUNI, **options)


def msg_ids(res: StepResult) -> list[str]:
    return [m.msg_id for m in res.messages]


def drop(src: Path | bytes, inbox: str, name: str) -> Path:
    """Put a file into var/inbox/<inbox>/ (as the sender does)."""
    folder = paths.ensure_dir(paths.inbox(inbox))
    target = folder / name
    if isinstance(src, (bytes, bytearray)):
        target.write_bytes(bytes(src))
    else:
        shutil.copyfile(src, target)
    return target


def put_levy(src: Path | bytes, name: str) -> Path:
    """Put a 調定 file where FK140/FK220 leave it (var/outbox/ledger/)."""
    folder = paths.ensure_dir(paths.outbox("ledger"))
    target = folder / name
    if isinstance(src, (bytes, bytearray)):
        target.write_bytes(bytes(src))
    else:
        shutil.copyfile(src, target)
    return target


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def error_rows(res: StepResult) -> pl.DataFrame:
    """The step's error list CSV (Japanese columns, text)."""
    assert res.error_list is not None, "the step wrote no error list"
    return errorlist.read(res.error_list)


# --- the ledger ---------------------------------------------------------------------------------

_keeper: dict[str, object] = {}


def hold_duckdb(url: str) -> None:
    """Keep one connection to a DuckDB ledger file open in this process: the steps' own
    connections (NullPool: one per transaction) then share the open database instead of
    opening and checkpointing the file each time — 8x faster, same transactions."""
    release_duckdb()
    engine = open_ledger(url, migrate=False).engine  # the steps' configuration (memory limit)
    _keeper["engine"], _keeper["conn"] = engine, engine.connect()


def release_duckdb() -> None:
    """Close the kept connection (before another process opens the file)."""
    conn, engine = _keeper.pop("conn", None), _keeper.pop("engine", None)
    if conn is not None:
        conn.close()
    if engine is not None:
        engine.dispose()



def open_ledger(url: str | None = None, *, migrate: bool = True) -> Ledger:
    """``Ledger.open`` as the steps call it (with the municipality's config: DuckDB refuses a
    second connection to a file with another configuration)."""
    from jobs.common import config

    return Ledger.open(url, cfg=config.load(MUNI, 2026), migrate=migrate)


def q(sql: str, params: dict | None = None) -> pl.DataFrame:
    led = open_ledger(migrate=False)
    try:
        return led.frame(sql, params)
    finally:
        led.dispose()


def scalar(sql: str, params: dict | None = None):
    led = open_ledger(migrate=False)
    try:
        return led.scalar(sql, params)
    finally:
        led.dispose()


def installments() -> dict[tuple[int, str, int], dict]:
    df = q("SELECT levy_year, notice_number, installment_no, levy_amount, paid_amount, provisional_amount, "
           "correction_seq FROM installment ORDER BY levy_year, notice_number, installment_no")
    return {(int(r["levy_year"]), r["notice_number"], int(r["installment_no"])): r for r in df.iter_rows(named=True)}


def paid_total() -> int:
    return int(scalar("SELECT COALESCE(SUM(paid_amount), 0) FROM installment") or 0)


def recon(source_file: str | None = None) -> pl.DataFrame:
    sql = ("SELECT source_file, source_sha256, record_no, byte_offset, channel, kind, status, reason, levy_year, "
           "notice_number, installment_no, amount, payment_kind, raw_hex, result_code, agent_code, generation "
           "FROM reconciliation")
    if source_file is None:
        return q(sql + " ORDER BY source_file, record_no")
    return q(sql + " WHERE source_file = :f ORDER BY record_no", {"f": source_file})


def payments(source_file_sha: str | None = None) -> pl.DataFrame:
    sql = ("SELECT source_sha256, record_no, line_no, levy_year, notice_number, installment_no, tax_amount, "
           "payment_kind, channel, paid_date, received_date, refund_offset_kind, cash_kind FROM payment")
    if source_file_sha is None:
        return q(sql + " ORDER BY source_sha256, record_no, line_no")
    return q(sql + " WHERE source_sha256 = :s ORDER BY record_no, line_no", {"s": source_file_sha})


# --- 調定 files -------------------------------------------------------------------------------------


def levy_row(notice_number: str, installment_no: int, amount: int, *, levy_year: int = 2026, levy_kind: str = "1",
             correction_seq: int = 0, levy_date: dt.date = D(2026, 7, 1), due_date: dt.date | None = None,
             change: int = 0, medical_general: int | None = None, support_general: int = 0, care_general: int = 0,
             child_general: int = 0, payer_code: str | None = None, correction_reason: str | None = None) -> dict:
    med = amount - support_general - care_general - child_general if medical_general is None else medical_general
    return {
        "record_kind": "2", "municipality_code": MUNI, "notice_number": notice_number,
        "taxpayer_person_id": notice_number[1:],
        "household_id": notice_number[1:], "levy_year": str(levy_year), "target_year": str(levy_year),
        "installment_no": installment_no, "collection_method": notice_number[0], "levy_kind": levy_kind,
        "correction_seq": correction_seq, "levy_date": levy_date,
        "due_date": due_date or D(levy_year, 7, 31), "amount": amount, "change": change,
        "medical_general": med, "medical_retired": 0, "support_general": support_general, "support_retired": 0,
        "care_general": care_general, "care_retired": 0, "child_general": child_general, "overpayment": 0,
        "payer_code": payer_code if payer_code is not None else ("001" if notice_number[0] == "2" else None),
        "correction_reason": correction_reason,
    }


def levy_file(rows: list[dict], *, file_kind: str = "1", creation_date: dt.date = D(2026, 7, 1),
              levy_year: int = 2026) -> bytes:
    layout = fw.load_layout("levy_file")
    header = {"record_kind": "1", "municipality_code": MUNI, "creation_date": creation_date,
              "levy_year": str(levy_year), "file_kind": file_kind}
    return fw.write(layout, {"header": pl.DataFrame([header]), "data": pl.DataFrame(rows),
                             "trailer": pl.DataFrame([{"record_kind": "8", "municipality_code": MUNI}])})


# --- payment files --------------------------------------------------------------------------------


def counter_record(notice_number: str, installment_no: int, amount: int, *, levy_year: int = 2026,
                   paid_date: dt.date = D(2026, 9, 30), received_date: dt.date = D(2026, 10, 1),
                   bank_code: str = "0017", branch_code: str = "100", serial: int = 1) -> dict:
    return {"record_kind": "2", "municipality_code": MUNI, "levy_year": str(levy_year),
            "target_year": str(levy_year), "notice_number": notice_number, "installment_no": installment_no,
            "amount": amount, "late_fee": 0, "dunning_fee": 0, "paid_date": paid_date,
            "received_date": received_date, "bank_code": bank_code, "branch_code": branch_code,
            "payment_kind": "01", "slip_serial": f"{serial:010d}"}


def counter_file(records: list[dict], *, creation_date: dt.date = DAY1) -> bytes:
    layout = fw.load_layout("counter_payment")
    header = {"record_kind": "1", "municipality_code": MUNI, "creation_date": creation_date, "bank_code": "0017"}
    return fw.write(layout, {"header": pl.DataFrame([header]), "data": pl.DataFrame(records),
                             "trailer": pl.DataFrame([{"record_kind": "8"}])})


def free_field(household_id: str, installment_no: int, *, fy: int = 2026, revision: int = 0) -> str:
    return f"{TAX_CODE}{fy:04d}{household_id}{installment_no:02d}{revision:03d}"


def cvs_record(household_id: str, installment_no: int, amount: int, *, data_kind: str = "02",
               fy: int = 2026, paid_date: dt.date = D(2026, 9, 28), paid_time: str = "1200",
               store_code: str | None = "1234567", agent_code: str = "0010", due: dt.date = D(2026, 9, 30),
               acquired_date: dt.date = D(2026, 9, 29), bad_check_digit: bool = False) -> dict:
    code = gs1.build(gs1.CvsBarcode(company_code=COMPANY, free_field=free_field(household_id, installment_no, fy=fy),
                                    due_date=due, amount=amount), max_amount=gs1.FIELD_MAX_AMOUNT)
    cd = code[43]
    if bad_check_digit:
        cd = str((int(cd) + 1) % 10)
    confirmed = data_kind in ("02", "12", "22")  # settled: 確報, 郵便振替, 郵便振替訂正 (with a 振込日)
    return {"record_kind": "2", "data_kind": data_kind, "paid_date": paid_date, "paid_time": paid_time,
            "ai": code[0:2], "company_code": code[2:8], "free_field": code[8:29], "reissue": code[29],
            "deadline": code[30:36], "stamp_flag": code[36], "amount": amount, "check_digit": cd,
            "store_code": store_code, "acquired_date": acquired_date,
            "transfer_date": acquired_date + dt.timedelta(days=7) if confirmed else None,
            "accounting_date": acquired_date if confirmed else None, "agent_code": agent_code}


def cvs_file(records: list[dict], *, creation_date: dt.date = DAY1) -> bytes:
    layout = fw.load_layout("cvs_payment")
    header = {"record_kind": "1", "creation_date": creation_date, "agent_company_code": "12345",
              "collector_code": "00001", "collector_name": "ｻｲﾀﾏｼ"}
    return fw.write(layout, {"header": pl.DataFrame([header]), "data": pl.DataFrame(records),
                             "trailer": pl.DataFrame([{"record_kind": "8"}])})


def customer_number(levy_year: int, notice_number: str, installment_no: int, seq: int = 1) -> str:
    return f"{levy_year:04d}{notice_number}{installment_no:02d}{seq:03d}"


def debit_record(notice_number: str, installment_no: int, amount: int, result_code: str = "0", *,
                 levy_year: int = 2026, seq: int = 1, bank_code: str = "0001", branch_code: str = "001",
                 account_number: str = "1234567") -> dict:
    return {"data_kind": "2", "bank_code": bank_code, "bank_name": None, "branch_code": branch_code,
            "branch_name": None, "account_type": "1", "account_number": account_number,
            "account_holder": "ﾃｽﾄ ﾀﾛｳ", "amount": amount, "new_code": "0",
            "customer_number": customer_number(levy_year, notice_number, installment_no, seq),
            "result_code": result_code}


def debit_file(records: list[dict], *, debit_date: dt.date = D(2026, 9, 30)) -> bytes:
    layout = fw.load_layout("zengin_91_result")
    header = {"data_kind": "1", "kind_code": "91", "code_division": "0", "consignor_code": "1110070001",
              "consignor_name": "ｻｲﾀﾏｼ", "debit_date": debit_date.strftime("%m%d"), "bank_code": "0001", "bank_name": None,
              "branch_code": "001", "branch_name": None, "account_type": "1", "account_number": "0000001"}
    return fw.write(layout, {"header": pl.DataFrame([header]), "data": pl.DataFrame(records),
                             "trailer": pl.DataFrame([{"data_kind": "8"}]), "end": pl.DataFrame([{"data_kind": "9"}])})


def add_debit_requests(records: list[dict], *, debit_date: dt.date = D(2026, 9, 30),
                       amounts: dict[str, int] | None = None) -> int:
    """The city's 口座振替 requests (debit_request) for result records, as SN120 would have
    recorded them: the record's 顧客番号, 振替日 and amount (``amounts`` overrides per 顧客番号)."""
    from jobs.ledger import audit_columns, now_stamp

    rows = []
    for r in records:
        cn = r["customer_number"]
        rows.append({"customer_number": cn, "municipality_code": MUNI, "person_id": "P" + cn[5:14],
                     "debit_date": debit_date, "due_date": debit_date, "bank_code": r["bank_code"],
                     "branch_code": r["branch_code"], "account_type": "1", "account_number": r["account_number"],
                     "account_holder_kana": r["account_holder"],
                     "amount": (amounts or {}).get(cn, r["amount"]), "request_file": "KOUFURI_test.dat",
                     "status": "requested", "levy_year": int(cn[:4]), "target_year": int(cn[:4]),
                     "notice_number": cn[4:15], "installment_no": int(cn[15:17])})
    frame = pl.DataFrame(rows).with_columns(*audit_columns("TEST", now_stamp()))
    led = open_ledger()
    try:
        with led.transaction() as tx:
            return tx.insert("debit_request", frame)
    finally:
        led.dispose()


PENSION_SCHEMA = {
    "levy_year": pl.Int32, "notice_number": pl.String, "installment_no": pl.Int32, "person_id": pl.String,
    "payer_code": pl.String, "amount": pl.Int64, "received_date": pl.Date, "source_file": pl.String,
    "source_sha256": pl.String, "record_no": pl.Int64,
}


def write_pension(rows: list[dict], *, name: str, business_date: dt.date = DAY1) -> tuple[pl.DataFrame, str]:
    """A ``pension_withholding_result`` generation as the pension cycle writes it (totals with the
    inputs, as the intake does). Returns (frame, sha256)."""
    raw = "\n".join(f"{r['notice_number']},{r['installment_no']},{r['amount']},{r['received_date']}"
                    for r in rows).encode()
    sha = sha256(raw + name.encode())
    frame = pl.DataFrame([{
        "levy_year": r.get("levy_year", 2026), "notice_number": r["notice_number"],
        "installment_no": r["installment_no"], "person_id": r.get("person_id", r["notice_number"][1:]),
        "payer_code": r.get("payer_code", "001"), "amount": r["amount"], "received_date": r["received_date"],
        "source_file": name, "source_sha256": sha, "record_no": i + 1} for i, r in enumerate(rows)],
        schema=PENSION_SCHEMA)
    gen = datasets.generation_name(MUNI, 2026, business_date)
    datasets.write("pension_withholding_result", gen, frame,
                   totals={"inputs": [{"name": name, "sha256": sha, "size": len(raw)}]})
    return frame, sha


# --- the golden files ---------------------------------------------------------------------------

GOLDEN_COUNTER = FIXTURES / "counter_payment" / "counter_crlf.dat"
GOLDEN_CVS = FIXTURES / "cvs_payment" / "cvs_payment_crlf.dat"
STRIDE = 122  # 120-byte records + CRLF (both golden payment files)


def golden_record(path: Path, record_no: int) -> bytes:
    """The bytes of record ``record_no`` (1-based) of a 120-byte CRLF file."""
    data = Path(path).read_bytes()
    return data[(record_no - 1) * STRIDE:(record_no - 1) * STRIDE + 120]


def golden_subset(path: Path, layout_id: str, record_nos: list[int]) -> bytes:
    """A valid file of the data records ``record_nos`` of a golden file (trailer recomputed)."""
    layout = fw.load_layout(layout_id)
    res = fw.read(layout, Path(path))
    frames = {k: v.drop("record_no") for k, v in res.frames.items()}
    data = res.frames["data"].filter(pl.col("record_no").is_in(record_nos)).drop("record_no")
    frames["data"] = data
    trailer = layout.by_role("T").name
    frames[trailer] = frames[trailer].select(pl.col("record_kind"))
    return fw.write(layout, frames, line_end="crlf")


def register_golden_levy(business_date: dt.date = DAY1) -> StepResult:
    """SN100 with 調定 for every key of the golden payment files (and the pension/debit tests):
    levy_initial.dat + one 2026 and one 2025 file made here."""
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    put_levy(levy_file([
        levy_row("10000000003", 2, 13_000),
        levy_row("10000000005", 1, 300_000),
        levy_row("19999999999", 10, 1_000),
        levy_row("20000000006", 4, 18_000, payer_code="002"),
    ]), "levy_golden_2026.dat")
    put_levy(levy_file([
        levy_row("10000001234", 10, 9_999_999_999, levy_year=2025, levy_date=D(2025, 7, 1)),
        levy_row("10000001234", 3, 999_999, levy_year=2025, levy_date=D(2025, 7, 1)),
    ], creation_date=D(2025, 7, 1), levy_year=2025), "levy_golden_2025.dat")
    res = run("SN100", business_date)
    assert res.rc == 0, res.log_text
    return res


def register_levy_direct(src: Path | bytes, name: str = "levy.dat", business_date: dt.date = DAY1) -> int:
    """Register a 調定 file with ``levy.register`` (what SN100 does, without the step: faster for
    the tests whose subject is the posting). Returns the 期別 rows registered."""
    from jobs.collection import levy, reconcile

    path = put_levy(src, name) if isinstance(src, (bytes, bytearray)) else Path(src)
    res = fw.read(fw.load_layout("levy_file"), path)
    rows = levy.levy_rows(res.frames["data"].with_columns(pl.lit(sha256(path.read_bytes())).alias("source_sha256")))
    run_ = reconcile.Run(MUNI, business_date, "SN100", datasets.generation_name(MUNI, 2026, business_date))
    led = open_ledger()
    try:
        with led.transaction() as tx:
            levy.register(tx, rows, run_)
    finally:
        led.dispose()
    if isinstance(src, (bytes, bytearray)):
        path.unlink()  # not left for a later SN100 run
    return rows.height


# --- 口座振替依頼書 (SN010 / SN020), 宛名, PDFs ---------------------------------------------------------


def mandate_record(person_id: str, kind: str, *, bank_code: str = "0001", branch_code: str = "001",
                   account_number: str = "1234567", account_type: str = "1", holder: str = "ﾃｽﾄ ﾀﾛｳ",
                   received_date: dt.date = D(2026, 4, 1), start_month: str = "202604",
                   stop_reason: str | None = None) -> dict:
    """One 口座振替依頼書 record (layout direct_debit_mandate): kind 1 新規 2 変更 3 停止."""
    return {"record_kind": "2", "municipality_code": MUNI, "payer_person_id": person_id, "household_id": person_id,
            "registration_kind": kind, "received_date": received_date, "start_month": start_month,
            "bank_code": bank_code, "branch_code": branch_code, "account_type": account_type,
            "account_number": account_number, "account_holder": holder,
            "stop_reason": stop_reason if kind == "3" else None}


def mandate_file(records: list[dict], *, creation_date: dt.date = D(2026, 4, 1)) -> bytes:
    layout = fw.load_layout("direct_debit_mandate")
    header = {"record_kind": "1", "municipality_code": MUNI, "creation_date": creation_date}
    return fw.write(layout, {"header": pl.DataFrame([header]), "data": pl.DataFrame(records),
                             "trailer": pl.DataFrame([{"record_kind": "8", "municipality_code": MUNI}])})


def write_qualification(person_ids: list[str], *, business_date: dt.date = D(2026, 4, 1)) -> None:
    """A minimal ``nhi_qualification`` generation (宛名 of the 通知書: SN130 / SN300 read it)."""
    frame = pl.DataFrame({
        "person_id": person_ids,
        "name_kanji": [f"収納　太郎{i + 1}" for i in range(len(person_ids))],
        "postal_code": ["3300001"] * len(person_ids),
        "address_kanji": [f"さいたま市浦和区常盤{i + 1}丁目" for i in range(len(person_ids))],
    })
    datasets.write("nhi_qualification", datasets.generation_name(MUNI, 2026, business_date), frame)


def pdf_text(path: Path) -> str:
    """All the text of a PDF (every page, characters in content order, whitespace dropped)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        out = []
        for i in range(len(doc)):
            tp = doc[i].get_textpage()
            out.append(tp.get_text_range())
        return "".join("".join(out).split())
    finally:
        doc.close()
