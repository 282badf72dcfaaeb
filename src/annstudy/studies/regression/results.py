"""S5's stage records as typed results: the linear neuron, the non-linear fit and the bell networks.

Why typed: the section reads each record in several places (tables, figures, claims, metrics.json);
loading it once into a dataclass keeps those reads in one place and names what the record holds.
Diverged seeds are left out of every summary here (their loss is not finite).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from annstudy.report.stats import Summary, summarize
from annstudy.store.artifacts import load_torch, read_json
from annstudy.store.records import prepare_stage_seconds, read_record
from annstudy.studies.regression.config import RegressionSettings
from annstudy.studies.regression.run import PARTS, prepared_dir, train_dir

POSITIVE = (0.0, float("inf"))  # an MSE is never negative: its intervals are clipped at 0


def finite(rows: list[dict], key: str) -> list[float]:
    """``key`` of every seed that did not diverge and whose value is finite."""
    return [r[key] for r in rows if r.get("diverged_step") is None and np.isfinite(r[key])]


@dataclass(frozen=True)
class LinearRun:
    """The linear neuron: per seed the learned (w, b), the least-squares line, the truth, every mini-batch cost."""

    summary: dict
    batches: pd.DataFrame
    x: np.ndarray  # the one input column
    y: np.ndarray

    @property
    def w(self) -> Summary:
        return summarize(finite(self.summary["per_seed"], "w"))

    @property
    def b(self) -> Summary:
        return summarize(finite(self.summary["per_seed"], "b"))


def load_linear() -> LinearRun:
    """The linear neuron's record and its training points."""
    record = read_record(train_dir("linear"))
    data = load_torch(prepared_dir() / "linear.pt")
    return LinearRun(record.summary, record.table("batches"), data["x"].numpy()[:, 0], data["y"].numpy())


def linear_metrics(run: LinearRun) -> dict:
    """metrics.json's linear entry: the mean learned (w, b) (the true (a, b) are params)."""
    return {"w_mean": round(run.w.mean, 5), "b_mean": round(run.b.mean, 5)}


@dataclass(frozen=True)
class NonlinearRun:
    """The small MLP on a 1D curve: per-seed training MSE (y units), its curves and its fit on a grid."""

    summary: dict
    source: str  # "synthetic" or "csv <path>"
    x: np.ndarray  # the one input column
    y: np.ndarray
    grid: np.ndarray
    pred: np.ndarray  # seed x grid
    batches: pd.DataFrame
    epochs: pd.DataFrame

    @property
    def synthetic(self) -> bool:
        return self.source == "synthetic"

    @property
    def values(self) -> list[float]:
        """Final training MSE of every seed that did not diverge."""
        return finite(self.summary["per_seed"], "train_mse")

    @property
    def mse(self) -> Summary:
        return summarize(self.values, bounds=POSITIVE)

    @property
    def ratio(self) -> float:
        """The final MSE over the variance of y: the share of y's spread the fit leaves."""
        return self.mse.mean / self.summary["target_variance"]

    @property
    def scale(self) -> float:
        """The logged costs are on standardised y; this factor brings them back to y's units."""
        return float(self.summary.get("cost_scale", 1.0))


def load_nonlinear() -> NonlinearRun:
    """The non-linear fit's record, its points (synthetic or the user's CSV) and its fits on a grid."""
    record = read_record(train_dir("nonlinear"))
    data = load_torch(prepared_dir() / "nonlinear.pt")
    fits = load_torch(train_dir("nonlinear") / "fits.pt")
    source = read_json(prepared_dir() / "meta.json")["nonlinear_source"]
    x, y = data["x"].numpy()[:, 0], data["y"].numpy()
    grid, pred = fits["grid"].numpy(), fits["pred"].numpy()
    return NonlinearRun(record.summary, source, x, y, grid, pred, record.table("batches"), record.table("epochs"))


