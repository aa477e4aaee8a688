"""Config layers (common → municipality → fiscal year), clear errors, the さいたま市 profile."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobs.common import config, paths, runcalendar


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "config"
    write(r / "common" / "system.yaml", 'system: {default_municipality: "131016"}\n')
    write(r / "common" / "calendar.yaml", "calendar:\n  timezone: Asia/Tokyo\n  closure_periods: [a, b]\n"
                                          "  national_holidays: true\n")
    write(r / "municipalities" / "131016" / "municipality.yaml",
          'municipality: {code: "131016", code5: "13101", name: 千代田区}\n'
          "calendar: {closure_periods: [c]}\n")
    write(r / "municipalities" / "131016" / "fy2026" / "rates.yaml",
          "rates: {medical: {income: 0.0712}}\ncalendar: {national_holidays: false}\n")
    return r


def test_layers_merge_in_order(root):
    cfg = config.load(fy=2026, root=root)
    assert cfg.municipality == "131016"  # the default from common/system.yaml
    assert cfg.get("municipality.name") == "千代田区"
    assert cfg.get("calendar.timezone") == "Asia/Tokyo"          # common only
    assert cfg.get("calendar.closure_periods") == ["c"]          # lists are replaced, not merged
    assert cfg.get("calendar.national_holidays") is False       # fiscal year overrides
    assert cfg["rates.medical.income"] == 0.0712
    assert [p.name for p in cfg.sources] == ["calendar.yaml", "system.yaml", "municipality.yaml", "rates.yaml"]
    assert config.load(root=root).get("calendar.national_holidays") is True  # without the fy layer


def test_missing_key_names_key_files_and_missing_folder(root):
    cfg = config.load("131016", 2027, root=root)
    with pytest.raises(config.ConfigError) as exc:
        cfg.get("rates.medical.income")
    text = str(exc.value)
    assert "rates.medical.income" in text
    assert "131016" in text and "2027" in text
    assert "municipality.yaml" in text
    assert "fy2027" in text  # the fiscal-year folder does not exist
    assert cfg.get("rates.medical.income", None) is None
    assert cfg.has("municipality.name") and not cfg.has("rates")


def test_missing_key_reports_how_far_it_got(root):
    with pytest.raises(config.ConfigError, match="'rates.medical' まではあります"):
        config.load("131016", 2026, root=root).get("rates.medical.per_capita")


def test_unknown_municipality(root):
    with pytest.raises(config.ConfigError, match="団体 999999 の設定がありません.*131016"):
        config.load("999999", root=root)


def test_duplicate_key_in_one_layer_is_refused(root):
    write(root / "common" / "other.yaml", "calendar: {timezone: UTC}\n")
    with pytest.raises(config.ConfigError, match="同じ階層の2つのファイル"):
        config.load(root=root)


def test_code_must_match_folder_and_check_digit(root):
    write(root / "municipalities" / "131017" / "municipality.yaml",
          'municipality: {code: "131017", code5: "13101", name: x}\n')
    with pytest.raises(config.ConfigError, match="検査数字は 6"):
        config.load("131017", root=root)


def test_edited_file_is_reread(root):
    assert config.load(root=root).get("municipality.name") == "千代田区"
    write(root / "municipalities" / "131016" / "municipality.yaml",
          'municipality: {code: "131016", code5: "13101", name: 千代田区役所}\n')
    assert config.load(root=root).get("municipality.name") == "千代田区役所"


def test_env_overrides_default_municipality(root, monkeypatch):
    monkeypatch.setenv("KOKUHO_MUNICIPALITY", "131016")
    assert config.default_municipality(root=root) == "131016"


@pytest.mark.parametrize("code5, cd", [("11100", "7"), ("13101", "6"), ("01100", "2"), ("27100", "4")])
def test_check_digit(code5, cd):
    # 111007 さいたま市, 131016 千代田区, 011002 札幌市, 271004 大阪市 (全国地方公共団体コード)
    assert config.check_digit(code5) == cd


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers() | st.dictionaries(
    st.text(min_size=1, max_size=3), st.integers(), max_size=3), max_size=4),
    st.dictionaries(st.text(min_size=1, max_size=3), st.integers() | st.dictionaries(
        st.text(min_size=1, max_size=3), st.integers(), max_size=3), max_size=4))
def test_deep_merge_keeps_every_key_and_override_wins(a, b):
    m = config.deep_merge(a, b)
    assert set(m) == set(a) | set(b)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict):
            assert m[k] == {**a[k], **v}
        else:
            assert m[k] == v


def test_saitama_profile_is_the_default():
    cfg = config.load(fy=2026)
    assert cfg.municipality == "111007"
    assert cfg.get("municipality.code5") == "11100"
    assert cfg.get("municipality.name") == "さいたま市"
    assert len(cfg.get("direct_debit.consignor_code")) == 10
    assert cfg.get("cvs.barcode.max_amount") == 300_000
    assert cfg.get("calendar.fiscal_year_start") == "04-01"
    assert cfg.get("fiscal_year.accounts_closing") == dt.date(2027, 5, 31)
    assert [p["from"] for p in cfg.get("calendar.closure_periods")] == ["12-29"]
    assert "111007" in config.municipality_codes()
    assert (paths.config_root() / "common" / "eras.yaml") in cfg.sources


# --- one name per thing, one place per value ---------------------------------------------------

# Keys that must be set in exactly one file of config/ (no layer overrides them): each value has
# one home, and everything that needs it reads it from there.
UNIQUE_KEYS = {
    "calendar.fiscal_year_start": "config/common/calendar.yaml",
    "reassessment.run_days": "config/common/run_calendar.yaml",
    "reassessment.after_initial_assessment": "config/common/run_calendar.yaml",
}
# Other names once used for a value that now has one home: they must not come back.
RETIRED_KEYS = ("fiscal_year.starts", "fiscal_year.ends", "fiscal_year.assessment_date",
                "calendar.fiscal_year_end")
# The statutory tax files (config/common/tax/fy*.yaml) are read by jobs/assessment/rates.py
# (``statutory``) on their own, not as a config layer: they are checked below.
LAYER_FILES = "*.yaml", "municipalities/*/*.yaml", "municipalities/*/fy*/*.yaml", "common/tax/fy*.yaml"


def _dotted_keys(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            yield key
            yield from _dotted_keys(v, key)


def _where_defined() -> dict[str, list[str]]:
    import yaml

    root = paths.config_root()
    files = sorted({p for pat in LAYER_FILES for p in root.glob(pat)} | set((root / "common").glob("*.yaml")))
    out: dict[str, list[str]] = {}
    for p in files:
        for key in _dotted_keys(yaml.safe_load(p.read_text(encoding="utf-8")) or {}):
            out.setdefault(key, []).append(str(p.relative_to(root.parent)))
    return out


def test_unique_config_keys_are_defined_once():
    where = _where_defined()
    for key, home in UNIQUE_KEYS.items():
        assert where.get(key) == [home], f"{key}: {where.get(key)}"
    assert {k: where[k] for k in RETIRED_KEYS if k in where} == {}


def test_one_file_name_per_thing():
    """calendar.yaml is the business-day calendar (only ``calendar:``) wherever it is;
    run_calendar.yaml is the 業務日程 of the job nets (only run-day sections)."""
    root = paths.config_root()
    for p in root.rglob("calendar.yaml"):
        assert set(yaml_doc(p)) <= {"calendar"}, p
        assert not p.parent.name.startswith("fy"), f"{p}: a fiscal year's run days go in run_calendar.yaml"
    run_files = list(root.rglob("run_calendar.yaml"))
    assert run_files
    for p in run_files:
        doc = yaml_doc(p)
        for key, section in doc.items():  # 当初賦課, 異動賦課, or a monthly rule (runcalendar.MonthlyRule)
            assert key in {"initial_assessment", "reassessment"} or (
                isinstance(section, dict) and set(section) <= runcalendar.MONTHLY_RULE_KEYS
                and ("run_days" in section or "dates" in section)), f"{p}: {key}"


def yaml_doc(path: Path) -> dict:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def test_the_tax_files_do_not_set_the_fiscal_year_start():
    """The fiscal year's first day is calendar.fiscal_year_start only: rates.py reads it from there
    and refuses a ``tax.fiscal_year_start`` (a second home that could disagree)."""
    import pytest

    from jobs.assessment import rates

    assert not [k for k in _where_defined() if k.endswith("fiscal_year_start") and k != "calendar.fiscal_year_start"]
    base, _ = rates.statutory(2026)
    with pytest.raises(rates.RatesError, match="calendar.fiscal_year_start"):
        rates.TaxRates.from_mapping({**base, "fiscal_year_start": "04-01"}, fiscal_year_start="04-01")
    assert rates.TaxRates.load(None, 2026).fy_start.isoformat() == "2026-04-01"
