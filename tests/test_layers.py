"""The layers of the code, checked on every import statement (AST: also the imports inside
functions and under TYPE_CHECKING).

    jobs.common  <  jobs.ledger | reports  <  jobs.intake  <  jobs.assessment | jobs.collection
                 <  jobs.pension | jobs.arrears  <  jobs.synth  <  jobs.registry  <  jobs.runner
                 <  jobs.cli | jobs.airflow_task | jobs.airflow_auth | jobs.airflow_live  <  dags | jobs.demo_year

A module may import its own layer and the layers below it; layers on one rank are siblings and
import neither each other (assessment and collection; pension and arrears; ledger and reports: reports imports
jobs.common only, and jobs.common imports no report). ``dags`` is dags/ (the DAG files and
``_kokuho``).

KNOWN_BREACHES are the breaches that exist today, each named exactly (importer → imported), so
no new one comes in unseen; remove an entry when its import is fixed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: layer → rank; a layer is a module and everything under it.
LAYERS: dict[str, int] = {
    "jobs.common": 0,
    "jobs.ledger": 1,
    "reports": 1,
    "jobs.intake": 2,
    "jobs.assessment": 3,
    "jobs.collection": 3,
    "jobs.pension": 4,
    "jobs.arrears": 4,
    "jobs.synth": 5,
    "jobs.registry": 6,
    "jobs.runner": 7,
    "jobs.cli": 8,
    "jobs.airflow_task": 8,
    "jobs.airflow_auth": 8,
    "jobs.airflow_live": 8,
    "dags": 9,
    "jobs.demo_year": 9,
}

#: (importing module, imported module) → why it is there and who removes it.
KNOWN_BREACHES: dict[tuple[str, str], str] = {}


def _modules() -> dict[str, Path]:
    """Every module of jobs/, reports/ and dags/ by its import name (dags/_kokuho/x.py: _kokuho.x)."""
    out: dict[str, Path] = {}
    for top in ("jobs", "reports"):
        for path in (ROOT / top).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    for path in (ROOT / "dags").rglob("*.py"):
        parts = path.relative_to(ROOT / "dags").with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


MODULES = _modules()
DAG_MODULES = {name for name, path in MODULES.items() if path.is_relative_to(ROOT / "dags")}


def layer_of(module: str) -> str | None:
    if module in DAG_MODULES or module.split(".")[0] in {m.split(".")[0] for m in DAG_MODULES}:
        return "dags"
    best = None
    for layer in LAYERS:
        if (module == layer or module.startswith(layer + ".")) and (best is None or len(layer) > len(best)):
            best = layer
    return best


def imports_of(module: str, path: Path) -> set[str]:
    """The modules ``module`` imports anywhere in its file (``from a import b``: a.b if that is a
    module, else a)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return found


def breaches() -> set[tuple[str, str]]:
    out = set()
    for module, path in MODULES.items():
        mine = layer_of(module)
        if mine is None:
            continue
        for imported in imports_of(module, path):
            theirs = layer_of(imported)
            if theirs is None or theirs == mine:
                continue
            if LAYERS[mine] <= LAYERS[theirs]:
                out.add((module, imported))
    return out


def test_no_import_goes_up_or_sideways():
    found = breaches()
    new = sorted(found - set(KNOWN_BREACHES))
    assert not new, "imports against the layers (tests/test_layers.py):\n" + "\n".join(
        f"  {a} ({layer_of(a)}) imports {b} ({layer_of(b)})" for a, b in new)


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODULES if layer_of(m) is None and m != "jobs")
    assert not unplaced, f"modules in no layer (add them to LAYERS): {unplaced}"


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("jobs.common.x", "from jobs.registry import JobSpec\n", {"jobs.registry"}),
    ("jobs.common.x", "def f():\n    from jobs import registry\n", {"jobs.registry"}),
    ("jobs.common.x", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import reports.notices\n",
     {"reports.notices"}),
    ("jobs.common.x", "from ..collection import steps\n", {"jobs.collection.steps"}),
    ("jobs.common.x", "from . import bizcal\nimport polars\n", set()),
    ("jobs.ledger.x", "def f():\n    from reports.print_data import free_field_spec\n", {"reports.print_data"}),
    ("jobs.ledger.x", "from jobs.collection import keys\nfrom jobs.common import config\n", {"jobs.collection.keys"}),
    ("jobs.assessment.x", "from jobs.collection import levy\nfrom reports import notices\n", {"jobs.collection.levy"}),
    ("reports.x", "from jobs.collection import keys\nfrom jobs.common import paths\n", {"jobs.collection.keys"}),
])
def test_the_check_sees_every_kind_of_import(monkeypatch, tmp_path, module, source, expected):
    """An import upwards or sideways at top level, in a function, under TYPE_CHECKING, or
    relative, is a breach; its own layer, lower layers and third-party libraries are not."""
    path = tmp_path / "x.py"
    path.write_text(source, encoding="utf-8")
    monkeypatch.setitem(globals(), "MODULES", {**MODULES, module: path})
    assert {b for a, b in breaches() if a == module} == expected


def test_siblings_import_neither_each_other():
    assert LAYERS["jobs.assessment"] == LAYERS["jobs.collection"]
    assert LAYERS["jobs.pension"] == LAYERS["jobs.arrears"] == LAYERS["jobs.collection"] + 1
    assert LAYERS["jobs.ledger"] == LAYERS["reports"] == LAYERS["jobs.common"] + 1
    assert layer_of("jobs.ledger.models") == "jobs.ledger"  # there or not yet, it is placed
    assert layer_of("_kokuho.jobnet") == layer_of("kokuho_collection") == "dags"
