"""S1's numbers as statements with a status: which architecture to pick, CNN vs MLP, the exercise's bar.

Every choice goes through the validation rule (annstudy/studies/architectures/selection.py); test
accuracy only reports the chosen architecture, in a claim (annstudy/report/claims.py).
"""

from __future__ import annotations

from annstudy.report.claims import Claim, Family
from annstudy.report.comparisons import accuracy_bar, compare
from annstudy.report.document import Table
from annstudy.report.section import Finding
from annstudy.report.stats import Comparison, pairwise, pct
from annstudy.studies.architectures.references import BARS
from annstudy.studies.architectures.results import ArchResult, chosen_architecture, is_cnn

PICK = "Which architecture to pick (chosen on validation)?"
CNN_VS_MLP = "How does the CNN compare with the MLP?"
MATRIX = "all pairs of architectures"


def matrix_compare(statement: str, a: ArchResult, b: ArchResult, comparisons: list[Comparison], classes: int) -> Claim:
    """``a`` against ``b`` on test accuracy with the matrix's Holm-adjusted p: every S1 sentence comparing two
    architectures belongs to the one family of all pairs, so it cites the p the matrix shows."""
    pair = next((c for c in comparisons if {c.a, c.b} == {a.arch, b.arch}), None)
    if pair is None:  # not in the matrix (fewer than 2 architectures with data): a family of one
        return compare(statement, a.arm(classes), b.arm(classes))
    family = Family(len(comparisons), MATRIX)
    return compare(statement, a.arm(classes), b.arm(classes), p=pair.p_adjusted, family=family)


def better_matrix(results: list[ArchResult], alpha: float = 0.05) -> tuple[Table, list[Comparison]]:
    """'Is the row better than the column?' from Welch tests on per-seed test accuracy, Holm-corrected."""
    groups = {r.arch: list(r.healthy["test_acc"]) for r in results if r.test.n > 0}  # all-diverged: no data
    budgets = {r.arch: r.budget for r in results}
    comparisons = pairwise(groups, alpha)
    lookup = {(c.a, c.b): c for c in comparisons}
    rows = []
    for a in groups:
        row = [a]
        for b in groups:
            if a == b:
                row.append("—")
                continue
            c = lookup.get((a, b))
            diff, q = (c.diff, c.p_adjusted) if c else (-lookup[(b, a)].diff, lookup[(b, a)].p_adjusted)
            mark = ("▲" if diff > 0 else "▼") if q < alpha else "≈"
            if budgets[a] != budgets[b]:
                mark = "‡"  # unequal budgets: not a comparison of the architectures alone
            row.append(f"{mark} {diff * 100:+.1f} (p={q:.2g})")
        rows.append(row)
    caption = (
        f"Row vs column: difference of mean test accuracy in percentage points; ▲ row better / ▼ row "
        f"worse where the Holm-adjusted Welch p < {alpha:g} (family: all {len(comparisons)} pairs), "
        "≈ where not shown to differ; ‡ *confounded*: the two had different budgets (fixed epochs that differ; "
        "one early-stopping rule under one maximum is one budget)."
    )
    return Table(["row vs column", *groups], rows, caption=caption), comparisons


def _best_claim(results: list[ArchResult], comparisons: list[Comparison], classes: int = 10) -> Claim | str:
    """The architecture chosen on validation against the validation runner-up, tested on test accuracy."""
    trained = [r for r in results if r.test.n > 0]
    if not trained:
        return "Every seed of every architecture diverged: nothing to compare."
    if len(trained) < 2:
        alone = "was trained" if len(results) == 1 else "has seeds that did not diverge"
        return f"Only {trained[0].arch} {alone}."
    best = chosen_architecture(trained)
    second = chosen_architecture([r for r in trained if r is not best])
    ahead = "ahead of" if best.test.mean >= second.test.mean else "behind"
    return matrix_compare(
        f"{best.arch} (highest validation accuracy, {pct(best.val_mean)}) is {ahead} the validation runner-up "
        f"{second.arch} on test",
        best,
        second,
        comparisons,
        classes,
    )


def _cnn_vs_mlp(trained: list[ArchResult], comparisons: list[Comparison], classes: int) -> list[Finding]:
    """The best CNN against the best MLP (both chosen on validation), and at a matched budget where one exists."""
    cnns = [r for r in trained if is_cnn(r.arch)]
    mlps = [r for r in trained if not is_cnn(r.arch)]
    if not (cnns and mlps):
        return []
    pairs = [(chosen_architecture(cnns), chosen_architecture(mlps))]
    if pairs[0][0].budget != pairs[0][1].budget:  # also at a matched budget, where one exists
        mlp = pairs[0][1]
        matched = [r for r in cnns if r.budget == mlp.budget]
        if matched:
            pairs.append((chosen_architecture(matched), mlp))
    found = []
    for cnn, mlp in pairs:
        better = "beats" if cnn.test.mean >= mlp.test.mean else "trails"
        equal = cnn.budget == mlp.budget
        claim = matrix_compare(
            f"the best CNN on validation{f' at {cnn.budget}' if equal and len(pairs) > 1 else ''}, {cnn.arch}, "
            f"{better} the best MLP, {mlp.arch}, on test",
            cnn,
            mlp,
            comparisons,
            classes,
        )
        diff = (cnn.test.mean - mlp.test.mean) * 100
        found.append(Finding(CNN_VS_MLP, claim, f"{diff:+.1f} points"))
    return found


def claims(results: list[ArchResult], comparisons: list[Comparison], classes: int, n_test: int) -> list[Finding]:
    """The S1 findings: which to pick (validation), CNN vs MLP, and whether the pick meets the exercise's bar."""
    found = []
    best = _best_claim(results, comparisons, classes)
    trained = [r for r in results if r.test.n > 0]
    if isinstance(best, Claim):
        chosen = chosen_architecture(trained)
        acc = chosen.accuracy(n_test)
        found.append(Finding(PICK, best, acc.fmt()))
        kind = "cnn" if is_cnn(chosen.arch) else "mlp"
        what = f"the exercise's bar for {'an MLP' if kind == 'mlp' else 'a CNN'}"
        bar = accuracy_bar(chosen.arch, acc, BARS[kind], chosen.budget, classes, what)
        found.append(
            Finding("Does the chosen network meet the exercise's bar?", bar, f"{acc.fmt()} vs {pct(BARS[kind])}")
        )
    return found + _cnn_vs_mlp(trained, comparisons, classes)
