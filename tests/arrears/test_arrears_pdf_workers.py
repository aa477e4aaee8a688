"""TN020 督促状 and TN120 催告書 render their PDF files side by side in worker processes
(``jobs.common.pdf_pool``, as FK150 does): split at the file size, every document in exactly one file in
order, the same bytes in two processes as in one, and no private (hidden) file left behind.

The city: five taxpayers with an unpaid 2026 第1期 (納期限 2026-07-31), 督促状 on 2026-08-20, 催告 on
2026-09-10; two documents a file, so three files."""

from __future__ import annotations

import pypdfium2 as pdfium
from collection_helpers import D, levy_file, levy_row, msg_ids, put_levy, run, write_qualification

from jobs.common import paths

PEOPLE = [f"{i:010d}" for i in range(1, 6)]
DUNNING_DAY, REMIND_DAY = D(2026, 8, 20), D(2026, 9, 10)
PER_FILE = 2


def _city() -> None:
    put_levy(levy_file([levy_row(f"1{p}", 1, 10_000 * (i + 1), due_date=D(2026, 7, 31))
                        for i, p in enumerate(PEOPLE)]), "levy_2026.dat")
    assert run("SN100", D(2026, 7, 1)).rc == 0
    write_qualification(PEOPLE)


def _pdfs(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _texts(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]


def test_dunning_and_reminders_in_two_processes_as_in_one(ledger_url):
    _city()
    assert run("TN010", DUNNING_DAY).rc == 0

    # --- TN020 督促状: 5 documents, 2 a file → 3 files, rendered by 2 workers ----------------------
    res = run("TN020", DUNNING_DAY, pdf_workers=2, pdf_max_notices=PER_FILE)
    assert res.rc == 0, res.log_text
    folder = paths.reports_root() / "dunning" / "m111007_fy2026_d20260820"
    parallel = _pdfs(folder)
    assert list(parallel) == ["tokusoku_001.pdf", "tokusoku_002.pdf", "tokusoku_003.pdf"]  # no hidden file
    assert res.totals.figures["pdf_files"] == 3
    assert sum(len(pdfium.PdfDocument(b)) for b in parallel.values()) == res.totals.figures["pdf_pages"]
    # in notice order, each 督促状 in exactly one file: the first file holds the first two taxpayers' amounts
    first = "".join(_texts(parallel["tokusoku_001.pdf"]))
    assert "10,000" in first and "20,000" in first and "30,000" not in first
    assert "50,000" in "".join(_texts(parallel["tokusoku_003.pdf"]))
    # a rerun in one process: nothing issued again, the same bytes
    res = run("TN020", DUNNING_DAY, pdf_workers=1, pdf_max_notices=PER_FILE)
    assert res.rc == 0 and "KKB606I" in msg_ids(res), res.log_text
    assert _pdfs(folder) == parallel

    # --- TN120 現年催告書: the same split, 2 workers then 1 -------------------------------------------
    res = run("TN120", REMIND_DAY, pdf_workers=2, pdf_max_notices=PER_FILE)
    assert res.rc == 0, res.log_text
    assert res.totals.figures["reminders"] == 5 and res.totals.figures["pdf_files"] == 3
    folder = paths.reports_root() / "arrears" / "m111007_fy2026_d20260910" / "saikoku_current"
    parallel = _pdfs(folder)
    assert list(parallel) == [f"saikoku_current_{i:03d}.pdf" for i in (1, 2, 3)]
    assert sum(len(pdfium.PdfDocument(b)) for b in parallel.values()) == res.totals.figures["pdf_pages"]
    last = "".join(_texts(parallel["saikoku_current_003.pdf"]))
    assert "50,000" in last and "40,000" not in last
    res = run("TN120", REMIND_DAY, pdf_workers=1, pdf_max_notices=PER_FILE)
    assert res.rc == 0 and "KKB642I" in msg_ids(res), res.log_text
    assert _pdfs(folder) == parallel
    # and with the configured file size (1,000 a file): one file, in the step's own process
    res = run("TN120", REMIND_DAY)
    assert res.rc == 0 and list(_pdfs(folder)) == ["saikoku_current_001.pdf"]
    assert res.totals.figures["pdf_pages"] == sum(len(pdfium.PdfDocument(b)) for b in parallel.values())
