"""Helpers of the synthetic-city tests."""

from __future__ import annotations

import json
from pathlib import Path

SMALL_N = 500
SMALL_SEED = 20260601


def run_synth(out: Path, insured: int, seed: int, *extra: str) -> dict:
    """Run the real ``kokuho synth`` into ``out``; return the manifest it wrote."""
    from jobs.synth.cli import main

    assert main(["--insured", str(insured), "--seed", str(seed), "--out", str(out), "--quiet", *extra]) == 0
    return json.loads((out / "synth_manifest.json").read_text(encoding="utf-8"))
