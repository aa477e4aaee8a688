"""Configuration per municipality and fiscal year (config/).

Three layers, each a folder of YAML files, merged in this order (later wins)::

    config/common/*.yaml                               every municipality
    config/municipalities/<code>/*.yaml                one municipality (municipality.yaml, ...)
    config/municipalities/<code>/fy<YYYY>/*.yaml       one fiscal year of it (rates, schedule)

File names say what a file holds, the same in every layer: ``calendar.yaml`` is the business-day
calendar (開庁日, and the fiscal-year start ``calendar.fiscal_year_start``, its one place),
``run_calendar.yaml`` the 業務日程 of the job nets (``reassessment.*`` in common,
``initial_assessment.run_date`` per fiscal year).

Every file is a mapping whose top-level keys are sections (``calendar:``, ``municipality:``,
``cvs:`` ...). Mappings merge key by key; any other value (list, scalar) in a later layer
replaces the earlier one. Two files of the same layer may not define the same top-level key.

``cfg.get("cvs.barcode.max_amount")`` reads a value; a missing key raises ``ConfigError``
naming the key, the municipality, the fiscal year and the files that were read. No yen amount
and no date is hard-coded in code: they live here.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import paths

_MISSING = object()


class ConfigError(LookupError):
    """A configuration key or file is missing or inconsistent. The message is for operators."""


@dataclass(frozen=True)
class Config:
    """The merged configuration of one municipality (and optionally one fiscal year)."""

    data: Mapping[str, Any]
    municipality: str | None = None
    fy: int | None = None
    sources: tuple[Path, ...] = ()
    missing_layers: tuple[Path, ...] = field(default=())

    def get(self, key: str, default: Any = _MISSING) -> Any:
        """The value at dotted ``key`` (``"calendar.closure_periods"``)."""
        node: Any = self.data
        for i, part in enumerate(key.split(".")):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
                continue
            if default is not _MISSING:
                return default
            raise ConfigError(self._missing_message(key, ".".join(key.split(".")[:i]) or None))
        return node

    __getitem__ = get

    def has(self, key: str) -> bool:
        return self.get(key, _MISSING_SENTINEL) is not _MISSING_SENTINEL

    def _missing_message(self, key: str, found_prefix: str | None) -> str:
        where = f"団体 {self.municipality or '(共通のみ)'}"
        if self.fy is not None:
            where += f", 年度 {self.fy}"
        files = ", ".join(paths.relative(p) for p in self.sources) or "(なし)"
        msg = f"設定項目がありません: {key} ({where}; 読込ファイル: {files})"
        if found_prefix:
            msg += f"; '{found_prefix}' まではあります"
        if self.missing_layers:
            absent = ", ".join(paths.relative(p) for p in self.missing_layers)
            msg += f"; 存在しない設定フォルダ: {absent}"
        return msg


_MISSING_SENTINEL = object()


def load(municipality: str | None = None, fy: int | None = None, *, root: Path | None = None) -> Config:
    """Load common → municipality → fiscal-year config. ``municipality=None`` → the default."""
    root = Path(root) if root is not None else paths.config_root()
    code = municipality or default_municipality(root=root)
    return _load_cached(str(root), str(code), fy, _fingerprint(root, str(code), fy))


def load_common(*, root: Path | None = None) -> Config:
    """Only config/common (no municipality). Cached like ``load`` (re-read when a file changes):
    ``default_municipality`` asks it on every ``load`` without a municipality."""
    root = Path(root) if root is not None else paths.config_root()
    return _load_common_cached(str(root), _fingerprint_folders([root / "common"]))


@functools.lru_cache(maxsize=8)
def _load_common_cached(root: str, _fp: tuple) -> Config:
    data, sources = _load_layer(Path(root) / "common", {}, ())
    return Config(data=data, sources=sources)


def default_municipality(*, root: Path | None = None) -> str:
    """``$KOKUHO_MUNICIPALITY`` or ``system.default_municipality`` of config/common."""
    env = os.environ.get("KOKUHO_MUNICIPALITY")
    if env:
        return env
    return str(load_common(root=root).get("system.default_municipality"))


def municipality_codes(*, root: Path | None = None) -> list[str]:
    """The municipalities that have a profile under config/municipalities/."""
    root = Path(root) if root is not None else paths.config_root()
    base = root / "municipalities"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "municipality.yaml").is_file())


#: Environment override of the municipalities the job nets are scheduled for: codes separated by commas,
#: or ``all`` (every profile under config/municipalities/, also those with ``municipality.scheduled: false``).
SCHEDULED_MUNICIPALITIES_ENV = "KOKUHO_SCHEDULED_MUNICIPALITIES"


def scheduled_municipalities(*, root: Path | None = None) -> list[str]:
    """The municipalities whose job nets run on schedule, the default one first: every profile under
    config/municipalities/ except one whose municipality.yaml says ``scheduled: false`` (the synthetic
    test city 112011), or ``$KOKUHO_SCHEDULED_MUNICIPALITIES``. The default municipality is always in.
    Reads only config/common/system.yaml and each municipality.yaml (the DAG files call it at parse time)."""
    root = Path(root) if root is not None else paths.config_root()
    default = os.environ.get("KOKUHO_MUNICIPALITY") or str(
        (_read_yaml(root / "common" / "system.yaml").get("system") or {}).get("default_municipality", ""))
    if not default:
        default = default_municipality(root=root)
    env = os.environ.get(SCHEDULED_MUNICIPALITIES_ENV, "").strip()
    codes = municipality_codes(root=root)
    if env.lower() == "all":
        chosen = codes
    elif env:
        chosen = [c.strip() for c in env.split(",") if c.strip()]
        unknown = sorted(set(chosen) - set(codes))
        if unknown:
            raise ConfigError(f"{SCHEDULED_MUNICIPALITIES_ENV}: 設定のない団体コードです: {', '.join(unknown)} "
                              f"(config/municipalities/: {', '.join(codes)})")
    else:
        chosen = [c for c in codes if municipality_profile(c, root=root).get("scheduled", True) is not False]
    return [default] + [c for c in chosen if c != default]


def municipality_profile(code: str, *, root: Path | None = None) -> dict[str, Any]:
    """The ``municipality`` section of config/municipalities/<code>/municipality.yaml alone (name,
    ``scheduled`` …): what the DAG files read at parse time, without the whole config."""
    root = Path(root) if root is not None else paths.config_root()
    doc = _read_yaml(root / "municipalities" / str(code) / "municipality.yaml")
    section = doc.get("municipality")
    return dict(section) if isinstance(section, Mapping) else {}


def check_digit(code5: str) -> str:
    """検査数字 of a 全国地方公共団体コード: weights 6,5,4,3,2, modulus 11, last digit of 11 − r."""
    if len(code5) != 5 or not code5.isdigit():
        raise ValueError(f"団体コード(5桁)が不正です: {code5!r}")
    total = sum(int(c) * w for c, w in zip(code5, (6, 5, 4, 3, 2), strict=True))
    return str((11 - total % 11) % 10)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge mappings recursively; non-mapping values of ``override`` replace ``base``'s."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# --- internals -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _load_cached(root: str, code: str, fy: int | None, _fp: tuple) -> Config:
    base = Path(root)
    layers = [base / "common", base / "municipalities" / code]
    if fy is not None:
        layers.append(base / "municipalities" / code / f"fy{int(fy):04d}")
    if not (layers[1] / "municipality.yaml").is_file():
        raise ConfigError(
            f"団体 {code} の設定がありません: {paths.relative(layers[1] / 'municipality.yaml')} "
            f"(設定のある団体: {', '.join(municipality_codes(root=base)) or 'なし'})"
        )
    data: dict[str, Any] = {}
    sources: tuple[Path, ...] = ()
    missing = tuple(p for p in layers if not p.is_dir())
    for layer in layers:
        data, sources = _load_layer(layer, data, sources)
    cfg = Config(data=data, municipality=code, fy=fy, sources=sources, missing_layers=missing)
    _check_municipality(cfg, code)
    return cfg


def _load_layer(folder: Path, data: dict[str, Any], sources: tuple[Path, ...]):
    if not folder.is_dir():
        return data, sources
    layer: dict[str, Any] = {}
    owner: dict[str, Path] = {}
    for path in sorted(folder.glob("*.yaml")):
        doc = _read_yaml(path)
        for key in doc:
            if key in owner:
                raise ConfigError(
                    f"設定項目 {key} が同じ階層の2つのファイルにあります: "
                    f"{paths.relative(owner[key])}, {paths.relative(path)}"
                )
            owner[key] = path
        layer.update(doc)
        sources += (path,)
    return deep_merge(data, layer), sources


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"設定ファイルを読めません: {paths.relative(path)}: {exc}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"設定ファイルの最上位はマッピングである必要があります: {paths.relative(path)}")
    return doc


def _check_municipality(cfg: Config, code: str) -> None:
    declared = str(cfg.get("municipality.code"))
    code5 = str(cfg.get("municipality.code5"))
    if declared != code:
        raise ConfigError(f"団体コードがフォルダ名と違います: municipality.code={declared}, フォルダ={code}")
    if len(code) != 6 or code[:5] != code5 or check_digit(code5) != code[5]:
        raise ConfigError(
            f"団体コードが不正です: code={code}, code5={code5} (検査数字は {check_digit(code5)})"
        )


def _fingerprint(root: Path, code: str, fy: int | None) -> tuple:
    """Modification times of the config files, so an edited file is re-read (cache key)."""
    folders = [root / "common", root / "municipalities" / code]
    if fy is not None:
        folders.append(root / "municipalities" / code / f"fy{int(fy):04d}")
    return _fingerprint_folders(folders)


def _fingerprint_folders(folders: list[Path]) -> tuple:
    stamp = []
    for folder in folders:
        if folder.is_dir():
            for p in sorted(folder.glob("*.yaml")):
                st = p.stat()
                stamp.append((str(p), st.st_mtime_ns, st.st_size))
    return tuple(stamp)
