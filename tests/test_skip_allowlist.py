"""The no-silent-skips hook (tests/skip_allowlist.py): in strict mode (CI=true or
KOKUHO_STRICT_SKIPS=1) a skip whose reason no allow-list entry matches fails the run and is
listed; allowed skips and non-strict runs pass. Each case runs pytest in a subprocess on a tiny
test folder that loads the hook the way tests/conftest.py does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import skip_allowlist

TESTS = Path(__file__).resolve().parent

CONFTEST = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import skip_allowlist

def pytest_configure(config):
    skip_allowlist.configure(config)
"""

TESTS_PY = """
import pytest

def test_runs():
    assert True

def test_gpu():
    pytest.skip("needs a GPU here")

{extra}
"""

ALLOW_GPU = """
allowed:
  - reason: "^needs a GPU"
    why: the CI machines have none
"""


def run(tmp_path: Path, *, extra: str = "", allow: str = ALLOW_GPU, env: dict[str, str] | None = None,
        files: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_tiny.py").write_text(TESTS_PY.format(extra=textwrap.dedent(extra)), encoding="utf-8")
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "allow.yaml").write_text(allow, encoding="utf-8")
    e = {k: v for k, v in os.environ.items() if k not in ("CI", "KOKUHO_STRICT_SKIPS", "PYTEST_ADDOPTS")}
    e["KOKUHO_SKIP_ALLOWLIST"] = str(tmp_path / "allow.yaml")
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=e, capture_output=True, text=True, timeout=120)


NOT_WRITTEN = """
def test_later():
    pytest.skip("module not written yet")
"""


@pytest.mark.parametrize("env", [{"CI": "true"}, {"KOKUHO_STRICT_SKIPS": "1"}])
def test_unlisted_skip_fails_a_strict_run(tmp_path, env):
    r = run(tmp_path, extra=NOT_WRITTEN, env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "SKIPPED (not allowed) test_tiny.py::test_later: module not written yet" in r.stdout
    assert "test_gpu" not in r.stdout.split("skips not in tests/skip_allowlist.yaml")[1]
    assert "1 passed, 2 skipped" in r.stdout


def test_allowed_skips_pass_a_strict_run(tmp_path):
    r = run(tmp_path, env={"CI": "true"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 1 skipped" in r.stdout and "not allowed" not in r.stdout


def test_not_strict_reports_skips_as_usual(tmp_path):
    r = run(tmp_path, extra=NOT_WRITTEN)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not allowed" not in r.stdout


def test_a_module_level_skip_counts(tmp_path):
    r = run(tmp_path, env={"CI": "true"},
            files={"test_module_skip.py": "import pytest\nzz = pytest.importorskip('no_such_module_kokuho')\n"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "SKIPPED (not allowed) test_module_skip.py" in r.stdout
    assert "no_such_module_kokuho" in r.stdout


def test_a_failing_run_keeps_its_status(tmp_path):
    r = run(tmp_path, env={"CI": "true"}, extra=NOT_WRITTEN + "\ndef test_bad():\n    assert False\n")
    assert r.returncode == 1 and "1 failed" in r.stdout


def test_allowlist_entries_need_a_reason_and_why(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("allowed:\n  - reason: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="why"):
        skip_allowlist.load(bad)
    r = run(tmp_path, allow="allowed:\n  - reason: x\n", env={"CI": "true"})
    assert r.returncode != 0


def test_the_project_allowlist_loads():
    entries = skip_allowlist.load(skip_allowlist.DEFAULT_PATH)
    assert all(e.why for e in entries)
