"""The Airflow auth manager of kokuho-batch: named users with a role each, from config/common/users.yaml.

    [core] auth_manager = jobs.airflow_auth.KokuhoAuthManager      (airflow.cfg)

It is Airflow's SimpleAuthManager (roles viewer < user < op < admin; a viewer gets 403 on every
write: trigger, clear, mark, pause) with two changes:

- the users come from config/common/users.yaml (login, name, role 閲覧 | 運用 | 管理), not from
  ``[core] simple_auth_manager_users``;
- 閲覧 (viewer) may not read XComs (GET …/xcomEntries → 403): the return values of the steps are
  control totals, but an XCom is the one place a task could hand a record on, so only 運用 and
  管理 see them.

Passwords live in ``[core] simple_auth_manager_passwords_file`` (var/airflow/, mode 0600),
written by ``python -m jobs.airflow_auth passwords`` (``make airflow-init``): generated, or from
``KOKUHO_AIRFLOW_PASSWORD_<LOGIN>``; a login no longer in users.yaml is dropped from the file.

SimpleAuthManager keeps passwords in a plain file and has no lockout or rotation; production
uses the FAB auth manager (apache-airflow-providers-fab) or the city's directory (Keycloak /
LDAP) with the same three roles — see README, "Security and data protection".

Imported by the Airflow API server only (it subclasses an Airflow class); the role table and the
users file are plain functions, tested without Airflow.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import yaml

#: the role of users.yaml → the SimpleAuthManager role
ROLES: dict[str, str] = {"閲覧": "viewer", "運用": "user", "管理": "admin"}
_LOGIN = re.compile(r"^[A-Za-z0-9._@-]{1,16}$")


def users_file() -> Path:
    from jobs.common import paths

    return Path(os.environ.get("KOKUHO_USERS_FILE") or paths.config_root() / "common" / "users.yaml")


def load_users(path: Path | None = None) -> list[dict[str, str]]:
    """The users of users.yaml: ``{"login", "name", "role" (閲覧|運用|管理), "airflow_role"}``."""
    path = path or users_file()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out, seen = [], set()
    for entry in data.get("users") or []:
        login, role = str(entry.get("login", "")), str(entry.get("role", ""))
        if not _LOGIN.match(login):
            raise ValueError(f"{path}: login は16文字以内の英数字と . _ @ - です: {login!r}")
        if role not in ROLES:
            raise ValueError(f"{path}: {login} の role は 閲覧・運用・管理 のどれかです: {role!r}")
        if login in seen:
            raise ValueError(f"{path}: login が重複しています: {login}")
        if "password" in entry:
            raise ValueError(f"{path}: パスワードを users.yaml に書かないでください ({login})")
        seen.add(login)
        out.append({"login": login, "name": str(entry.get("name", login)), "role": role,
                    "airflow_role": ROLES[role]})
    return out


def users_option(users: list[dict[str, str]] | None = None) -> str:
    """``[core] simple_auth_manager_users`` of the users: ``login:role,…``."""
    return ",".join(f"{u['login']}:{u['airflow_role']}" for u in (users if users is not None else load_users()))


def password_env(login: str) -> str:
    return "KOKUHO_AIRFLOW_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", login.upper())


def write_passwords(path: Path, users: list[dict[str, str]] | None = None) -> dict[str, str]:
    """The passwords file (0600): kept passwords of current users, new ones generated or from the
    environment; logins no longer configured are dropped. Returns {login: "kept"|"env"|"generated"}."""
    users = users if users is not None else load_users()
    old: dict[str, Any] = {}
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8") or "{}")
        except ValueError:
            old = {}
    new, how = {}, {}
    for u in users:
        login = u["login"]
        if os.environ.get(password_env(login)):
            new[login], how[login] = os.environ[password_env(login)], "env"
        elif isinstance(old.get(login), str) and old[login]:
            new[login], how[login] = old[login], "kept"
        else:
            new[login], how[login] = secrets.token_urlsafe(12), "generated"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(new, ensure_ascii=False) + "\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return how


def _manager_class():
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import (
        SimpleAuthManager,
        SimpleAuthManagerRole,
    )
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.configuration import conf

    # the login route calls SimpleAuthManager.get_users() on the base class, which reads this option
    conf.set("core", "simple_auth_manager_users", users_option())

    class KokuhoAuthManager(SimpleAuthManager):
        """SimpleAuthManager with the users of config/common/users.yaml; viewers read no XComs."""

        @staticmethod
        def get_users() -> list[SimpleAuthManagerUser]:
            return [SimpleAuthManagerUser(username=u["login"], role=u["airflow_role"]) for u in load_users()]

        def is_authorized_dag(self, *, method, user, access_entity=None, details=None) -> bool:
            if access_entity == DagAccessEntity.XCOM and not self._is_admin(user):
                role = SimpleAuthManagerRole[(user.role or "").upper()] if user.role else None
                if role is None or role.order < SimpleAuthManagerRole.USER.order:
                    return False
            return super().is_authorized_dag(method=method, user=user, access_entity=access_entity,
                                             details=details)

    KokuhoAuthManager.__module__ = __name__
    KokuhoAuthManager.__qualname__ = "KokuhoAuthManager"
    return KokuhoAuthManager


def __getattr__(name: str):
    if name == "KokuhoAuthManager":  # built on first use: importing this module needs no Airflow
        cls = _manager_class()
        globals()[name] = cls
        return cls
    raise AttributeError(name)


def main(argv: list[str] | None = None) -> int:
    """``python -m jobs.airflow_auth passwords [FILE]`` | ``users``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["users"]:
        for u in load_users():
            print(f"{u['login']:<16} {u['role']} ({u['airflow_role']})  {u['name']}")
        return 0
    if argv[:1] == ["passwords"]:
        if len(argv) > 1:
            target = Path(argv[1])
        else:
            from airflow.configuration import conf

            target = Path(conf.get("core", "simple_auth_manager_passwords_file"))
        how = write_passwords(target)
        for login, what in how.items():
            print(f"{login}: {what}")
        print(f"passwords: {target} (0600)")
        return 0
    print("usage: python -m jobs.airflow_auth passwords [FILE] | users", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
