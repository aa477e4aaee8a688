"""The UI's users and roles against the REAL Airflow API server (jobs.airflow_auth.KokuhoAuthManager).

One ``airflow api-server`` on a free loopback port with a temp AIRFLOW_HOME (its own SQLite DB,
JWT secret, a one-task DAG) and a users file of three users. Logged in through ``POST /auth/token``:

- 閲覧 (viewer): reads DAGs and runs; 403 on trigger (POST …/dagRuns), clear
  (POST …/clearTaskInstances), mark (PATCH …/dagRuns/{id}) and on reading XComs;
- 運用 (operator): 200 on trigger and clear, reads XComs; the run it triggered names it
  (``triggering_user_name``, what jobs.airflow_task writes into the ledger's 操作者ID);
- 管理 (admin): everything;
- no token: 401; a wrong password: no token.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from jobs import airflow_auth

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG_ID = "kokuho_auth_probe"
DAG_FILE = f'''
import datetime as dt
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator
with DAG("{DAG_ID}", schedule=None, start_date=dt.datetime(2026, 1, 1), catchup=False):
    EmptyOperator(task_id="t")
'''
USERS = """users:
  - {login: kanri, name: 管理者, role: 管理}
  - {login: unyo, name: 運用担当, role: 運用}
  - {login: etsuran, name: 閲覧者, role: 閲覧}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(base: str, method: str, path: str, token: str | None = None, body=None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, raw.decode(errors="replace")


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-api-home")
    dags = home / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE, encoding="utf-8")
    users = home / "users.yaml"
    users.write_text(USERS, encoding="utf-8")
    passwords = home / "passwords.json"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__AUTH_MANAGER": "jobs.airflow_auth.KokuhoAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-secret-" + "x" * 32,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__WORKERS": "1",
        "KOKUHO_USERS_FILE": str(users),
    })
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    for login in ("kanri", "unyo", "etsuran"):
        env.pop(airflow_auth.password_env(login), None)
    airflow = shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"
    old_users = os.environ.get("KOKUHO_USERS_FILE")
    os.environ["KOKUHO_USERS_FILE"] = str(users)
    try:
        how = airflow_auth.write_passwords(passwords)  # as `make airflow-init`
    finally:
        if old_users is None:
            os.environ.pop("KOKUHO_USERS_FILE", None)
        else:
            os.environ["KOKUHO_USERS_FILE"] = old_users
    assert how == {"kanri": "generated", "unyo": "generated", "etsuran": "generated"}
    assert passwords.stat().st_mode & 0o777 == 0o600
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run([airflow, *args], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = (home / "api-server.log").open("w")
    proc = subprocess.Popen([airflow, "api-server", "--port", str(port), "--host", "127.0.0.1"], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v2/monitor/health", timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("api-server did not come up:\n" + (home / "api-server.log").read_text()[-4000:])
                time.sleep(1)
        yield base, json.loads(passwords.read_text())
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _token(base: str, login: str, password: str) -> str | None:
    status, body = _call(base, "POST", "/auth/token", body={"username": login, "password": password})
    return body.get("access_token") if status in (200, 201) and isinstance(body, dict) else None


def test_the_three_roles_against_the_api_server(api_server):
    base, pw = api_server
    viewer, operator, admin = (_token(base, u, pw[u]) for u in ("etsuran", "unyo", "kanri"))
    assert viewer and operator and admin
    assert _token(base, "etsuran", "wrong-password") is None
    assert _call(base, "GET", "/api/v2/dags")[0] == 401  # no token

    # 閲覧: reads, but cannot trigger or clear
    status, body = _call(base, "GET", "/api/v2/dags", viewer)
    assert status == 200 and DAG_ID in {d["dag_id"] for d in body["dags"]}
    trigger = {"logical_date": None, "conf": {}}
    assert _call(base, "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", viewer, trigger)[0] == 403
    clear = {"dry_run": True, "only_failed": False}
    assert _call(base, "POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances", viewer, clear)[0] == 403

    # 運用: triggers and clears; the run names who triggered it (→ 操作者ID in the ledger)
    status, run = _call(base, "POST", f"/api/v2/dags/{DAG_ID}/dagRuns", operator, trigger)
    assert status == 200, run
    assert run["triggering_user_name"] == "unyo"
    run_id = run["dag_run_id"]
    status, body = _call(base, "POST", f"/api/v2/dags/{DAG_ID}/clearTaskInstances", operator, clear)
    assert status == 200, body

    # 閲覧 cannot mark the run nor read its XComs; 運用 and 管理 can read them
    assert _call(base, "PATCH", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", viewer, {"state": "failed"})[0] == 403
    xcoms = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/t/xcomEntries"
    assert _call(base, "GET", xcoms, viewer)[0] == 403
    assert _call(base, "GET", xcoms, operator)[0] == 200
    assert _call(base, "GET", xcoms, admin)[0] == 200
    # and the run itself is readable by the viewer
    assert _call(base, "GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}", viewer)[0] == 200
