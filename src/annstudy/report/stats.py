"""Summary statistics over seeds: mean, sample std and a Student-t 95 % confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats as sps


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    std: float  # sample standard deviation (ddof=1); 0 for a single value
    ci_low: float
    ci_high: float

    def fmt(self, digits: int = 4) -> str:
        return f"{self.mean:.{digits}f} ± {self.std:.{digits}f}"

    def fmt_ci(self, digits: int = 4) -> str:
        if self.n < 2:
            return "n/a (1 seed)"
        return f"[{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    """Mean ± std and the t-interval ``mean ± t_{n-1} * std / sqrt(n)`` (collapses for n = 1)."""
    xs = [float(v) for v in values]
    n = len(xs)
    if n == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan)
    mean = sum(xs) / n
    if n == 1:
        return Summary(1, mean, 0.0, mean, mean)
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = sps.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)
