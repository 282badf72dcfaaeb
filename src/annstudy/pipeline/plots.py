"""Every curve a DVC plot: the top-level ``plots:`` of dvc.yaml, derived from params.yaml.

The studies' curves already live in their stage records (annstudy/store/records.py): one TSV per
column under ``<out>/live/plots/metrics/<table>/<group>/``. DVC can overlay such files in
one plot (``y: {file: column}``), which is what `dvc plots show`, `dvc plots diff`, the VS
Code extension and Studio draw; but DVC's templating cannot turn a list of variants into
keys, so the definitions are written out here from the validated settings, as `annstudy
deps` does for code deps: ``python -m annstudy.pipeline.plots --write`` rewrites the section,
``--check`` (and a test) says when it is stale.

This module knows no study: each study declares its own plots in ``studies/<study>/plots.py``,
``definitions(settings) -> list`` (built with :func:`overlay` and :func:`record_tsv`), collected
here through the registry in report order; the report's figures close the list as one directory
of image plots.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from annstudy.params.settings import Settings, load_settings
from annstudy.store.records import live_dir
from annstudy.studies import STUDIES, study_part

FIGURES = "reports/figures"
HEADER = "# Every curve a DVC plot (annstudy/pipeline/plots.py; rewrite: python -m annstudy.pipeline.plots --write).\n"
LOSS, ACC = "cross-entropy", "accuracy"  # the y labels the studies share


def record_tsv(out: str, table: str, group: str, column: str) -> str:
    """The TSV of one column of one group of a record's table (annstudy/store/records.py) in stage out ``out``."""
    return f"{live_dir(out).as_posix()}/plots/metrics/{table}/{group}/{column}.tsv"


def overlay(title: str, files: dict[str, str], x_label: str, y_label: str) -> dict[str, Any]:
    """One plot, one line per file (``file -> column``), over dvclive's ``step`` column."""
    return {title: {"x": "step", "y": files, "title": title, "x_label": x_label, "y_label": y_label}}


def plot_definitions(settings: Settings) -> list[dict[str, Any]]:
    """The whole top-level ``plots:`` list: each study's (its plots.py), in report order, then the report's figures."""
    plots = [plot for study in STUDIES for plot in study_part(study, "plots").definitions(settings)]
    return [*plots, {FIGURES: None}]


def section_text(settings: Settings) -> str:
    """The section as `annstudy deps --write` (ruamel, annstudy/pipeline/codedeps.py) lays dvc.yaml out."""
    writer = YAML()
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = 4096
    body = io.StringIO()
    writer.dump({"plots": plot_definitions(settings)}, body)
    return HEADER + body.getvalue()


def split_dvc_yaml(text: str) -> tuple[str, str]:
    """(everything before the top-level plots section and its comment, the section)."""
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("plots:"))
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    return "".join(lines[:start]), "".join(lines[start:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annstudy.pipeline.plots", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the plots section of dvc.yaml")
    parser.add_argument("--dvc-yaml", default="dvc.yaml")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    path = Path(args.dvc_yaml)
    head, current = split_dvc_yaml(path.read_text())
    wanted = section_text(load_settings(args.params))
    if args.write:
        path.write_text(head + wanted)
        print(f"{path}: plots section written ({len(plot_definitions(load_settings(args.params)))} plots)")
        return 0
    if current != wanted:
        print(f"{path}: the plots section is stale; run python -m annstudy.pipeline.plots --write", file=sys.stderr)
        return 1
    print(f"{path}: the plots section matches params")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
