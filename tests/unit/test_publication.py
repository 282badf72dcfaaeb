"""`annstudy publish`: a finished report copied into docs/results/<profile>/ with the page that says how it was made."""

import json

import pytest

from annstudy.cli import main
from annstudy.report.publication import publish, run_page, run_record


def _finished_reports(tmp_path):
    reports = tmp_path / "reports"
    (reports / "figures").mkdir(parents=True)
    (reports / "figures" / "a.png").write_bytes(b"png")
    for name in ("report.html", "report.md"):
        (reports / name).write_text(name)
    (reports / "metrics.json").write_text('{"s1": {"acc": 0.9}}')
    steps = {"prepare": {"prepare@fashion_mnist": 1.5}, "architectures": {"a (train)": 90.0, "a (evaluate)": 30.0}}
    run = run_record("converged", "abc123", "cpu (test)", steps | {"report": {"report": 20.0}})
    (reports / "run.json").write_text(json.dumps(run))
    return reports


def test_the_run_record_sums_each_study_and_the_page_states_command_commit_machine(tmp_path):
    run = json.loads((_finished_reports(tmp_path) / "run.json").read_text())
    assert run["study_seconds"] == {"prepare": 1.5, "architectures": 120.0, "report": 20.0}
    page = run_page(run, "dvc exp run -S profile=converged", 3600.0)
    assert "- command: `dvc exp run -S profile=converged`" in page and "commit `abc123`" in page
    assert "- machine: cpu (test)" in page and "60.0 min from an empty cache" in page
    assert "| architectures | 2.0 min |" in page and "the stages' records sum to 2.4 min" in page


def test_publish_copies_the_report_into_the_profiles_folder(tmp_path, monkeypatch, capsys):
    reports = _finished_reports(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["publish", "--command", "make converged", "--wall", "7200"]) == 0
    dest = tmp_path / "docs/results/converged"
    assert capsys.readouterr().out == "published docs/results/converged\n"
    assert sorted(p.name for p in dest.iterdir()) == [
        "RUN.md",
        "figures",
        "metrics.json",
        "report.html",
        "report.md",
        "run.json",
    ]
    assert (dest / "figures/a.png").read_bytes() == b"png"
    assert "120.0 min from an empty cache" in (dest / "RUN.md").read_text()
    (reports / "run.json").unlink()
    with pytest.raises(FileNotFoundError, match="no run.json; run the pipeline"):
        publish(reports, dest, "x")
