"""Report statistics (t-intervals, Welch tests and the Holm correction against scipy) and the run header."""

from __future__ import annotations

import math

import pytest
from scipy import stats as sps

from annstudy.report.stats import holm, pairwise, summarize, welch_p


def test_summary_mean_std_and_t_interval():
    s = summarize([0.8, 0.82, 0.84])
    assert s.n == 3 and s.mean == pytest.approx(0.82) and s.std == pytest.approx(0.02)
    half = sps.t.ppf(0.975, 2) * 0.02 / math.sqrt(3)
    assert (s.ci_low, s.ci_high) == (pytest.approx(0.82 - half), pytest.approx(0.82 + half))
    one = summarize([0.5])
    assert (one.std, one.ci_low, one.ci_high) == (0.0, 0.5, 0.5) and one.fmt_ci() == "n/a (1 seed)"


def test_holm_matches_the_textbook_example():
    # p = (0.01, 0.04, 0.03, 0.005): sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> monotone max
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])


def test_welch_and_pairwise():
    a, b, c = [0.90, 0.91, 0.92, 0.905], [0.80, 0.81, 0.79, 0.805], [0.899, 0.912, 0.918, 0.903]
    assert welch_p(a, b) == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert welch_p([0.5], b) == 1.0
    result = {(r.a, r.b): r for r in pairwise({"a": a, "b": b, "c": c})}
    assert result[("a", "b")].significant and result[("a", "b")].diff == pytest.approx(0.1075)
    assert not result[("a", "c")].significant
    assert all(r.p_adjusted >= r.p for r in result.values())


def test_report_code_label_flags_code_changes_only(tmp_path, monkeypatch):
    """dvc.lock and outputs always change during ``dvc repro``; only code makes the label dirty."""
    import subprocess

    from annstudy.report.render import _git_commit

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text("x = 1\n")
    (tmp_path / "dvc.lock").write_text("a\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    head = git("rev-parse", "--short=12", "HEAD").strip()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dvc.lock").write_text("b\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "new.md").write_text("untracked output\n")
    assert _git_commit() == head
    (tmp_path / "src" / "model.py").write_text("x = 2\n")
    assert _git_commit() == f"{head} + uncommitted code changes"


def test_welch_on_arms_constant_up_to_rounding_is_decided_without_scipy_warnings():
    import warnings

    from annstudy.report.stats import welch_p

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's "Precision loss" would fail here
        assert welch_p([0.1, 0.1, 0.1000000000001], [0.1, 0.1000000000001, 0.1]) == 1.0
        assert welch_p([0.1, 0.1, 0.1], [0.2, 0.2, 0.2000000000001]) == 0.0
        assert 0.0 < welch_p([0.1, 0.12, 0.11], [0.1, 0.1, 0.1]) < 1.0


def test_seeds_needed_is_the_exact_t_test_sample_size():
    """Cohen's classic table (two-sided alpha 0.05, power 0.8): d = 0.5 needs 64 per arm, d = 0.8 26, d = 1 17."""
    from annstudy.report.stats import seeds_needed

    assert [seeds_needed(d, 1.0) for d in (0.5, 0.8, 1.0)] == [64, 26, 17]
    assert seeds_needed(0.5, 1.0, alpha=0.05 / 5) > 64  # a family's adjusted level needs more
    assert seeds_needed(0.0, 1.0) is None and seeds_needed(0.1, 0.0) == 2
