"""The malformed-file corpus (tests/corpus/cases.yaml, built by build_corpus.py), each case through
the real intake step (jobs.runner.run_job) of its layout, on 業務日 2026-06-29:

- RC and a message id as the table says; read = accepted + rejected;
- RC 4: the error-list row (record number, field, a fragment of the reason, the raw bytes), and for
  the payment layouts the 消込 step keeps every data record in the 消込データ (nothing lost);
- RC 8: the file stays in the inbox byte for byte, no dataset generation and no error list is
  written (var/datasets unchanged), and for the payment layouts the 消込 step posts nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_corpus as bc  # noqa: E402

from jobs.common import errorlist, paths  # noqa: E402
from jobs.runner import run_job  # noqa: E402

CASES = bc.load_cases()
#: the 消込 step after each payment intake (jobs/registry.py)
POST = {"counter_payment": "SN205", "cvs_payment": "SN215", "zengin_91_result": "SN115"}


@pytest.fixture
def corpus_env(kokuho_var, tmp_path, monkeypatch):
    monkeypatch.delenv("KOKUHO_MYNUMBER_KEY", raising=False)
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    monkeypatch.setenv("KOKUHO_LEDGER_URL", f"duckdb:///{tmp_path / 'ledger.duckdb'}")
    return kokuho_var


def _tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()} \
        if folder.is_dir() else {}


def _ledger_counts(url: str) -> dict[str, int]:
    import duckdb

    path = url.removeprefix("duckdb:///")
    if not Path(path).is_file():
        return {"posted_file": 0, "reconciliation": 0, "payment": 0}
    con = duckdb.connect(path, read_only=True)
    try:
        return {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                for t in ("posted_file", "reconciliation", "payment")}
    finally:
        con.close()


def _register_persons() -> None:
    """FK010 verifies 個人番号 against FK020's person_key: register the base persons first."""
    job, inbox, pattern = bc.JOBS["nhi_qualification"]
    (paths.ensure_dir(paths.inbox(inbox)) / pattern.format(case="base")).write_bytes(bc.build_base("nhi_qualification"))
    assert run_job(job, business_date=bc.BUSINESS_DATE).rc == 0


def test_corpus_size_and_coverage():
    layouts = {c["layout"] for c in CASES.values()}
    assert len(CASES) >= 60
    assert layouts == set(bc.JOBS)
    assert {c["rc"] for c in CASES.values()} == {4, 8}


def test_corpus_is_deterministic():
    for name in ("counter_amount_9999999999", "nhi_utf8_name", "z21_birth_1800", "debit_trailer_sum_off"):
        assert bc.build_case(CASES[name]) == bc.build_case(CASES[name])


@pytest.mark.parametrize("name", list(CASES))
def test_case(name, corpus_env, monkeypatch):
    import os

    case = CASES[name]
    layout = case["layout"]
    job, inbox, _ = bc.JOBS[layout]
    if layout == "resident_tax_income":
        _register_persons()
    data = bc.build_case(case)
    target = paths.ensure_dir(paths.inbox(inbox)) / bc.file_name(case)
    target.write_bytes(data)
    datasets_before = _tree(corpus_env / "datasets")

    res = run_job(job, business_date=bc.BUSINESS_DATE)
    ids = [m.msg_id for m in res.messages]
    assert res.rc == case["rc"], res.log_text
    assert case["message"] in ids, res.log_text
    t = res.totals
    assert t.read == t.accepted + t.rejected

    if case["rc"] == 8:
        assert case["refused"] in res.log_text, res.log_text
        assert not res.committed and res.error_list is None
        assert target.is_file() and target.read_bytes() == data  # kept in the inbox for the operator
        assert _tree(corpus_env / "datasets") == datasets_before  # no generation written
        if layout in POST:
            post = run_job(POST[layout], business_date=bc.BUSINESS_DATE)
            assert post.rc == 0 and "KKB422I" in [m.msg_id for m in post.messages], post.log_text
            assert _ledger_counts(os.environ["KOKUHO_LEDGER_URL"]) == {"posted_file": 0, "reconciliation": 0,
                                                                       "payment": 0}
        return

    want = case["counts"]
    assert (t.read, t.accepted, t.rejected) == (want["read"], want["accepted"], want["rejected"]), res.log_text
    assert res.committed and not target.exists()  # archived after the commit
    rows = errorlist.read(res.error_list)
    hit = rows.filter(rows["レコード番号"] == str(case["error"]["record_no"]))
    assert hit.height == 1, rows
    row = hit.row(0, named=True)
    assert row["ファイル名"] == bc.file_name(case)
    assert row["項目"] == case["error"]["field"], row
    assert case["error"]["reason"] in row["理由"], row
    assert row["生データ(16進)"]  # the raw bytes are kept
    if layout in POST:
        post = run_job(POST[layout], business_date=bc.BUSINESS_DATE)
        assert post.rc in (0, 4), post.log_text
        data_records = 5  # every payment base file has five data records: all are in the 消込データ
        counts = _ledger_counts(os.environ["KOKUHO_LEDGER_URL"])
        assert counts["posted_file"] == 1 and counts["reconciliation"] == data_records, counts
        err = errorlist.read(post.error_list)
        assert str(case["error"]["record_no"]) in err["レコード番号"].to_list(), err
