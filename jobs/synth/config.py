"""The synth's knobs: config/synth.yaml, loaded once and checked."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jobs.common import paths


def config_path() -> Path:
    return paths.config_root() / "synth.yaml"


@dataclass(frozen=True)
class SynthConfig:
    raw: dict[str, Any]
    sha256: str
    fiscal_year: int
    municipality_code: str

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    def date_in_year(self, key: str, year: int | None = None) -> dt.date:
        mm, dd = (int(x) for x in str(self.raw[key]).split("-"))
        return dt.date(year or self.fiscal_year, mm, dd)


def _check_weights(name: str, weights: dict) -> None:
    total = float(sum(float(v) for v in weights.values()))
    if not weights or any(float(v) < 0 for v in weights.values()) or abs(total - 1.0) > 1e-6:
        raise ValueError(f"config/synth.yaml: the weights of {name} must be non-negative and sum to 1 (sum {total})")


def load_config(path: Path | None = None, *, overrides: dict[str, Any] | None = None) -> SynthConfig:
    p = path or config_path()
    text = p.read_bytes()
    raw = yaml.safe_load(text.decode("utf-8"))
    for k, v in (overrides or {}).items():
        raw[k] = v
    for key in ("household_types", "single_adult_age_buckets", "nominal_member_kind", "loss_reasons",
                "acquired_reasons_adult", "occupation_working_age"):
        _check_weights(key, raw[key])
    _check_weights("family_children", {str(k): v for k, v in raw["family_children"].items()})
    _check_weights("direct_debit.banks", raw["direct_debit"]["banks"])
    _check_weights("direct_debit.stop_reasons", raw["direct_debit"]["stop_reasons"])
    _check_weights("tokucho.payers", raw["tokucho"]["payers"])
    if "payments" in raw:
        check_payments(raw["payments"])
    code = str(raw["city"]["municipality_code"])
    if len(code) != 6 or not code.isdigit():
        raise ValueError("config/synth.yaml: city.municipality_code must be 6 digits")
    return SynthConfig(raw=raw, sha256=hashlib.sha256(text).hexdigest(), fiscal_year=int(raw["fiscal_year"]),
                       municipality_code=code)


def check_payments(p: dict) -> None:
    """The ``payments:`` section (jobs/synth/payments.py): weights sum to 1, rates in [0, 1]."""
    _check_weights("payments.channel_shares", p["channel_shares"])
    unknown = set(p["channel_shares"]) - {"counter", "cvs", "credit", "app", "unpaid"}
    if unknown:
        raise ValueError(f"config/synth.yaml: payments.channel_shares has unknown channels {sorted(unknown)}")
    _check_weights("payments.counter.banks", p["counter"]["banks"])
    for ch in ("cvs", "credit", "app"):
        _check_weights(f"payments.cvs.agents.{ch}", p["cvs"]["agents"][ch])
    rates = {k: p[k] for k in ("partial_rate", "overpayment_rate", "duplicate_rate", "unknown_notice_rate",
                               "malformed_rate")}
    rates["cvs.cancel_rate"] = p["cvs"]["cancel_rate"]
    rates["pension.stop_rate"] = p["pension"]["stop_rate"]
    for k, v in rates.items():
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"config/synth.yaml: payments.{k} must be between 0 and 1 ({v})")
    fail = p["debit_result"]["failure_rates"]
    if any(float(v) < 0 for v in fail.values()) or sum(float(v) for v in fail.values()) > 1.0 + 1e-9:
        raise ValueError("config/synth.yaml: payments.debit_result.failure_rates must be non-negative and sum to at most 1")
    if "0" in {str(k) for k in fail}:
        raise ValueError("config/synth.yaml: payments.debit_result.failure_rates lists failures only (not 0)")
