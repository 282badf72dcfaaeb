"""Generators of the S5/S6 data sets: every set is a pure function of its params and a seed.

Nothing is downloaded: the DVC ``prepare`` stages call these and save the tensors, so a
study reruns offline and bit-identically. Each generator draws from its own
``numpy.random.Generator(seed)``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from annstudy.data.fingerprints import file_sha256

if TYPE_CHECKING:
    from annstudy.data.settings import DataSettings


@dataclass(frozen=True)
class XY:
    x: np.ndarray  # float32 [N, d] (or [N, length] for signals)
    y: np.ndarray  # float32 targets [N] or int64 labels [N]


def linear_1d(a: float, b: float, sigma: float, n: int, x_max: float, seed: int) -> XY:
    """y = a·x + b + N(0, sigma²), x ~ U(0, x_max)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, x_max, n)
    y = a * x + b + rng.normal(0.0, sigma, n)
    return XY(x[:, None].astype(np.float32), y.astype(np.float32))


def nonlinear_function(x: np.ndarray) -> np.ndarray:
    """The S5 non-linear target: f(x) = sin(2x) + 0.3·x² − 1 on [−3, 3] (a wave on a bowl)."""
    return np.sin(2.0 * x) + 0.3 * x**2 - 1.0


def nonlinear_1d(n: int, noise: float, seed: int) -> XY:
    """y = f(x) + N(0, noise²), x ~ U(−3, 3), f = :func:`nonlinear_function`."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3.0, 3.0, n))
    y = nonlinear_function(x) + rng.normal(0.0, noise, n)
    return XY(x[:, None].astype(np.float32), y.astype(np.float32))


FLOAT32_MAX = float(np.finfo(np.float32).max)  # training runs in float32: a larger value would be inf
LARGE_CSV_ROWS = 1_000_000  # from here on, prepare says what the data will cost


def _xy_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}: {err.reason}); save the CSV as UTF-8") from None
    except OSError as err:
        raise ValueError(f"{path}: cannot read the CSV ({err.strerror or err})") from None


def _xy_value(cell: str, name: str, where: str, row: list[str]) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{where}: x and y must be numbers, got {row}") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: x and y must be finite, got {row}")
    if abs(value) > FLOAT32_MAX:
        raise ValueError(
            f"{where}: {name}={cell.strip()} overflows float32, the training precision (|{name}| < 3.4e38)"
        )
    return value


def read_xy_csv(path: str | Path) -> XY:
    """A user's 1D regression data: a CSV with a header naming columns ``x`` and ``y``.

    Errors name the file and, for a bad value, the row (1 = the header line): a value must be
    finite in float32 (1e39 is finite in float64 but inf once training casts it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data.regression_csv: file not found: {path}")
    reader = csv.reader(io.StringIO(_xy_text(path), newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "x" not in header or "y" not in header:
        raise ValueError(f"{path}: needs columns x and y in its header row, got {header}")
    if header.count("x") > 1 or header.count("y") > 1:
        raise ValueError(f"{path}: row 1: column {'x' if header.count('x') > 1 else 'y'} appears more than once")
    ix, iy = header.index("x"), header.index("y")
    xs, ys = [], []
    for row_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{path}: row {row_no}"
        if len(row) <= max(ix, iy):
            raise ValueError(f"{where}: x and y must be numbers, got {row}")
        xs.append(_xy_value(row[ix], "x", where, row)), ys.append(_xy_value(row[iy], "y", where, row))
    if len(xs) < 2:
        raise ValueError(f"{path}: needs at least 2 data rows, got {len(xs)}")
    if len(xs) >= LARGE_CSV_ROWS:
        print(
            f"{path}: {len(xs):,} rows: {len(xs) * 8 / 2**20:,.0f} MiB as float32, every epoch visits each", flush=True
        )
    order = np.argsort(xs)
    return XY(np.asarray(xs, np.float32)[order, None], np.asarray(ys, np.float32)[order])


REGRESSION_CSV = "regression"  # inputs@regression: the fingerprint of data.regression_csv (data/registry.py)


def regression_csv_inputs(settings: DataSettings) -> dict:
    """``data.regression_csv`` and its SHA-256 (data/inputs.py); null (the synthetic function) has none."""
    path = settings.regression_csv
    if not path:
        return {"csv": None}
    if not Path(path).is_file():
        raise FileNotFoundError(f"data.regression_csv: file not found: {path}")
    return {"csv": path, "sha256": file_sha256(Path(path))}


def bell_2d(n: int, noise: float, seed: int) -> XY:
    """y = exp(−|x|²/4) + N(0, noise²), x ~ U([−5, 5]²)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5.0, 5.0, (n, 2))
    y = np.exp(-(x**2).sum(1) / 4.0) + rng.normal(0.0, noise, n)
    return XY(x.astype(np.float32), y.astype(np.float32))


def spirals(arms: int, per_arm: int, turns: float, noise: float, seed: int) -> XY:
    """``arms`` interleaved spiral arms in [−1, 1]², label = arm.

    Arm k at parameter t ~ U(0, 1): radius t, angle 2π·(turns·t + k/arms), plus
    N(0, noise²) on each coordinate (clipped to the square).
    """
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, (arms, per_arm))
    angle = 2 * np.pi * (turns * t + np.arange(arms)[:, None] / arms)
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], -1).reshape(-1, 2)
    x = np.clip(x + rng.normal(0.0, noise, x.shape), -1.0, 1.0)
    y = np.repeat(np.arange(arms), per_arm)
    order = rng.permutation(len(y))
    return XY(x[order].astype(np.float32), y[order].astype(np.int64))


def _beats(
    rng: np.random.Generator, times: np.ndarray, length: int, width: np.ndarray, height: np.ndarray
) -> np.ndarray:
    """A sum of Gaussian pulses centred at ``times`` (samples)."""
    t = np.arange(length)[None, :]
    return (height[:, None] * np.exp(-0.5 * ((t - times[:, None]) / width[:, None]) ** 2)).sum(0)


def signal(rng: np.random.Generator, abnormal: bool, length: int, period: float, noise: float) -> np.ndarray:
    """One 1D signal: a train of beats plus a slow baseline wander and white noise.

    normal:   beats every ``period`` samples (±3 % jitter), width 4, height 1.
    abnormal: the same, except that from a random beat on, the timing turns irregular
              (intervals ×U(0.5, 1.5)) and some beats change shape (width ×U(1.5, 3),
              height ×U(−0.8, 0.6)): arrhythmia-like.
    The period is drawn per signal (×U(0.8, 1.2)) so the class is not just a frequency.
    """
    p = period * rng.uniform(0.8, 1.2)
    n = int(length / p) + 3
    intervals = p * (1 + rng.normal(0.0, 0.03, n))
    width, height = np.full(n, 4.0), np.ones(n)
    if abnormal:
        onset = rng.integers(0, max(1, n // 2))
        irregular = np.arange(n) >= onset
        intervals[irregular] *= rng.uniform(0.5, 1.5, irregular.sum())
        reshaped = irregular & (rng.uniform(size=n) < 0.5)
        width[reshaped] *= rng.uniform(1.5, 3.0, reshaped.sum())
        height[reshaped] *= rng.uniform(-0.8, 0.6, reshaped.sum())
    times = rng.uniform(-p, 0) + np.cumsum(intervals)
    wander = 0.2 * np.sin(2 * np.pi * (np.arange(length) / length * rng.uniform(0.5, 2) + rng.uniform()))
    return _beats(rng, times, length, width, height) + wander + rng.normal(0.0, noise, length)


def signals(n: int, length: int, period: float, noise: float, seed: int) -> XY:
    """``n`` signals, half normal (label 0) and half abnormal (label 1), shuffled."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 2)
    x = np.stack([signal(rng, bool(lab), length, period, noise) for lab in labels])
    return XY(x.astype(np.float32), labels.astype(np.int64))
