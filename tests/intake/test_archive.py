"""jobs.intake.archive: an input file as the intake archived it (inbox + layout of the intake
step), and the contract of the 消込 steps' ``options["source"]`` with the intake steps."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from jobs import registry
from jobs.common import fixedwidth as fw
from jobs.common import paths
from jobs.intake import inputs
from jobs.intake.archive import ArchivedFile

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _archive(inbox: str, fixture: Path) -> ArchivedFile:
    f = inputs.describe(fixture, "given")
    folder = paths.archive(inbox)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fixture, folder / f.archive_name)
    return ArchivedFile.of({"inbox": inbox, "layout": "counter_payment", "job_id": "SN200"},
                           name=f.name, sha256=f.sha256)


def test_read_and_record_bytes_of_an_archived_file():
    fixture = FIXTURES / "counter_payment" / "counter_crlf.dat"
    af = _archive("counter", fixture)
    assert af.path == paths.archive("counter") / f"{af.sha256}_counter_crlf.dat"
    res = af.read()
    assert res.stride == af.layout.record_length + 2  # CRLF
    data = fixture.read_bytes()
    offs = [0, res.stride, 2 * res.stride]
    assert af.records(offs) == [data[o:o + af.layout.record_length] for o in offs]


def test_a_missing_archive_copy():
    af = ArchivedFile("counter", "counter_payment", "gone.dat", "0" * 64)
    assert af.records([0, 120]) == [None, None]
    with pytest.raises(OSError):
        af.read()


@pytest.mark.parametrize("post, intake", [("SN115", "SN110"), ("SN205", "SN200"), ("SN215", "SN210")])
def test_posting_steps_name_the_intake_step_that_archived_their_files(post, intake):
    source = registry.get(post).options["source"]
    spec = registry.get(intake)
    assert dict(source) == {"inbox": spec.inbox, "layout": spec.layout, "job_id": intake}
    fw.load_layout(source["layout"])  # a layout that exists


def test_the_pension_step_has_no_source_file():
    assert "source" not in registry.get("SN235").options
