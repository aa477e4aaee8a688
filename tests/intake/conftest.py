"""Every test in tests/intake gets its own var/ (KOKUHO_VAR) and no inherited kokuho settings."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_var(kokuho_var, monkeypatch):
    monkeypatch.delenv("KOKUHO_MYNUMBER_KEY", raising=False)
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    return kokuho_var
