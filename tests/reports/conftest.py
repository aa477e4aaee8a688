"""Shared fixtures of the notice tests: the config, the golden input (fixtures/tax_notice_print/
golden_input.py: hand-made frames in the assessment engine's shape) and one rendered PDF."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from jobs.common import config
from reports import notices, print_data

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "tax_notice_print"


def _load_golden_input():
    spec = importlib.util.spec_from_file_location("tax_notice_golden_input", FIXTURES / "golden_input.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def golden():
    return _load_golden_input()


@pytest.fixture(scope="session")
def cfg():
    return config.load("111007", 2026)


@pytest.fixture(scope="session")
def initial_frame(golden, cfg):
    a, i, ad = golden.initial_frames()
    return print_data.notice_frame(a, i, ad, cfg, issue_date=golden.ISSUE_DATE)


@pytest.fixture(scope="session")
def change_frame(golden, cfg):
    ca, ci, pa, pi = golden.change_frames()
    _, _, ad = golden.initial_frames()
    return print_data.notice_frame(ca, ci, ad, cfg, issue_date=golden.CHANGE_ISSUE_DATE, notice_kind="2",
                                   previous_assessment=pa, previous_installments=pi)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, initial_frame, change_frame, cfg):
    """The golden notices (当初 and 変更) rendered once: (path, stats) per kind."""
    out = {}
    base = tmp_path_factory.mktemp("notices")
    for kind, frame in (("initial", initial_frame), ("change", change_frame)):
        path = base / f"{kind}.pdf"
        stats = notices.render_pdf(frame, cfg, path, record_barcodes=True)
        out[kind] = (path, stats)
    return out
