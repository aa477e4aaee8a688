"""The REST API of the live Airflow, used as the UI uses it: a JWT from /auth/token, then /api/v2."""

from __future__ import annotations

import time
from typing import Any

import httpx

FINISHED = {"success", "failed"}


class AirflowApi:
    def __init__(self, url: str, username: str, password: str):
        self.url = url
        r = httpx.post(f"{url}/auth/token", json={"username": username, "password": password}, timeout=30)
        assert r.status_code in (200, 201), r.text
        self.client = httpx.Client(base_url=f"{url}/api/v2", timeout=60,
                                   headers={"Authorization": f"Bearer {r.json()['access_token']}"})

    def _ok(self, r: httpx.Response) -> Any:
        assert r.is_success, f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:2000]}"
        return r.json() if r.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self._ok(self.client.get(path, params=params))

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._ok(self.client.post(path, json=body))

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._ok(self.client.patch(path, json=body))

    # --- DAGs and runs --------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """The DAG processor has parsed the file (the DAG exists in the API)."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.client.get(f"/dags/{dag_id}")
            if r.status_code == 200:
                return r.json()
            if time.monotonic() > deadline:
                raise AssertionError(f"{dag_id} did not appear within {timeout} s: {r.status_code} {r.text[:500]}")
            time.sleep(2)

    def unpause(self, dag_id: str) -> None:
        assert self.patch(f"/dags/{dag_id}", {"is_paused": False})["is_paused"] is False

    def trigger(self, dag_id: str, conf: dict[str, Any], run_id: str) -> str:
        """As the 実行 (trigger) form does: no logical date, the params form's values as conf."""
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf, "note": None}
        return self.post(f"/dags/{dag_id}/dagRuns", body)["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while True:
            state = self.run_state(dag_id, run_id)
            if state in FINISHED:
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{dag_id} {run_id} still {state} after {timeout} s: {self.states(dag_id, run_id)}")
            time.sleep(2)

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict[str, Any]]:
        tis = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        return {ti["task_id"]: ti for ti in tis}

    def states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {t: ti["state"] for t, ti in self.task_instances(dag_id, run_id).items()}

    def try_numbers(self, dag_id: str, run_id: str) -> dict[str, int]:
        return {t: ti["try_number"] for t, ti in self.task_instances(dag_id, run_id).items()}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The XCom as the UI's ストレージ → XCom tab reads it (deserialized JSON)."""
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                        deserialize=True, stringify=False)["value"]

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The task log of one try as text (the structured lines' events joined)."""
        data = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                        full_content=True)
        content = data.get("content", [])
        if isinstance(content, str):
            return content
        lines = []
        for item in content:
            if isinstance(item, dict):
                lines.append(" ".join(str(item.get(k, "")) for k in ("level", "logger", "event") if item.get(k)))
            else:
                lines.append(str(item))
        return "\n".join(lines)

    def clear_like_the_ui(self, dag_id: str, run_id: str, task_ids: list[str]) -> list[str]:
        """The 消去 dialog of a failed task instance: first the dry run (the affected tasks it lists),
        then the same body with dry_run false; 下流 (downstream) pre-selected, 失敗のみ (only failed) on."""
        body = {"dag_run_id": run_id, "dry_run": True, "include_downstream": True, "include_upstream": False,
                "include_past": False, "include_future": False, "only_failed": True,
                "run_on_latest_version": False, "task_ids": [[t, -1] for t in task_ids]}
        affected = self.post(f"/dags/{dag_id}/clearTaskInstances", body)["task_instances"]
        self.post(f"/dags/{dag_id}/clearTaskInstances", {**body, "dry_run": False})
        return sorted(ti["task_id"] for ti in affected)
