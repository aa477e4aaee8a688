"""The synthetic municipality: generate N insured, chunk by chunk, into the inbound files."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

from .config import SynthConfig, load_config
from .output import MANIFEST_NAME, CityWriter
from .population import Constants, generate_chunk

MANIFEST_VERSION = 1


def default_as_of(cfg: SynthConfig) -> dt.date:
    return cfg.date_in_year("as_of_month_day")


def generate_city(out: Path, insured: int, seed: int, *, cfg: SynthConfig | None = None, as_of: dt.date | None = None,
                  broken_my_number_rate: float | None = None, progress=None) -> dict:
    """Write the city's inbound files under ``out`` and return the manifest (also written there).

    Same (insured, seed, config, as_of, broken rate) -> the same bytes in every file.
    """
    if insured < 1:
        raise ValueError("--insured must be at least 1")
    cfg = cfg or load_config()
    as_of = as_of or default_as_of(cfg)
    fy_start = dt.date(cfg.fiscal_year, 4, 1)
    if not (fy_start <= as_of <= dt.date(cfg.fiscal_year + 1, 3, 31)):
        raise ValueError(f"the base date {as_of} is outside fiscal year {cfg.fiscal_year} (4/1–3/31)")
    rate = float(cfg["broken_my_number_rate"] if broken_my_number_rate is None else broken_my_number_rate)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("the broken 個人番号 rate must be between 0 and 1")
    consts = Constants.from_seed(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    stats: Counter[str] = Counter()
    remaining = insured
    person_offset = household_offset = 0
    chunk_no = 0
    with CityWriter(cfg, out, as_of) as writer:
        while remaining > 0:
            chunk = generate_chunk(cfg, consts, seed, chunk_no, remaining_insured=remaining,
                                   person_offset=person_offset, household_offset=household_offset, as_of=as_of,
                                   broken_my_number_rate=rate)
            writer.write_chunk(chunk)
            stats.update(chunk.stats)
            remaining -= chunk.insured
            person_offset += chunk.persons
            household_offset += chunk.households
            chunk_no += 1
            if progress:
                progress(insured - remaining, insured)
        files = writer.close()
        manifest = _manifest(cfg, seed, insured, as_of, rate, chunk_no, files, stats)
        writer.publish(manifest)
    manifest["_elapsed_seconds"] = round(time.monotonic() - started, 2)  # not written: the manifest is deterministic
    return manifest


def _manifest(cfg, seed, insured, as_of, rate, chunk_no, files, stats) -> dict:
    hh = stats["households"]
    ins = stats["insured"]
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": "kokuho synth (jobs.synth)",
        "seed": int(seed),
        "insured_requested": int(insured),
        "municipality_code": cfg.municipality_code,
        "fiscal_year": cfg.fiscal_year,
        "income_year": cfg.fiscal_year - 1,
        "base_date": as_of.isoformat(),
        "config_sha256": cfg.sha256,
        "broken_my_number_rate": rate,
        "chunks": chunk_no,
        "files": files,
        "city": dict(sorted(stats.items())),
        "shares": {
            "insured_65_74": round(stats["insured_65_74"] / ins, 4) if ins else 0.0,
            "insured_40_64": round(stats["insured_40_64"] / ins, 4) if ins else 0.0,
            "households_with_active_mandate": round(stats["mandate_active_households"] / hh, 4) if hh else 0.0,
            "households_nominal_householder": round(stats["nominal_householders"] / hh, 4) if hh else 0.0,
        },
    }


__all__ = ["generate_city", "default_as_of", "MANIFEST_NAME"]
