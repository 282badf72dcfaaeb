"""Every curve a DVC plot: dvc.yaml's top-level `plots:` matches params.yaml, study by study."""

from __future__ import annotations

from collections import Counter

import yaml

from annstudy.params.settings import load_settings
from annstudy.pipeline.plots import FIGURES, main, plot_definitions
from annstudy.studies import STUDIES, study_part
from annstudy.studies.architectures.plots import CONFUSION, confusion_rows
from conftest import ROOT

# Plots per study for the committed params (S1: 4 curves + the confusion matrix; S4: one per sweep axis).
PER_STUDY = {"S1": 5, "S2": 2, "S3": 2, "S4": 5, "S5": 2, "S6": 3, "S7": 1}


def study_of(plot_id: str) -> str:
    if plot_id == FIGURES:
        return "figures"
    if plot_id.startswith("reports/plots/"):
        return "S1"
    return plot_id.split()[0]


def test_committed_plots_section_matches_params(capsys):
    assert main(["--dvc-yaml", str(ROOT / "dvc.yaml"), "--params", str(ROOT / "params.yaml")]) == 0


def test_one_plot_per_curve_family_with_titles_and_axis_labels():
    plots = yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]
    ids = [next(iter(p)) for p in plots]
    counts = Counter(study_of(i) for i in ids)
    assert counts == {**PER_STUDY, "figures": 1}
    for plot_id, p in zip(ids, plots):
        props = p[plot_id]
        if plot_id != FIGURES:
            assert {"title", "x_label", "y_label"} <= set(props), plot_id
    assert plots[ids.index(CONFUSION)][CONFUSION]["template"] == "confusion"


def test_overlays_list_every_configured_variant():
    settings = load_settings(ROOT / "params.yaml")
    plots = {next(iter(p)): next(iter(p.values())) for p in plot_definitions(settings)}
    assert len(plots["S2 training loss per activation"]["y"]) == 5 * 2  # 5 architectures x ReLU/sigmoid
    assert len(plots["S3 training loss per learning rate"]["y"]) == 3 + 2  # 3 constant rates, scheduled, Adam
    assert len(plots["S4 validation accuracy, sweep of optimizer"]["y"]) == 1 + 7  # base + 7 optimizers
    assert len(plots["S5 2D bell: training MSE per architecture (full data)"]["y"]) == 5


def test_confusion_rows_reproduce_the_matrix():
    matrix = [[3, 1, 0], [0, 2, 0], [2, 0, 4]]
    rows = confusion_rows(matrix, ["a", "b", "c"])
    assert len(rows) == 12
    assert Counter(rows) == {("a", "a"): 3, ("a", "b"): 1, ("b", "b"): 2, ("c", "a"): 2, ("c", "c"): 4}


def test_each_study_declares_its_own_plots_and_the_collector_names_none():
    """Adding a study never edits annstudy/pipeline/plots.py: it collects studies/<study>/plots.py in report order."""
    settings = load_settings(ROOT / "params.yaml")
    own = [next(iter(p)) for study in STUDIES for p in study_part(study, "plots").definitions(settings)]
    assert [next(iter(p)) for p in plot_definitions(settings)] == [*own, FIGURES]
    source = (ROOT / "src/annstudy/pipeline/plots.py").read_text()
    assert [study for study in STUDIES if study in source] == []
