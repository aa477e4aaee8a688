"""特別徴収義務者 (年金保険者) master and the 経由機関 routes, from ``config/common/pension_payers.yaml``.

    master = PayerMaster.from_config(cfg)
    master.route_of("001")          # "kokuhoren"
    master.name("501")              # "国家公務員共済組合連合会"
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jobs.common import config as config_mod


@dataclass(frozen=True)
class Payer:
    code: str
    name: str
    kind: str
    route: str


@dataclass(frozen=True)
class Route:
    route_id: str
    name: str
    file_code: str


@dataclass(frozen=True)
class PayerMaster:
    payers: Mapping[str, Payer]
    routes: Mapping[str, Route]

    @classmethod
    def from_config(cls, cfg: config_mod.Config) -> PayerMaster:
        raw_routes = cfg.get("pension_payers.routes")
        raw_payers = cfg.get("pension_payers.payers")
        if not isinstance(raw_routes, Mapping) or not raw_routes:
            raise config_mod.ConfigError("pension_payers.routes がありません")
        routes = {str(k): Route(str(k), str(v["name"]), str(v["file_code"])) for k, v in raw_routes.items()}
        payers = {}
        bad = []
        for code, v in (raw_payers or {}).items():
            code = str(code)
            if len(code) != 3 or not code.isdigit():
                bad.append(f"義務者コード {code!r} は3桁の数字です")
                continue
            route = str(v.get("route", ""))
            if route not in routes:
                bad.append(f"義務者 {code} の経由機関 {route!r} が routes にありません")
            payers[code] = Payer(code, str(v["name"]), str(v.get("kind", "")), route)
        if len({r.file_code for r in routes.values()}) != len(routes):
            bad.append("routes の file_code が重複しています")
        if bad:
            raise config_mod.ConfigError("pension_payers の設定が不正です: " + "; ".join(bad))
        return cls(payers, routes)

    def known(self, code: str) -> bool:
        return code in self.payers

    def name(self, code: str) -> str:
        p = self.payers.get(code)
        return p.name if p else f"(未登録 {code})"

    def route_of(self, code: str) -> str | None:
        p = self.payers.get(code)
        return p.route if p else None

    def unknown(self, codes: Iterable[str]) -> list[str]:
        return sorted({c for c in codes if c not in self.payers})
