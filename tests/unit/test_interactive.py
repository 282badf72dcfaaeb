"""Interactive charts: the Vega-Lite spec carries every seed, thinned; the page carries the libraries once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from annstudy.report import figures, palette
from annstudy.report.document import Chart, Document, Figure
from annstudy.report.html_page import to_html
from annstudy.report.interactive import MAX_POINTS, seed_curves, thin
from annstudy.report.markdown import to_markdown


def _frame(steps: int) -> pd.DataFrame:
    rows = [
        {"arch": arch, "seed": seed, "step": 10 * t, "val_acc": 0.5 + 0.001 * t + 0.01 * seed}
        for arch in ("mlp_1", "cnn_4")
        for seed in range(3)
        for t in range(steps)
    ]
    return pd.DataFrame(rows)


def _spec(frame: pd.DataFrame) -> dict:
    return seed_curves(frame, x="step", y="val_acc", series="arch", title="t", x_title="step", y_title="acc")


def test_spec_has_one_row_per_series_seed_and_step():
    spec = _spec(_frame(20))
    values = spec["data"]["values"]
    assert len(values) == 2 * 3 * 20
    assert {v["series"] for v in values} == {"mlp_1", "cnn_4"} and {v["seed"] for v in values} == {"0", "1", "2"}
    assert values[0] == {"series": "mlp_1", "seed": "0", "x": 0, "y": 0.5, "style": "solid"}
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "line", "point"]
    assert {p["name"] for p in spec["layer"][0]["params"]} == {"pick_series", "pick_seed"}
    json.dumps(spec, allow_nan=False)  # strict JSON: what the browser parses


def test_series_take_the_png_colours_and_sigmoid_means_are_dashed():
    """One palette (report/palette.py): an architecture's colour in the chart is its colour in every PNG."""
    frame = _frame(3)
    frame["arch"] = frame["arch"] + np.where(frame["seed"] == 0, " relu", " sigmoid")  # 2 archs x 2 activations
    spec = _spec(frame)
    scale = spec["encoding"]["color"]["scale"]
    colours = dict(zip(scale["domain"], scale["range"]))
    archs = palette.arch_colors()
    assert colours == {
        "mlp_1 relu": archs["mlp_1"],
        "mlp_1 sigmoid": archs["mlp_1"],
        "cnn_4 relu": archs["cnn_4"],
        "cnn_4 sigmoid": archs["cnn_4"],
    }
    assert archs["mlp_1"] == figures.arch_colors()["mlp_1"] == "#0072B2" and archs["cnn_4"] == "#CC79A7"
    styles = {(v["series"], v["style"]) for v in spec["data"]["values"]}
    assert styles == {
        ("mlp_1 relu", "solid"),
        ("mlp_1 sigmoid", "dashed"),
        ("cnn_4 relu", "solid"),
        ("cnn_4 sigmoid", "dashed"),
    }
    assert spec["layer"][1]["encoding"]["strokeDash"]["scale"]["range"] == [[1, 0], [7, 4]]
    rates = palette.series_colors(["SGD lr 0.1", "SGD lr 0.01", "Adam"])  # not architectures: by order
    assert list(rates.values()) == list(palette.CYCLE[:3])


def test_long_runs_are_thinned_keeping_the_last_step():
    frame = _frame(1_000)
    kept = thin(frame, "step", ["arch", "seed"])
    steps = sorted(kept["step"].unique())
    assert len(steps) <= MAX_POINTS + 1 and steps[0] == 0 and steps[-1] == 9_990
    assert len(kept) == 2 * 3 * len(steps)


def test_nan_becomes_null_so_a_diverged_seed_stays_valid_json():
    frame = _frame(5)
    frame.loc[3, "val_acc"] = np.inf
    values = _spec(frame)["data"]["values"]
    assert sum(v["y"] is None for v in values) == 1


def test_markdown_shows_the_png_and_html_embeds_spec_and_libraries_once(tmp_path):
    doc = Document("t")
    spec = _spec(_frame(4))
    doc.add(Chart(spec, Path("curves.png"), "Validation accuracy"), Chart(spec, Path("curves.png"), "again"))
    md = to_markdown(doc)
    assert "![Validation accuracy](curves.png)" in md and "interactive in report.html" in md
    page = to_html(doc, tmp_path)
    assert page.count('class="chart"') == 2 and 'id="figure-2"' in page
    assert page.count("vegaLite.compile") == 1 and page.count('"use strict";var n="5.23.0"') == 1
    embedded = re.findall(r'<script type="application/json" class="vega-spec">(.*?)</script>', page)
    assert [json.loads(e)["data"]["values"] for e in embedded] == [spec["data"]["values"]] * 2


def test_a_page_without_charts_carries_no_javascript_library(tmp_path):
    from PIL import Image

    Image.new("RGB", (4, 4)).save(tmp_path / "f.png")
    page = to_html(Document("t", [Figure(Path("f.png"), "a figure")]), tmp_path)
    assert "vegaLite" not in page and len(page) < 20_000


def test_spec_text_cannot_close_its_script_tag(tmp_path):
    frame = _frame(2).assign(arch="</script><b>")
    page = to_html(Document("t", [Chart(_spec(frame), Path("c.png"), "c")]), tmp_path)
    assert "</script><b>" not in page
