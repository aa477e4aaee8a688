"""Every test in tests/pension gets its own var/ (KOKUHO_VAR) and the 個人番号 key."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_var(kokuho_var, monkeypatch):
    monkeypatch.delenv("KOKUHO_MUNICIPALITY", raising=False)
    monkeypatch.setenv("KOKUHO_MYNUMBER_KEY", "ab" * 32)
    return kokuho_var
