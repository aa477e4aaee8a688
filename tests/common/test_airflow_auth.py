"""The UI users file and the passwords file (jobs.airflow_auth) without Airflow running; the real
API server is tests/airflow_api/test_auth_api.py."""

from __future__ import annotations

import json
import stat

import pytest

from jobs import airflow_auth


def test_the_shipped_users_file_has_the_three_roles_and_no_password():
    users = airflow_auth.load_users()
    assert {u["role"] for u in users} == {"閲覧", "運用", "管理"}
    assert {u["airflow_role"] for u in users} == {"viewer", "user", "admin"}
    assert "password" not in airflow_auth.users_file().read_text(encoding="utf-8").split("#")[0]
    assert airflow_auth.users_option(users).count(":") == len(users)


@pytest.mark.parametrize("entry, error", [
    ("{login: a, role: 課長}", "role"),
    ("{login: 'がぎぐ', role: 閲覧}", "login"),
    ("{login: abcdefghijklmnopq, role: 閲覧}", "login"),
    ("{login: a, role: 閲覧, password: x}", "パスワード"),
])
def test_bad_users_are_refused(tmp_path, entry, error):
    f = tmp_path / "users.yaml"
    f.write_text(f"users:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        airflow_auth.load_users(f)


def test_passwords_generated_kept_from_env_and_leavers_dropped(tmp_path, monkeypatch):
    users = [{"login": "a", "airflow_role": "viewer"}, {"login": "b.c", "airflow_role": "user"}]
    path = tmp_path / "pw.json"
    path.write_text(json.dumps({"a": "old-a", "gone": "x"}))
    monkeypatch.setenv("KOKUHO_AIRFLOW_PASSWORD_B_C", "from-env")
    assert airflow_auth.write_passwords(path, users) == {"a": "kept", "b.c": "env"}
    assert json.loads(path.read_text()) == {"a": "old-a", "b.c": "from-env"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    monkeypatch.delenv("KOKUHO_AIRFLOW_PASSWORD_B_C")
    path.unlink()
    how = airflow_auth.write_passwords(path, users)
    assert how == {"a": "generated", "b.c": "generated"}
    assert all(len(p) >= 16 for p in json.loads(path.read_text()).values())
