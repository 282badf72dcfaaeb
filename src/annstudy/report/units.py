"""How the report writes numbers and counts: accuracies in percent with one decimal, plurals that agree.

Why one module: "0.8428 ± 0.0121" beside "84.3 %" makes a reader convert units, and "1 epochs"
reads as a bug; every study's text goes through these few functions instead of its own f-strings.
"""

from __future__ import annotations

import math
from typing import Sequence

from scipy import stats as sps

IRREGULAR = {"series": "series", "axis": "axes", "hidden units": "hidden units"}


def plural(n: int | float, word: str, many: str | None = None) -> str:
    """``1 epoch``, ``2 epochs``, ``1,080 steps``: the count and the word in agreement."""
    many = many or IRREGULAR.get(word, word + "s")
    count = f"{n:,}" if isinstance(n, int) else f"{n:g}"
    return f"{count} {word if n == 1 else many}"


def percent(x: float, digits: int = 1) -> str:
    """A share in [0, 1] as ``84.3 %`` (a dash when not finite)."""
    return f"{x * 100:.{digits}f} %" if math.isfinite(x) else "—"


def points(diff: float, digits: int = 1) -> str:
    """A difference of two accuracies in percentage points, signed: ``+8.5 points``."""
    return f"{diff * 100:+.{digits}f} points" if math.isfinite(diff) else "—"


def percent_interval(low: float, high: float, digits: int = 1) -> str:
    """``[83.6, 87.3]`` (percent; the unit is the number's beside it)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"[{low * 100:.{digits}f}, {high * 100:.{digits}f}]"


def points_interval(low: float, high: float, digits: int = 1) -> str:
    """A difference's interval in signed percentage points: ``[+6.1, +10.9]``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "—"
    return f"[{low * 100:+.{digits}f}, {high * 100:+.{digits}f}]"


def accuracy_spread(values: Sequence[float]) -> str:
    """Per-seed accuracies as ``84.3 % ± 1.2`` (mean ± sample std, points), one value as itself."""
    xs = [float(v) for v in values if math.isfinite(v)]
    if not xs:
        return "—"
    mean = sum(xs) / len(xs)
    if len(xs) == 1:
        return percent(mean)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    return f"{percent(mean)} ± {std * 100:.1f}"


def welch_interval(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """mean(a) − mean(b) and its Welch 95 % interval (NaN bounds with fewer than 2 values per side).

    The interval a difference claim rests on, in the values' own unit; two constant arms give a
    zero-width interval at the difference.
    """
    xa, xb = [float(v) for v in a], [float(v) for v in b]
    if not xa or not xb:
        return (math.nan, math.nan, math.nan)
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
    diff = ma - mb
    if len(xa) < 2 or len(xb) < 2:
        return (diff, math.nan, math.nan)
    va = sum((x - ma) ** 2 for x in xa) / (len(xa) - 1) / len(xa)
    vb = sum((x - mb) ** 2 for x in xb) / (len(xb) - 1) / len(xb)
    if va + vb == 0:
        return (diff, diff, diff)
    df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1))
    half = sps.t.ppf(0.5 + confidence / 2, df) * math.sqrt(va + vb)
    return (diff, diff - half, diff + half)
