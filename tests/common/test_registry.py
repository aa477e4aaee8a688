"""The job catalogue: ids, names, and that every intake spec matches its layout."""

from __future__ import annotations

import pytest

from jobs import registry
from jobs.common import fixedwidth as fw
from jobs.common import paths
from jobs.intake.generic import dataset_map

EXPECTED = {
    "FK020": ("国保資格取込", "shikaku", "nhi_qualification"),
    "FK010": ("住民税所得取込", "juminzei", "resident_tax_income"),
    "FK030": ("年金特徴対象者取込", "nenkin", "tokucho_z21"),
    "SN010": ("口座振替依頼書取込", "koufuri", "direct_debit_mandate"),
    "SN110": ("口座振替結果取込", "bank", "zengin_91_result"),
}


def test_intake_jobs():
    for job_id, (name, inbox, layout) in EXPECTED.items():
        spec = registry.get(job_id)
        assert (spec.name_ja, spec.inbox, spec.layout) == (name, inbox, layout)
        assert spec.title == f"{job_id} {name}"
    assert registry.get("fk010").job_id == "FK010"
    assert registry.get("FK030").pattern == "Z21*.dta"
    assert registry.get("FK010").after == ("FK020",)
    assert "person_key" in registry.get("FK020").outputs


def test_unknown_job_suggests():
    with pytest.raises(KeyError, match="FK011.*FK010"):
        registry.get("FK011")


def test_register_refuses_duplicates():
    with pytest.raises(ValueError):
        registry.register(registry.get("FK010"))


@pytest.mark.parametrize("job_id", sorted(EXPECTED))
def test_datasets_cover_every_record_type_of_the_layout(job_id):
    spec = registry.get(job_id)
    if not (paths.layouts_root() / f"{spec.layout}.yaml").exists():
        pytest.skip(f"layouts/{spec.layout}.yaml not written yet")
    layout = fw.load_layout(spec.layout)
    mapping = dataset_map(spec, layout)
    assert mapping[layout.data_type.name] == spec.layout
    assert set(mapping.values()) <= set(spec.outputs)
