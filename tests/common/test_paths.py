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
    assert kokuho_var.resolve() not in paths.secrets_root().parents  # the keys live outside var/
    assert paths.legacy_secrets_root() == kokuho_var.resolve() / "secrets"
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


# --- the one atomic-write helper ----------------------------------------------------------------


def test_write_atomic_replaces_and_leaves_nothing(tmp_path):
    target = tmp_path / "out" / "file.dat"
    assert paths.write_atomic(target, b"one") == target
    paths.write_atomic(target, b"two", mode=0o600)
    assert target.read_bytes() == b"two"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in target.parent.iterdir()] == ["file.dat"]


def test_atomic_path_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "out" / "file.dat"
    target.parent.mkdir()
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), paths.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".file.dat.tmp-")
        tmp.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["file.dat"]


def test_atomic_path_failed_rename_removes_the_temp(tmp_path, monkeypatch):
    target = tmp_path / "out" / "file.dat"

    def broken(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(paths.os, "replace", broken)
    with pytest.raises(OSError), paths.atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert list(target.parent.iterdir()) == []


def test_stage_then_commit(tmp_path):
    target = tmp_path / "sub" / "list.csv"
    tmp = paths.stage_bytes(target, b"rows")
    assert tmp.parent == target.parent and tmp.read_bytes() == b"rows" and not target.exists()
    assert paths.commit_file(tmp, target) == target
    assert target.read_bytes() == b"rows" and not tmp.exists()
