"""The GS1-128 コンビニ barcode of the 納付書: symbol values (START C, FNC1, the 44 digits as 22
double-digit symbols, modulo-103 check, STOP), the bars in modules, and drawing the symbol as one
filled path."""

from __future__ import annotations

import functools
import operator

from reportlab.graphics.barcode import code128 as rl_code128
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from jobs.common import gs1

from ..print_data import NoticeError
from .primitives import PAGE_H

FNC1 = "\xf1"  # reportlab Code128: FNC1 in the input string
START_C, CODE128_FNC1, STOP = 105, 102, 106
_PAIRS = {f"{i:02d}": i for i in range(100)}
_WEIGHTS = range(2, 2 + gs1.LENGTH // 2)


def symbol_values(code: str) -> list[int]:
    """Code 128 symbol values of the GS1-128 symbol for the 44 digits: START C, FNC1, the digit
    pairs, the modulo-103 check (weights 1, 1, 2, 3 …), STOP. Tests check it against reportlab's
    ``Code128("\\xf1" + digits)`` encoder, which gives the same values."""
    digits = "".join(code.split())
    if len(digits) != gs1.LENGTH or not digits.isdigit():
        raise NoticeError(f"バーコードのデータは{gs1.LENGTH}桁の数字です: {code!r}")
    if digits.isascii():
        pairs = [_PAIRS[digits[k:k + 2]] for k in range(0, len(digits), 2)]
    else:  # other Unicode digits, as int() reads them
        pairs = [int(digits[k:k + 2]) for k in range(0, len(digits), 2)]
    values = [START_C, CODE128_FNC1] + pairs
    # weights 1, 1, 2, 3 …: START C ×1, FNC1 ×1, the k-th digit pair ×(k + 2)
    check = (START_C + CODE128_FNC1 + sum(map(operator.mul, _WEIGHTS, pairs))) % 103
    return values + [check, STOP]


def reportlab_symbol_values(code: str) -> list[int]:
    """The same symbol values from reportlab's Code128 (FNC1 as \\xf1)."""
    bc = Code128(FNC1 + "".join(code.split()), quiet=0)
    bc.validate()
    return list(bc.encode())


@functools.lru_cache(maxsize=1)
def _symbol_bars() -> dict[int, tuple[tuple[int, int], ...]]:
    """Per symbol value: (offset, width) in modules of its bars (reportlab's Code 128 table)."""
    out = {}
    for value, pattern in rl_code128._patterns.items():
        pos, rects = 0, []
        for ch in pattern:
            w = ord(ch.upper()) - ord("A") + 1
            if ch.isupper():
                rects.append((pos, w))
            pos += w
        out[value] = tuple(rects)
    return out


def bars(code: str) -> list[tuple[int, int]]:
    """(offset, width) in modules of every bar of the GS1-128 symbol (no quiet zones)."""
    table = _symbol_bars()
    out, pos = [], 0
    for v in symbol_values(code):
        for o, w in table[v]:
            out.append((pos + o, w))
        pos += 11
    return out


def symbol_width_modules(code: str) -> int:
    """Width of the symbol in modules (11 per symbol, 13 for STOP), quiet zones excluded."""
    return 11 * (len(symbol_values(code)) - 1) + 13



@functools.lru_cache(maxsize=1)
def _placed_rects() -> tuple[dict[int, str], ...]:
    """Per symbol position k (0 = START C … 25 = STOP) and symbol value: the ``re`` operators of its
    bars placed at 11·k modules, joined — ``draw`` joins 26 of these instead of formatting ~80
    rectangles (the same operators, in the same order, as ``bars``)."""
    table = _symbol_bars()
    n = 2 + gs1.LENGTH // 2 + 2
    return tuple({v: " ".join(f"{11 * k + o} 0 {w} 1 re" for o, w in rects) for v, rects in table.items()}
                 for k in range(n))


def draw(c: Canvas, x: float, y_bottom: float, code: str, *, module: float, bar_height: float, quiet: int) -> None:
    """GS1-128 (START C, FNC1, 22 double-digit symbols, modulo-103 check, STOP) as one filled
    path, in module units under a scaling matrix; (x, y_bottom) in mm from the top-left, after
    the left quiet zone of ``quiet`` modules (``module``, ``bar_height`` in points)."""
    left = x * mm + quiet * module
    base = PAGE_H - y_bottom * mm
    placed = _placed_rects()
    rects = " ".join([placed[k][v] for k, v in enumerate(symbol_values(code))])
    c._code.append(f"q {module:.4f} 0 0 {bar_height:.4f} {left:.3f} {base:.3f} cm {rects} f Q")
