"""Fixtures of the synthetic-city tests: one small city per session, generated with the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from synth_helpers import SMALL_N, SMALL_SEED, run_synth


@pytest.fixture(scope="session")
def small_city(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth_city")
    return out, run_synth(out, SMALL_N, SMALL_SEED)
