"""S5's numbers turned into statements with a status: the non-linear fit's goal, which bell network is best.

Why apart from the layout: the three "which network" answers must stay apart (best knowing the true
function, by test MSE on fresh points; best from the data alone, by cross-validation), and the
section only prints what is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from annstudy.report.claims import Arm, Claim
from annstudy.report.comparisons import against, compare
from annstudy.report.questions import questions_block
from annstudy.report.section import Finding
from annstudy.report.stats import seeds_for_interval, summarize
from annstudy.studies.regression.results import POSITIVE

GOAL = 0.1  # studies.md: the non-linear fit ends with a training cost below 0.1


def _seed_interval(values: list[float]) -> tuple[tuple[float, float], str]:
    """The 95 % t-interval of the mean with 3 or more seeds; with n <= 2 the range of the values themselves."""
    s = summarize(values, bounds=POSITIVE)
    if s.n <= 2:
        return (min(values), max(values)), f"every seed's value (n = {s.n}, no t-interval)"
    return (s.ci_low, s.ci_high), "95 % t-interval of the mean over seeds"


def nonlinear_goal(values: list[float], budget: str) -> Claim:
    """Whether the final training cost is below :data:`GOAL` given the seed spread (a one-arm claim)."""
    interval, how = _seed_interval(values)
    s = summarize(values)
    verb = "below" if s.mean < GOAL else "not below"
    seeds = seeds_for_interval(s.mean - GOAL, s.std) if s.n >= 2 else None
    undecided = (
        f"about {max(seeds, s.n + 1)} seeds would put the interval clear of it ({s.n} run)"
        if seeds
        else "a second seed would show the spread"
    )
    return against(
        f"the non-linear fit's final training cost is {verb} {GOAL:g}",
        Arm("non-linear MLP", tuple(values), budget),
        GOAL,
        interval,
        how,
        statistic=f"final cost {s.mean:.3g} vs {GOAL:g}",
        undecided=undecided,
        percent=False,
    )


@dataclass(frozen=True)
class Pick:
    """One "which network" answer: the question, the arm with the lowest mean MSE, and its claim."""

    key: str  # full_test | small_test | small_data_alone
    question: str
    best: str
    claim: Claim
    numbers: str  # "best mean vs runner-up mean"

    @property
    def finding(self) -> Finding:
        return Finding(self.question, self.claim, self.numbers)


def lowest(key: str, question: str, arms: list[Arm], what: str) -> Pick | None:
    """The arm with the lowest mean ``what`` (an MSE) against the runner-up; None with fewer than two arms."""
    ranked = sorted((a for a in arms if a.values), key=lambda a: summarize(a.values).mean)
    if len(ranked) < 2:
        return None
    best, second = ranked[:2]
    claim = compare(f"{best.label} has the lowest {what}, ahead of {second.label}", best, second, unit="MSE")
    numbers = f"{summarize(best.values).mean:.3g} vs {summarize(second.values).mean:.3g}"
    return Pick(key, question, best.label, claim, numbers)


def bell_picks(summary: pd.DataFrame, small_archs: list[str], cv: dict[str, tuple[float, ...]]) -> dict[str, Pick]:
    """The three answers, kept apart: best on 1,000 points and on the small set knowing the function (test
    MSE on 10,000 fresh points), and the small-set choice from the data alone (k-fold CV MSE)."""

    def arms(data: str, values) -> list[Arm]:
        rows = summary[summary["data"] == data]
        if data == "small":
            rows = rows[rows["arch"].isin(small_archs)]
        return [Arm(row.arch, values(row), f"{row.epochs} epochs") for row in rows.itertuples()]

    small = summary[summary["data"] == "small"]
    n_small = int(small["n_train"].iloc[0]) if len(small) else 0
    cases = [
        (
            "full_test",
            "Which bell network fits best (1,000 points; test MSE, the true function known)?",
            arms("full", lambda row: row.test_values),
            "test MSE",
        ),
        (
            "small_test",
            f"With {n_small} points, knowing the true function: the smallest or the largest network?",
            arms("small", lambda row: row.test_values),
            "test MSE on 10,000 fresh points",
        ),
        (
            "small_data_alone",
            f"With {n_small} points, from the data alone: which network would be picked?",
            arms("small", lambda row: cv.get(row.arch, ())),
            f"cross-validation MSE on the {n_small} points",
        ),
    ]
    picks = {}
    for key, question, compared, what in cases:
        if (pick := lowest(key, question, compared, what)) is not None:
            picks[key] = pick
    return picks


def _fit_phrase(arch: str, row, noise_var: float) -> str:
    """Reads a training MSE against the noise variance: above it the net cannot follow the bell."""
    where = "above" if row.train.mean > noise_var else "below"
    meaning = "it underfits" if where == "above" else "it fits part of the noise"
    return f"{arch} ends with training MSE {row.train.mean:.2g}, {where} the noise variance {noise_var:.2g} ({meaning})"


def choice(picks: dict[str, Pick], summary: pd.DataFrame, small_archs: list[str], noise_var: float, folds: int) -> str:
    """The two small-data answers side by side, and why the test error favours the winner."""
    small = summary[summary["data"] == "small"].set_index("arch")
    true_fn, data_alone = picks.get("small_test"), picks.get("small_data_alone")
    if len(small) < 2 or true_fn is None:
        return "Only one network was trained on the small set; no choice to make."
    text = (
        f"**Knowing the true function: {true_fn.best}** (test MSE on 10,000 fresh points, {true_fn.numbers}; "
        f"*{true_fn.claim.status.value}*). "
    )
    if data_alone is not None:
        agree = "the same network" if data_alone.best == true_fn.best else "a different network"
        text += (
            f"**From the data alone: {data_alone.best}** ({folds}-fold cross-validation MSE on the "
            f"{int(small['n_train'].iloc[0])} points, {data_alone.numbers}; *{data_alone.claim.status.value}*): "
            f"{agree}. "
        )
    lo, hi = small_archs
    return text + f"Why: {_fit_phrase(lo, small.loc[lo], noise_var)}; {_fit_phrase(hi, small.loc[hi], noise_var)}."


def _noise_phrase(row, noise_var: float) -> str:
    """A final training MSE read against the noise floor: near it the network follows the bell, far above it cannot."""
    ratio = row.train.mean / noise_var
    meaning = "it follows the bell down to the noise" if ratio < 2 else "it does not follow the bell's shape yet"
    return f"ends at training MSE {row.train.mean:.2g} = {ratio:.1f}× the noise variance {noise_var:.2g} ({meaning})"


def _best_fit_answer(best: Pick, summary: pd.DataFrame, noise_var: float) -> str:
    """Why the best 1,000-point network wins, read against the noise floor (and the smallest network's)."""
    full = summary[summary["data"] == "full"].set_index("arch")
    row, smallest = full.loc[best.best], full.sort_values("params").iloc[0]
    why = f"{best.best}: the lowest test MSE ({best.numbers} for the runner-up); it {_noise_phrase(row, noise_var)}"
    if smallest.name != best.best:
        small_phrase = _noise_phrase(smallest, noise_var)
        why += f"; the smallest, {smallest.name} ({smallest.params:,} parameters), {small_phrase}"
    return why + "."


def questions(picks: dict[str, Pick], summary: pd.DataFrame, noise_var: float, folds: int) -> list:
    """studies.md's S5 questions, answered from the bell runs (each with its claim's status)."""
    items = []
    if (best := picks.get("full_test")) is not None:
        items.append(("Which bell network fits best, and why?", _best_fit_answer(best, summary, noise_var), best.claim))
    for key, question, how in (
        (
            "small_test",
            "With 50 points, which network is best when the true function is known?",
            "test MSE on 10,000 fresh points",
        ),
        (
            "small_data_alone",
            "With 50 points, which network would the data alone pick?",
            f"{folds}-fold cross-validation MSE on the training points",
        ),
    ):
        if (pick := picks.get(key)) is not None:
            items.append((question, f"{pick.best}, by {how} ({pick.numbers}).", pick.claim))
    return questions_block(items)
