"""S3's stage records and the numbers read off them: labels, per-seed validation accuracies, the drops.

Why here: the claims, the table, the questions and metrics.json all read the same per-seed numbers
(validation accuracy at an epoch, the epochs after which the rate dropped), so they are computed once.
Each variant's record is already typed (:class:`annstudy.studies.variants.Variant`).
"""

from __future__ import annotations

from annstudy.data.prepared import load_meta
from annstudy.data.registry import prepared_dir
from annstudy.report import budgets
from annstudy.report.stats import summarize
from annstudy.studies.learning_rates.config import ADAM, SCHEDULED, LearningRatesSettings, constant_lr
from annstudy.studies.learning_rates.run import variant_dir
from annstudy.studies.variants import Variant, read_variant


def load_records(study: LearningRatesSettings) -> list[Variant]:
    """Every variant's record, in params order (constant rates, then the schedule and Adam)."""
    return [read_variant(v, variant_dir(v)) for v in study.variants]


def test_size(dataset: str) -> int:
    """Number of test images of the prepared dataset (for the Wilson interval)."""
    return int(load_meta(prepared_dir(dataset))["sizes"]["test"])


def label(variant: str) -> str:
    """The variant as the figures, tables and sentences name it."""
    if variant == SCHEDULED:
        return "SGD, step schedule"
    if variant == ADAM:
        return "Adam"
    return f"SGD lr {constant_lr(variant):g}"


def budget(rec: Variant) -> str:
    """The variant's epochs, or its stopping rule and maximum, as a claim's budget (arms compare only at equal
    budgets: report/claims.py)."""
    return budgets.budget(rec.run)


def stopped(rec: Variant) -> bool:
    """Whether early stopping ended its seeds (then each is evaluated at its best epoch, not its last)."""
    return budgets.stop_patience(rec.run) > 0


def mean(values: tuple[float, ...] | list[float]) -> float | None:
    """The mean of per-seed values, None where there are none (every seed diverged)."""
    return sum(values) / len(values) if values else None


def final_val(rec: Variant, epoch: int | None = None) -> tuple[float, ...]:
    """Per healthy seed: validation accuracy at ``epoch`` (default: the epoch of each seed's evaluated weights,
    its last, or its best under early stopping)."""
    e = rec.epochs
    if e.empty:
        return ()
    healthy = {s["seed"] for s in rec.run["seeds"] if not s["diverged"]}
    e = e[e["seed"].isin(healthy)]
    if epoch is not None:
        rows = e[e["epoch"] == epoch]
    elif stopped(rec):
        rows = e[e["epoch"] == e["seed"].map(budgets.best_epochs(rec.run))]
    else:
        rows = e.sort_values("epoch").groupby("seed").tail(1)
    return tuple(float(v) for v in rows.sort_values("seed")["val_acc"])


def final_loss(rec: Variant) -> float | None:
    """Mean over seeds of the last logged training loss (a diverged seed's last finite one)."""
    c = rec.curves
    if c.empty:
        return None
    return float(c.sort_values("step").groupby("seed")["train_loss"].last().mean())


def fired(rec: Variant) -> bool:
    """Whether any seed's rate dropped: a schedule that never fired is constant-rate SGD."""
    return any(s["lr_changes"] for s in rec.run["seeds"])


def drops(rec: Variant) -> str:
    """Per seed: the drops of the final pass, and why the passes ended (no plateau found, or no rate left)."""
    if rec.name != SCHEDULED:
        return "—"
    passes = rec.run.get("passes", {})
    per_seed = []
    for s in rec.run["seeds"]:
        dropped = ", ".join(f"after epoch {c['epoch']} → {c['lr']:g}" for c in s["lr_changes"]) or "none"
        last = (passes.get(str(s["seed"])) or [{}])[-1]
        missing = last and last.get("plateau") is None and len(passes[str(s["seed"])]) < len(rec.run["schedule_lrs"])
        note = f" (no plateau found at {last['lr']:g})" if missing else ""
        per_seed.append(f"seed {s['seed']}: {dropped}{note}")
    return "; ".join(per_seed)


def gain_after_drops(rec: Variant) -> float | None:
    """Mean over seeds that dropped: final validation accuracy (at the evaluated epoch) minus that at the first
    drop (the plateau level)."""
    e, best = rec.epochs, budgets.best_epochs(rec.run)
    gains = []
    for s in rec.run["seeds"]:
        if not s["lr_changes"] or s["diverged"]:
            continue
        rows = e[e["seed"] == s["seed"]].sort_values("epoch")
        if stopped(rec):  # the evaluated weights: the best epoch's
            rows = rows[rows["epoch"] <= best[int(s["seed"])]]
        at = rows[rows["epoch"] == s["lr_changes"][0]["epoch"]]["val_acc"]
        if len(at):
            gains.append(float(rows["val_acc"].iloc[-1]) - float(at.iloc[0]))
    return mean(gains)


def metrics(records: list[Variant], n_test: int) -> dict:
    """metrics.json's S3 headline: test accuracy per variant over its healthy seeds (None where every seed
    diverged) and the test-set size. Which seeds diverged and the schedule's drop epochs stay in the stage
    records (data/learning_rates/train/*/live) and the report."""
    out: dict = {"n_test": n_test}
    for rec in records:
        t = summarize(rec.test_accs)
        out[rec.name] = {
            "test_acc_mean": round(t.mean, 5) if t.n else None,
            "test_acc_std": round(t.std, 5) if t.n else None,
        }
    return out
