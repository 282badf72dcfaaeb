"""Summary statistics over seeds and over test images.

Over seeds: mean, sample std and a Student-t 95 % interval, clipped to the metric's range
(an accuracy interval never leaves [0, 1]); with two seeds the t multiplier is 12.7, so
:class:`Accuracy` shows the per-seed values instead. Over test images: the Wilson interval
of an accuracy measured on ``n`` images, the sampling error that the seeds never see.
"""

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


def summarize(values: Sequence[float], confidence: float = 0.95, bounds: tuple[float, float] | None = None) -> Summary:
    """Mean ± std and the t-interval ``mean ± t_{n-1} * std / sqrt(n)`` (collapses for n = 1).

    ``bounds`` clips the interval to the metric's range (accuracies (0, 1), norms (0, inf)).
    """
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
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Summary(n, mean, std, low, high)


ACCURACY_RANGE = (0.0, 1.0)
MIN_SEEDS_FOR_INTERVAL = 3  # n <= 2: the t multiplier (12.7 at n = 2) makes the interval meaningless


def wilson(acc: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``acc`` observed on ``n`` items (stays inside [0, 1])."""
    if n <= 0 or not math.isfinite(acc):
        return (float("nan"), float("nan"))
    z = sps.norm.ppf(0.5 + confidence / 2)
    centre = (acc + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(acc * (1 - acc) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if acc <= 0 else max(0.0, centre - half)  # exact at the ends, not 1e-17
    high = 1.0 if acc >= 1 else min(1.0, centre + half)
    return (low, high)


def pct(x: float) -> str:
    """An accuracy as a percentage with one decimal (one test image of 350 is 0.29 points)."""
    return f"{x * 100:.1f} %" if math.isfinite(x) else "—"


@dataclass(frozen=True)
class Accuracy:
    """Per-seed accuracies on one test set of ``n_test`` images, with both sources of uncertainty."""

    values: tuple[float, ...]
    n_test: int

    @property
    def summary(self) -> Summary:
        return summarize(self.values, bounds=ACCURACY_RANGE)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return self.summary.mean

    @property
    def seed_half(self) -> float:
        """Half-width of the seed interval; with n <= 2 half the range of the values (no t-interval)."""
        if self.n < 2:
            return 0.0
        if self.n < MIN_SEEDS_FOR_INTERVAL:
            return (max(self.values) - min(self.values)) / 2
        s = self.summary
        return (s.ci_high - s.ci_low) / 2

    @property
    def sampling(self) -> tuple[float, float]:
        return wilson(self.mean, self.n_test)

    @property
    def sampling_half(self) -> float:
        low, high = self.sampling
        return (high - low) / 2

    @property
    def dominant(self) -> str:
        """Which uncertainty is larger: the spread over seeds or the test-set sampling error."""
        return "the seed spread" if self.seed_half > self.sampling_half else "test-set sampling"

    @property
    def interval(self) -> tuple[float, float]:
        """Both uncertainties at once: the union of the seed interval (or range) and the Wilson interval."""
        return self.interval_at(0.95)

    def interval_at(self, confidence: float) -> tuple[float, float]:
        """:attr:`interval` at ``confidence`` (1 - alpha / m for a claim in a family of m)."""
        if self.n < MIN_SEEDS_FOR_INTERVAL:
            seed_low, seed_high = min(self.values), max(self.values)
        else:
            s = summarize(self.values, confidence, ACCURACY_RANGE)
            seed_low, seed_high = s.ci_low, s.ci_high
        low, high = wilson(self.mean, self.n_test, confidence)
        return (min(seed_low, low), max(seed_high, high))

    def fmt(self) -> str:
        """``87.3 % [86.8, 87.9]`` (t-interval, n >= 3) or ``87.3 % (seeds 87.0, 87.6)`` (n <= 2)."""
        if self.n == 0:
            return "—"
        if self.n < MIN_SEEDS_FOR_INTERVAL:
            return (
                f"{pct(self.mean)} (seed{'s' if self.n > 1 else ''} "
                + ", ".join(f"{v * 100:.1f}" for v in self.values)
                + ")"
            )
        s = self.summary
        return f"{pct(s.mean)} [{s.ci_low * 100:.1f}, {s.ci_high * 100:.1f}]"

    def fmt_sampling(self) -> str:
        """Wilson 95 % interval over the test images, in percent."""
        low, high = self.sampling
        return f"[{low * 100:.1f}, {high * 100:.1f}]" if self.n else "—"

    def fmt_full(self) -> str:
        """Seed part, test-sampling part and which dominates, for a sentence."""
        if self.n == 0:
            return "—"
        seeds = self.fmt()
        return (
            f"{seeds}; test sampling (Wilson, {self.n_test:,} images) {self.fmt_sampling()}, {self.dominant} dominates"
        )


def _smallest_n(power_at, target: float, start: int = 2, cap: int = 1_000_000) -> int | None:
    """The smallest n >= ``start`` with ``power_at(n) >= target`` (power grows with n): doubling, then bisection."""
    if power_at(start) >= target:
        return start
    high = start
    while power_at(high) < target:
        if high >= cap:
            return None
        high = min(cap, high * 2)
    low = high // 2  # power_at(low) < target
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if power_at(mid) >= target else (mid, high)
    return high


def seeds_needed(diff: float, std: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Seeds per arm for a two-sided two-sample t-test at level ``alpha`` to detect ``diff`` with spread ``std``.

    Exact for Student's test with equal arms (noncentral t, df = 2n - 2), not the normal
    approximation, which at n = 3 promises power the test does not have. ``alpha`` is the
    family's adjusted level. None when the difference is zero (no sample size detects it) or
    the spread is unknown; 2 when there is no spread at all.
    """
    if not (math.isfinite(diff) and math.isfinite(std)) or diff == 0:
        return None
    if std == 0:
        return 2

    def power_at(n: int) -> float:
        df, ncp = 2 * n - 2, abs(diff) / (std * math.sqrt(2 / n))
        crit = sps.t.ppf(1 - alpha / 2, df)
        return float(sps.nct.sf(crit, df, ncp) + sps.nct.cdf(-crit, df, ncp))

    return _smallest_n(power_at, power)


def seeds_for_equivalence(
    diff: float, std: float, margin: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Seeds per arm for TOST (both one-sided tests at ``alpha``) to show |true diff| < ``margin`` when it is ``diff``.

    Central-t approximation of the two one-sided rejections (Chow, Shao & Wang 2008, 3.2.3). None
    when the observed difference is not inside the margin (no sample size shows equivalence then).
    """
    if not (math.isfinite(diff) and math.isfinite(std)) or margin <= 0 or abs(diff) >= margin:
        return None
    if std == 0:
        return 2

    def power_at(n: int) -> float:
        df, se = 2 * n - 2, std * math.sqrt(2 / n)
        crit = sps.t.ppf(1 - alpha, df)
        upper = sps.t.cdf((margin - abs(diff)) / se - crit, df)
        lower = sps.t.cdf((margin + abs(diff)) / se - crit, df)
        return float(max(0.0, upper + lower - 1))

    return _smallest_n(power_at, power)


def seeds_for_interval(diff: float, std: float, confidence: float = 0.95) -> int | None:
    """Seeds for a t-interval of the mean (half-width t * std / sqrt(n)) to lie clear of a bar ``diff`` away."""
    if not (math.isfinite(diff) and math.isfinite(std)) or diff == 0:
        return None
    if std == 0:
        return 2
    return _smallest_n(lambda n: float(abs(diff) > sps.t.ppf(0.5 + confidence / 2, n - 1) * std / math.sqrt(n)), 1.0)


def test_images_for_interval(acc: float, diff: float, confidence: float = 0.95) -> int | None:
    """Test items for the Wilson (about normal) interval of ``acc`` to lie clear of a bar ``diff`` away."""
    if not (math.isfinite(acc) and math.isfinite(diff)) or diff == 0:
        return None
    z = sps.norm.ppf(0.5 + confidence / 2)
    return max(1, math.ceil(z * z * acc * (1 - acc) / (diff * diff)))


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    diff: float  # mean(a) - mean(b)
    p: float  # two-sided Welch t-test
    p_adjusted: float  # Holm-Bonferroni over all pairs of the family
    significant: bool  # p_adjusted < alpha


def welch_p(x: Sequence[float], y: Sequence[float]) -> float:
    """Two-sided Welch t-test p-value; 1.0 when it is undefined (n < 2).

    Two arms constant up to float rounding (e.g. both at chance, 0.1 and 0.1000000001) have no
    spread to test against: scipy would warn of precision loss and return noise. They are
    decided explicitly: different means -> 0.0, equal -> 1.0."""
    if len(x) < 2 or len(y) < 2:
        return 1.0
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    rounding = 1e-9 * max(abs(mean_x), abs(mean_y), 1e-12)
    var_x, var_y = (_variance(v, m, rounding) for v, m in ((x, mean_x), (y, mean_y)))
    if var_x == 0.0 and var_y == 0.0:
        return 0.0 if abs(mean_x - mean_y) > rounding else 1.0
    se2_x, se2_y = var_x / len(x), var_y / len(y)
    t = (mean_x - mean_y) / math.sqrt(se2_x + se2_y)
    df = (se2_x + se2_y) ** 2 / (se2_x**2 / (len(x) - 1) + se2_y**2 / (len(y) - 1))  # Welch-Satterthwaite
    return float(2 * sps.t.sf(abs(t), df))


def tost_p(x: Sequence[float], y: Sequence[float], margin: float) -> float:
    """Equivalence p-value (TOST, Welch form): the larger of the two one-sided p-values for "diff <= -margin"
    and "diff >= margin". Small means mean(x) - mean(y) lies inside +- ``margin``; 1.0 when undefined (n < 2)."""
    if len(x) < 2 or len(y) < 2 or margin <= 0:
        return 1.0
    mean_x, mean_y = sum(x) / len(x), sum(y) / len(y)
    diff = mean_x - mean_y
    rounding = 1e-9 * max(abs(mean_x), abs(mean_y), 1e-12)
    var_x, var_y = (_variance(v, m, rounding) for v, m in ((x, mean_x), (y, mean_y)))
    if var_x == 0.0 and var_y == 0.0:
        return 0.0 if abs(diff) < margin else 1.0
    se2_x, se2_y = var_x / len(x), var_y / len(y)
    se = math.sqrt(se2_x + se2_y)
    df = (se2_x + se2_y) ** 2 / (se2_x**2 / (len(x) - 1) + se2_y**2 / (len(y) - 1))
    above_lower = sps.t.sf((diff + margin) / se, df)  # H0: diff <= -margin
    below_upper = sps.t.cdf((diff - margin) / se, df)  # H0: diff >= margin
    return float(max(above_lower, below_upper))


def _variance(values: Sequence[float], mean: float, rounding: float) -> float:
    """Sample variance; 0 for values equal up to float rounding (their spread is not data)."""
    if max(values) - min(values) <= rounding:
        return 0.0
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


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
