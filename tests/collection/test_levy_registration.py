"""SN100's ``levy_registration`` (issue 12): the record of the day's 調定登録 that KB410-WAIT waits for.
One generation per run (also on a day without a 調定 file), one row per file of the generation, the
same bytes on a re-run, and the step's written count stays the registered installments."""

from __future__ import annotations

import pytest
from collection_helpers import DAY1, DAY3, FIXTURES, put_levy, run

from jobs.common import dataset_waits, datasets


@pytest.mark.usefixtures("ledger_url")
def test_sn100_records_the_days_registration():
    put_levy(FIXTURES / "levy_file" / "levy_initial.dat", "levy_initial.dat")
    put_levy(FIXTURES / "levy_file" / "levy_correction.dat", "levy_correction.dat")
    first = run("SN100", DAY1)
    assert first.rc == 0
    gen = datasets.generation_name("111007", 2026, DAY1)
    reg = datasets.read("levy_registration", gen)
    assert reg["file_name"].to_list() == ["levy_correction.dat", "levy_initial.dat"]
    assert reg["records"].sum() == first.totals.written == 6  # the installments registered
    part = datasets.generation_path("levy_registration", gen) / datasets.PART
    before = part.read_bytes()

    again = run("SN100", DAY1)  # a re-run of the generation: the same record, byte for byte
    assert again.rc == 0 and part.read_bytes() == before
    assert again.totals.written == 0  # nothing registered again (KKB413I)

    later = run("SN100", DAY3)  # a day without a 調定 file: still a generation, no rows
    assert later.rc == 0 and later.totals.written == 0
    assert datasets.read("levy_registration", datasets.generation_name("111007", 2026, DAY3)).height == 0
    for day in (DAY1, DAY3):
        assert dataset_waits.same_business_date("levy_registration", business_date=day, fy=2026,
                                                municipality="111007") is not None
