"""The states the kill tests start from, each built once per session in a var/ folder of its own
(with its DuckDB ledger in var/ledger/) and copied for every run:

- ``city``: a small synthetic city in the inbox (before KB100 取込);
- ``intake``: FK020, FK010, FK030 done (before FK110); ``assessed``: FK110–FK130 done (before FK150);
  ``printed``: FK150 done once (a reprint replaces its print file and PDF folder);
- 収納 (the scenarios of tests/collection): ``levy`` (a 調定 file in the outbox, before SN100),
  ``counter`` (調定 registered, a 窓口 file in the inbox, before SN200), ``counter_taken`` (before
  SN205), ``overpaid`` (before SN300), ``bank_result`` (a 口座振替 result taken in, before SN115).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "collection"))  # collection_helpers

import crash_helpers as ch  # noqa: E402

INSURED = 90
SEED = 20260601
INTAKE_DATE = ch.INTAKE_DATE
ASSESS_DATE = ch.ASSESS_DATE
D = dt.date


class States:
    def __init__(self, root: Path):
        self.root = root
        self._built: dict[str, Path] = {}
        self._clean: dict[tuple[str, str], tuple[dict, dict]] = {}

    def get(self, name: str) -> Path:
        if name not in self._built:
            path = self.root / name
            getattr(self, f"_build_{name}")(path)
            self._built[name] = path
        return self._built[name]

    def clean(self, name: str, jobs: list) -> tuple[dict, dict]:
        """What ``jobs`` run in this process on state ``name`` leave (files, ledger totals); once."""
        key = (name, repr(jobs))
        if key not in self._clean:
            var = ch.copy_var(self.get(name), self.root / f"clean-{len(self._clean)}")
            with ch.use_var(var):
                ch.run_jobs(jobs)
            self._clean[key] = ch.outcome(var)
            shutil.rmtree(var)
        return self._clean[key]

    def _from(self, base: str, path: Path) -> Path:
        return ch.copy_var(self.get(base), path)

    def _build_city(self, path: Path) -> None:
        from jobs.synth.cli import main

        (path / "inbox").mkdir(parents=True)
        assert main(["--insured", str(INSURED), "--seed", str(SEED), "--out", str(path / "inbox"), "--quiet"]) == 0

    def _build_intake(self, path: Path) -> None:
        with ch.use_var(self._from("city", path)):
            ch.run_jobs([(j, INTAKE_DATE, {}) for j in ("FK020", "FK010", "FK030")])

    def _build_assessed(self, path: Path) -> None:
        with ch.use_var(self._from("intake", path)):
            ch.run_jobs([(j, ASSESS_DATE, {}) for j in ("FK110", "FK120", "FK130")])

    def _build_printed(self, path: Path) -> None:
        with ch.use_var(self._from("assessed", path)):
            ch.run_jobs([("FK150", ASSESS_DATE, {"households_per_pdf": 12, "pdf_workers": 1})])

    # --- 収納 --------------------------------------------------------------------------------------

    def _build_levy(self, path: Path) -> None:
        import collection_helpers as h
        from test_refund_steps import P, Q, R, n

        path.mkdir(parents=True)
        with ch.use_var(path):
            h.put_levy(h.levy_file([
                h.levy_row(n(P), 1, 50_000, due_date=D(2026, 7, 31)),
                h.levy_row(n(P), 2, 50_000, due_date=D(2026, 8, 31)),
                h.levy_row(n(P), 3, 50_000, due_date=D(2026, 9, 30)),
                h.levy_row(n(P), 5, 50_000, due_date=D(2027, 1, 4)),
                h.levy_row(n(Q), 1, 30_000, due_date=D(2026, 7, 31)),
                h.levy_row(n(R), 1, 40_000, due_date=D(2026, 7, 31)),
            ]), "levy_refund.dat")

    def _build_counter(self, path: Path) -> None:
        import collection_helpers as h
        from test_refund_steps import P, Q, R, n

        with ch.use_var(self._from("levy", path)):
            assert h.run("SN100", D(2026, 6, 15)).rc == 0
            h.drop(h.mandate_file([h.mandate_record(P, "1", bank_code="0005", branch_code="010",
                                                    account_number="8888888", holder="ｶﾝﾌﾟ ﾀﾛｳ")]),
                   "koufuri", "KOUFURI_IRAI_P.dat")
            assert h.run("SN010", D(2026, 6, 15)).rc == 0
            assert h.run("SN020", D(2026, 6, 15)).rc == 0
            h.drop(h.counter_file([
                h.counter_record(n(P), 3, 1_050_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2)),
                h.counter_record(n(Q), 1, 30_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2), serial=2),
                h.counter_record(n(Q), 1, 30_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2), serial=3),
                h.counter_record(n(R), 1, 40_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2), serial=4),
                h.counter_record(n("0000000099"), 1, 7_000, paid_date=D(2026, 7, 1), received_date=D(2026, 7, 2),
                                 serial=5),  # no 調定: 保留, on the error list
            ], creation_date=D(2026, 7, 2)), "counter", "COUNTER_20260702.dat")

    def _build_counter_taken(self, path: Path) -> None:
        import collection_helpers as h

        with ch.use_var(self._from("counter", path)):
            assert h.run("SN200", D(2026, 7, 2)).rc == 0

    def _build_overpaid(self, path: Path) -> None:
        import collection_helpers as h
        from test_refund_steps import P, Q, R

        with ch.use_var(self._from("counter_taken", path)):
            assert h.run("SN205", D(2026, 7, 2)).rc < 8
            h.write_qualification([P, Q, R])

    def _build_bank_result(self, path: Path) -> None:
        import collection_helpers as h
        import test_debit_steps as t

        path.mkdir(parents=True)
        with ch.use_var(path):
            t.setup_ledger()
            h.write_qualification([t.A, t.B, t.C, t.Dp, t.E])
            assert h.run("SN120", t.REQUEST_DAY).rc == 0
            h.drop(h.debit_file([
                h.debit_record(t.n(t.B), 3, 10_000, "0", account_number="3333333"),
                h.debit_record(t.n(t.E), 3, 30_000, "1", branch_code="003", account_number="7777777"),
            ], debit_date=t.DEBIT), "bank", "KOUFURI_KEKKA_0001_20260930.dat")
            assert h.run("SN110", D(2026, 10, 2)).rc == 0


@pytest.fixture(scope="session")
def states(tmp_path_factory) -> States:
    return States(tmp_path_factory.mktemp("crash_states"))
