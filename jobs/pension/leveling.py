"""翌年度の仮徴収 (next fiscal year's 仮徴収) from this year's February 特別徴収 amount, with 平準化.

TAX_RULES.md §7: 継続 → each 仮徴収 (4・6・8月) = 前年度2月の特別徴収額; 平準化 where configured
(``withholding.provisional.leveling``): ① = 前年度年税額 ÷ divisor floored to unit; each leveled month
(6・8月) = (① × 3 − the other 仮徴収) ÷ (number of leveled months), floored to unit, never below 0
[S: 八代市; 日高市 levels August only]. The same rule as ``jobs.assessment.withholding.provisional_matrix``
(FK120 applies it to a whole year's households); this is its scalar form for one household, used
before the new year's assessment exists (the 61 仮徴収額変更 of June/August is sent in the spring).

Pure: integers and the rules in, a tuple out (one amount per ``rules.provisional_months``).
"""

from __future__ import annotations

from jobs.assessment.withholding import WithholdingRules


def _floor(x: int, unit: int) -> int:
    return max(int(x), 0) // unit * unit


def next_provisional(february_amount: int, annual_tax: int | None, rules: WithholdingRules) -> tuple[int, ...]:
    """The 仮徴収 of each provisional month of the next fiscal year for a household withheld
    ``february_amount`` yen this February, whose annual tax this year is ``annual_tax`` (None:
    unknown → no 平準化). 0 when nothing was withheld in February (not a 継続 household)."""
    months = rules.provisional_months
    feb = max(int(february_amount or 0), 0)
    amounts = [feb] * len(months)
    if feb == 0:
        return tuple(0 for _ in months)
    if rules.leveling and annual_tax is not None:
        lev = [months.index(m) for m in rules.leveling_months]
        other = sum(a for i, a in enumerate(amounts) if i not in lev)
        one = _floor(int(annual_tax) // rules.leveling_divisor, rules.leveling_unit)
        target = one * len(months) - other
        each = _floor(target // len(lev), rules.leveling_unit)
        for i in lev:
            amounts[i] = each
    return tuple(amounts)


def leveling_changes(february_amount: int, annual_tax: int | None, rules: WithholdingRules) -> dict[int, int]:
    """The months whose 仮徴収 differs from the February amount (what a 61 仮徴収額変更 must
    tell the pension insurer, who otherwise continues the February amount): {month: amount}."""
    feb = max(int(february_amount or 0), 0)
    got = next_provisional(feb, annual_tax, rules)
    return {m: a for m, a in zip(rules.provisional_months, got, strict=True) if a != feb}
