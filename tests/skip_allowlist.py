"""No silent skips: with ``CI=true`` or ``KOKUHO_STRICT_SKIPS=1`` a test skipped for a reason that
no entry of ``tests/skip_allowlist.yaml`` matches fails the run (exit status 1), and the
offending tests are listed at the end of the report.

tests/conftest.py turns it on for the suite (``configure(config)`` from its ``pytest_configure``);
``$KOKUHO_SKIP_ALLOWLIST`` points at another list (the hook's own test uses that).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

DEFAULT_PATH = Path(__file__).resolve().with_name("skip_allowlist.yaml")
PLUGIN_NAME = "kokuho-skip-allowlist"


@dataclass(frozen=True)
class Allowed:
    pattern: re.Pattern[str]
    why: str


def strict() -> bool:
    """Whether unlisted skips fail the run: on CI (``CI=true``) or when asked for."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1") or os.environ.get("KOKUHO_STRICT_SKIPS") == "1"


def allowlist_path() -> Path:
    env = os.environ.get("KOKUHO_SKIP_ALLOWLIST")
    return Path(env) if env else DEFAULT_PATH


def load(path: Path | None = None) -> list[Allowed]:
    """The entries of the allow-list; a malformed list is an error (it must not allow by accident)."""
    path = Path(path) if path is not None else allowlist_path()
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = doc.get("allowed")
    if not isinstance(entries, list):
        raise ValueError(f"{path}: 'allowed' must be a list")
    out = []
    for k, e in enumerate(entries):
        if not isinstance(e, dict) or not str(e.get("reason") or "").strip() or not str(e.get("why") or "").strip():
            raise ValueError(f"{path}: entry {k} needs a non-empty 'reason' (regex) and 'why'")
        out.append(Allowed(re.compile(str(e["reason"])), str(e["why"]).strip()))
    return out


def skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    """The reason text of a skipped report (without pytest's "Skipped: " prefix)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        text = str(longrepr[2])
    else:
        text = str(longrepr)
    return text.removeprefix("Skipped: ")


@dataclass(eq=False)  # a pluggy plugin must be hashable
class SkipPolicy:
    """Collects the skips no entry allows; fails the session if there are any."""

    allowed: list[Allowed]
    unlisted: list[tuple[str, str]] = field(default_factory=list)

    def _check(self, report) -> None:
        if not report.skipped or hasattr(report, "wasxfail"):
            return
        reason = skip_reason(report)
        if not any(a.pattern.search(reason) for a in self.allowed):
            self.unlisted.append((report.nodeid, reason))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._check(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        self._check(report)  # a module-level skip / importorskip

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.unlisted and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.unlisted:
            return
        tr = terminalreporter
        tr.section("skips not in tests/skip_allowlist.yaml", sep="=", red=True, bold=True)
        for nodeid, reason in self.unlisted:
            tr.line(f"SKIPPED (not allowed) {nodeid}: {reason}", red=True)
        tr.line(f"{len(self.unlisted)} skip(s) without an allow-list entry: the run fails "
                "(CI=true / KOKUHO_STRICT_SKIPS=1). Make the test run, or add the reason with why "
                f"it is acceptable to {allowlist_path()}.")


def configure(config: pytest.Config) -> SkipPolicy | None:
    """Register the policy when the run is strict; returns it (None when not strict)."""
    if not strict() or config.pluginmanager.has_plugin(PLUGIN_NAME):
        return None
    policy = SkipPolicy(load())
    config.pluginmanager.register(policy, PLUGIN_NAME)
    return policy
