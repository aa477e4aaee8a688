"""Hermetic test environment: set up BEFORE anything imports airflow.

Airflow reads its configuration when ``airflow`` is first imported, so this module (which pytest
imports before any test module) only sets environment variables and imports no Airflow code:

- AIRFLOW_HOME is a fresh temp dir per session, with its own SQLite metadata DB: tests never
  touch the developer's var/airflow/ nor ~/airflow. Unit-test mode is on (random keys).
- The project's airflow.cfg is applied on top, as AIRFLOW__<SECTION>__<KEY> variables with
  ${AIRFLOW_HOME} = the temp home, so tests parse and run DAGs with the production settings
  (time zone, executor, cron semantics); DAGS_FOLDER is the checkout's dags/, examples are off.
- Any AIRFLOW__*/AIRFLOW_CONN_*/AIRFLOW_VAR_* variable inherited from the shell (the Makefile
  exports some) is dropped first, so the outcome does not depend on who runs pytest.
- KOKUHO_VAR (the job runtime's var/) is a temp dir per session; the ``kokuho_var`` fixture
  gives a test its own. KOKUHO_HOME is the checkout (config/, layouts/).
- KOKUHO_SECRETS_DIR (the keys' folder, outside var/; default ~/.config/kokuho) is a temp dir
  per session, and per test with ``kokuho_var``: tests never read or write the real home's keys.
  KOKUHO_ARCHIVE_KEY_FILE and KOKUHO_MYNUMBER_KEY inherited from the shell are dropped.

Fixtures: ``airflow_db`` (session: migrate the temp metadata DB once), ``kokuho_var``.

No silent skips: with ``CI=true`` or ``KOKUHO_STRICT_SKIPS=1`` a skip whose reason matches no entry
of ``tests/skip_allowlist.yaml`` fails the run (``tests/skip_allowlist.py``).
"""

from __future__ import annotations

import configparser
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
import skip_allowlist

ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = ROOT / "dags"

# Owner only (files 0600, folders 0700), whoever starts pytest (make and .ci/run source umask.sh; a
# developer's plain `pytest` does not): the tests, and the Airflow processes they start (which inherit
# the umask), write job logs and synthetic persons, some into the checkout's var/ci/ (the live and
# Celery suites' log dumps, the browser check's screenshots). The value is jobs.common.paths.PRIVATE_UMASK.
os.umask(0o077)

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="kokuho-test-"))
AIRFLOW_TEST_HOME = _SESSION_DIR / "airflow"
SESSION_VAR = _SESSION_DIR / "var"
SESSION_SECRETS = _SESSION_DIR / "secrets"

#: Options of airflow.cfg that tests set themselves instead of copying.
_NOT_COPIED = {("core", "dags_folder"), ("core", "plugins_folder"), ("database", "sql_alchemy_conn")}


def inbox_connection(var_dir: Path) -> str:
    """The ``kokuho_inbox`` fs connection (JSON form of AIRFLOW_CONN_*) for a var/ folder."""
    return json.dumps({"conn_type": "fs", "extra": {"path": str(Path(var_dir) / "inbox")}})


def _airflow_cfg_as_env(cfg_path: Path, home: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(cfg_path, encoding="utf-8")
    env: dict[str, str] = {}
    for section in parser.sections():
        for key, value in parser.items(section):
            if key.endswith("_cmd") or key.endswith("_secret") or (section, key) in _NOT_COPIED:
                continue  # secrets: unit-test mode makes random ones
            env[f"AIRFLOW__{section.upper()}__{key.upper()}"] = value.replace("${AIRFLOW_HOME}", str(home))
    return env


def _set_up_environment() -> None:
    for name in list(os.environ):
        if name.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_")):
            del os.environ[name]
    AIRFLOW_TEST_HOME.mkdir(parents=True)
    SESSION_VAR.mkdir(parents=True)
    os.environ["AIRFLOW_HOME"] = str(AIRFLOW_TEST_HOME)
    os.environ.update(_airflow_cfg_as_env(ROOT / "airflow.cfg", AIRFLOW_TEST_HOME))
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_FOLDER)
    os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")  # the job nets' timetable
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    # Four slashes: sqlite:/// + an absolute path.
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{AIRFLOW_TEST_HOME}/airflow.db"
    os.environ["AIRFLOW_CONN_KOKUHO_INBOX"] = inbox_connection(SESSION_VAR)
    os.environ["KOKUHO_HOME"] = str(ROOT)
    os.environ["KOKUHO_VAR"] = str(SESSION_VAR)
    os.environ["KOKUHO_SECRETS_DIR"] = str(SESSION_SECRETS)
    os.environ.pop("KOKUHO_ARCHIVE_KEY_FILE", None)
    os.environ.pop("KOKUHO_MYNUMBER_KEY", None)
    # The DAG processor and task runner put the bundle (dags/) on sys.path; a plain DagBag or
    # dag.test() in pytest does not, so the DAG files' `_kokuho` helpers need it here.
    if str(DAGS_FOLDER) not in sys.path:
        sys.path.append(str(DAGS_FOLDER))


_set_up_environment()


def pytest_configure(config: pytest.Config) -> None:
    skip_allowlist.configure(config)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the temp metadata DB once per session (same code path as `airflow db migrate`)."""
    from airflow.utils import db

    db.initdb()
    return AIRFLOW_TEST_HOME


@pytest.fixture
def kokuho_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A var/ folder of this test's own: KOKUHO_VAR and the kokuho_inbox connection point at it;
    its own keys' folder too (KOKUHO_SECRETS_DIR = <tmp_path>/secrets, outside var/)."""
    var_dir = tmp_path / "var"
    (var_dir / "inbox").mkdir(parents=True)
    monkeypatch.setenv("KOKUHO_VAR", str(var_dir))
    monkeypatch.setenv("KOKUHO_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("AIRFLOW_CONN_KOKUHO_INBOX", inbox_connection(var_dir))
    return var_dir
