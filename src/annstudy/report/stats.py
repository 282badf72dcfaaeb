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


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    diff: float  # mean(a) - mean(b)
    p: float  # two-sided Welch t-test
    p_adjusted: float  # Holm-Bonferroni over all pairs of the family
    significant: bool  # p_adjusted < alpha


def welch_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Welch t-test p-value; 1.0 when it is undefined (n < 2 or both variances 0)."""
    if len(x) < 2 or len(y) < 2:
        return 1.0
    if max(x) == min(x) and max(y) == min(y):
        return 0.0 if x[0] != y[0] else 1.0
    return float(sps.ttest_ind(x, y, equal_var=False).pvalue)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def pairwise(groups: dict[str, Sequence[float]], alpha: float = 0.05) -> list[Comparison]:
    """Every pair of groups compared by Welch's t-test, Holm-corrected as one family."""
    names = list(groups)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    raw = [welch_p(list(groups[a]), list(groups[b])) for a, b in pairs]
    adjusted = holm(raw)
    return [
        Comparison(a, b, summarize(groups[a]).mean - summarize(groups[b]).mean, p, q, q < alpha)
        for (a, b), p, q in zip(pairs, raw, adjusted)
    ]
