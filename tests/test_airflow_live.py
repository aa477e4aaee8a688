"""jobs/airflow_live.py without an Airflow: the REST client sends a request again when the API server
answers too late (a loaded machine), and a trigger whose first POST made the run is not an error."""

from __future__ import annotations

import httpx
import pytest

from jobs import airflow_live
from jobs.airflow_live import AirflowApi, LiveAirflowError


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setattr(airflow_live.time, "sleep", lambda s: None)
    monkeypatch.setattr(airflow_live.httpx, "post", lambda *a, **k: httpx.Response(
        201, json={"access_token": "t"}, request=httpx.Request("POST", "http://x/auth/token")))
    return AirflowApi("http://x", "unyo01", "pw")


def _serve(api, handler):
    api.client = httpx.Client(base_url="http://x/api/v2", transport=httpx.MockTransport(handler))


def test_a_timed_out_request_is_sent_again(api):
    calls = []

    def handler(request):
        calls.append(request.url.path)
        if len(calls) < 3:
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json={"state": "success"})

    _serve(api, handler)
    assert api.run_state("kokuho_intake", "r1") == "success"
    assert len(calls) == 3 and api.retried == 2


def test_it_gives_up_after_the_attempts(api):
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    _serve(api, handler)
    with pytest.raises(httpx.ConnectError):
        api.get("/dags")
    assert api.retried == AirflowApi.ATTEMPTS - 1


def test_a_trigger_sent_again_after_a_timeout_finds_its_run(api):
    posts = []

    def handler(request):
        if request.method == "POST":
            posts.append(1)
            if len(posts) == 1:   # the run is made, the answer lost
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(409, json={"detail": "exists"})
        return httpx.Response(200, json={"dag_run_id": "r1", "conf": {"business_date": "2026-06-01"}})

    _serve(api, handler)
    assert api.trigger("kokuho_intake", {"business_date": "2026-06-01"}, "r1") == "r1"


def test_a_conflict_without_a_retry_is_an_error(api):
    _serve(api, lambda request: httpx.Response(409, json={"detail": "exists"}))
    with pytest.raises(LiveAirflowError) as exc:
        api.trigger("kokuho_intake", {"business_date": "2026-06-01"}, "r1")
    assert exc.value.status == 409
