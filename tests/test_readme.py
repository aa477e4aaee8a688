"""The README stays true to the tree and to the registry.

- "Where things live" lists every tracked top-level folder and every package under jobs/, and
  names no folder that does not exist.
- The operator guide's job-net table names, for each DAG, exactly the tasks the registry builds
  for it (``jobs.registry.tasks``): a step added to a job net without the table is a failure.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from jobs import registry

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end != -1 else None]


def _listed_folders() -> set[str]:
    rows = [line for line in _section("Where things live").splitlines() if line.startswith("| `")]
    first_cells = [line.split("|")[1] for line in rows]
    return {name.rstrip("/") for cell in first_cells for name in re.findall(r"`([^`]+)`", cell)}


def test_where_things_live_lists_the_tree():
    listed = _listed_folders()
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    top = {p.split("/")[0] for p in tracked.splitlines() if "/" in p}
    packages = {f"jobs/{p.name}" for p in (ROOT / "jobs").iterdir() if (p / "__init__.py").exists()}
    missing = sorted((top - {n.split("/")[0] for n in listed}) | (packages - listed))
    assert not missing, f"README 'Where things live' does not list: {missing}"
    for name in listed:
        if name != "var":  # runtime, git-ignored
            assert (ROOT / name).exists(), f"README 'Where things live' names {name}, which does not exist"


def _jobnet_rows() -> dict[str, str]:
    rows = {}
    for line in _section("Operator guide").splitlines():
        m = re.match(r"\| `(kokuho_\w+)` \([^)]*\) \| (.*?) \| ", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


def test_the_jobnet_table_names_the_registry_tasks():
    rows = _jobnet_rows()
    assert set(rows) == {net.dag_id for net in registry.JOBNETS.values()}
    for net in registry.JOBNETS.values():
        named = {part.strip() for part in re.split(r"→|,|;", rows[net.dag_id]) if part.strip()}
        built = {node.display_name for node in registry.tasks(net)}
        assert named == built, f"{net.dag_id}: README {sorted(named ^ built)} differ from jobs.registry"
