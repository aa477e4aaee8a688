"""年次 (KB710) 調書 as PDF: 滞納繰越 調書 (TN610) and 不納欠損 調書 (TN620).

    stats = render_schedule(cfg, "var/reports/closing/<generation>/taino_kurikoshi_2026.pdf",
                            title=..., subtitle=..., head=[("levy_year", "賦課年度", 16, "l"), ...],
                            rows=[{...}, ...], totals=[("計", "12件", "123,456")])

One table, A4 portrait, as many pages as the rows need (the heading repeated), the totals on the
last page. Money columns (align "r" and an int value) are printed with thousands separators.
The font, the atomic write and the deterministic output are the notices'
(reports.notices.primitives.PdfWriter).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jobs.common.config import Config

from .notices.primitives import PdfWriter, yen

__all__ = ["ScheduleStats", "render_schedule"]

ROWS_PER_PAGE = 45


@dataclass(frozen=True)
class ScheduleStats:
    pages: int
    rows: int


class _Schedule(PdfWriter):
    def __enter__(self):
        return self


def render_schedule(cfg: Config, path: str | Path, *, title: str, subtitle: str,
                    head: Sequence[tuple[str, str, float, str]], rows: Sequence[dict],
                    totals: Sequence[str]) -> ScheduleStats:
    """``head``: (key, heading, width mm, align l/r/c) per column; ``totals``: the last line's texts."""
    w = _Schedule(cfg, path)
    c = w.open_canvas(title, str(cfg.get("municipality.name", "")), "kokuho-batch KB710")
    pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
    with w:
        for page in range(pages):
            chunk = rows[page * ROWS_PER_PAGE:(page + 1) * ROWS_PER_PAGE]
            w.bold(15, 16, title, 13)
            w.text(15, 22, subtitle, 8)
            w.text(195, 22, f"{page + 1} / {pages} 頁", 8, align="r")
            y = 26.0
            widths = [col[2] for col in head]
            w.grid(15, y, widths, [6] + [5] * len(chunk), width=0.3)
            x = 15.0
            for (_, label, cw, _) in head:
                w.fit(x + cw / 2, y + 4.2, label, cw - 1, 6.5, align="c")
                x += cw
            cy = y + 9.7
            for r in chunk:
                x = 15.0
                for key, _, cw, align in head:
                    v = r.get(key)
                    s = "" if v is None else (yen(int(v)) if align == "r" and isinstance(v, int) else str(v))
                    if align == "r":
                        w.fit(x + cw - 1, cy, s, cw - 2, 7, align="r")
                    else:
                        w.fit(x + 1, cy, s, cw - 2, 7)
                    x += cw
                cy += 5
            if page == pages - 1:
                w.text(15, cy + 4, "  ".join(totals), 9)
            c.showPage()
    return ScheduleStats(pages=pages, rows=len(rows))
