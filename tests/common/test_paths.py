"""Where things live: KOKUHO_HOME / KOKUHO_VAR, and safe folder names."""

from __future__ import annotations

import pytest

from jobs.common import paths


def test_var_layout(kokuho_var):
    assert paths.var_root() == kokuho_var.resolve()
    assert paths.inbox("bank") == kokuho_var.resolve() / "inbox" / "bank"
    assert paths.outbox("bank") == kokuho_var.resolve() / "outbox" / "bank"
    assert paths.datasets_root().name == "datasets" and paths.reports_root().name == "reports"
    assert paths.archive("bank").parent.name == "archive"
    assert paths.errors("FK010").parts[-2:] == ("errors", "FK010")
    assert paths.secrets_root().name == "secrets"
    assert paths.relative(paths.inbox("bank") / "x.txt") == "var/inbox/bank/x.txt"
    assert paths.relative(paths.config_root() / "common") == "config/common"


def test_home_defaults_to_the_checkout(monkeypatch, tmp_path):
    monkeypatch.delenv("KOKUHO_HOME", raising=False)
    assert (paths.home() / "jobs" / "common" / "paths.py").is_file()
    monkeypatch.setenv("KOKUHO_HOME", str(tmp_path))
    monkeypatch.delenv("KOKUHO_VAR")
    assert paths.var_root() == tmp_path.resolve() / "var"
    assert paths.config_root() == tmp_path.resolve() / "config"


@pytest.mark.parametrize("name", ["", "..", "a/b", "../x", "a\\b"])
def test_unsafe_names(name):
    with pytest.raises(ValueError):
        paths.inbox(name)