def steps_per_epoch(n: int, batch: int) -> int:
    """SGD steps per epoch: one for full batch (batch <= 0 or >= n), else ceil(n / batch)."""
    return 1 if batch <= 0 or batch >= n else -(-n // batch)


def nonlinear_metrics(run: NonlinearRun) -> dict:
    """metrics.json's nonlinear entry: the final training cost, mean over seeds (the worst seed, its share
    of var(y) and the steps are in the report and the stage record)."""
    return {"final_cost": round(run.mse.mean, 6)}


def bell_summary(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One row per architecture and data size (full | small): train and test MSE over the seeds that did not diverge."""
    ok = per_seed[per_seed["diverged_step"].isna()]
    rows = []
    for (arch, size), g in ok.groupby(["arch", "data"], sort=False):
        rows.append(
            {
                "arch": arch,
                "data": size,
                "n_train": int(g["n_train"].iloc[0]),
                "params": int(g["params"].iloc[0]),
                "lr": float(g["lr"].iloc[0]),
                "epochs": int(g["epochs"].iloc[0]),
                "train": summarize(g["train_mse"], bounds=POSITIVE),
                "test": summarize(g["test_mse"], bounds=POSITIVE),
                "test_values": tuple(float(v) for v in g["test_mse"]),
            }
        )
    return pd.DataFrame(rows)


def cv_per_seed(cv: list[dict]) -> dict[str, tuple[float, ...]]:
    """Per architecture: each seed's cross-validation MSE (mean over its folds; diverged folds dropped)."""
    frame = pd.DataFrame(cv)
    if frame.empty:
        return {}
    ok = frame[frame["diverged_step"].isna() & np.isfinite(frame["val_mse"])]
    means = ok.groupby(["arch", "seed"], sort=False)["val_mse"].mean()
    return {arch: tuple(float(v) for v in g) for arch, g in means.groupby(level=0, sort=False)}


@dataclass(frozen=True)
class BellRun:
    """The bell networks on 1,000 points and on the small set: the summary table, CV, surfaces, curves."""

    summary: dict  # the record's summary (per seed, cv, n_small, small_archs, ...)
    table: pd.DataFrame  # bell_summary of the per-seed rows
    cv: dict[str, tuple[float, ...]]
    folds: int
    x: np.ndarray  # the training points (2 columns)
    y: np.ndarray
    axis: np.ndarray  # the surfaces' grid along each input
    surfaces: dict  # "<arch>/<full|small>" -> per-seed surfaces
    epochs: pd.DataFrame

    @property
    def full(self) -> pd.DataFrame:
        return self.table[self.table["data"] == "full"]

    @property
    def small(self) -> pd.DataFrame:
        return self.table[self.table["data"] == "small"]

    @property
    def diverged(self) -> list[dict]:
        return [p for p in self.summary["per_seed"] if p["diverged_step"] is not None]


def load_bell(study: RegressionSettings) -> BellRun:
    """The bell record, its summary per network and data size, the CV MSEs and the fitted surfaces."""
    record = read_record(train_dir("bell"))
    r = record.summary
    data = load_torch(prepared_dir() / "bell.pt")
    fits = load_torch(train_dir("bell") / "fits.pt")
    table = bell_summary(pd.DataFrame(r["per_seed"]))
    folds = r.get("cv_folds", study.bell_small_folds)
    x, y = data["x"].numpy(), data["y"].numpy()
    return BellRun(
        r,
        table,
        cv_per_seed(r.get("cv", [])),
        folds,
        x,
        y,
        fits["axis"].numpy(),
        fits["surfaces"],
        record.table("epochs"),
    )


def stage_seconds() -> dict[str, float]:
    """Wall time of the prepare stage and of each training part, as the records hold them."""
    seconds = {f"regression ({p})": read_record(train_dir(p)).summary["wall_seconds"] for p in PARTS}
    return prepare_stage_seconds(prepared_dir()) | seconds
