"""Interactive curves for the HTML report: Vega-Lite specs built from per-seed records.

A PNG shows the mean and a band; a reader checking a claim wants the seeds behind it. These
charts draw every seed as a thin line under the mean, show the exact values on hover, and let
the reader hide series and seeds by clicking the legends. Vega-Lite is the grammar `dvc plots`
uses, so the same data reads the same way there. The specs are plain dicts: the page compiles
them offline with the vendored libraries (report/assets/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from annstudy.report import palette
from annstudy.report.document import Chart

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
DASHED = ("sigmoid",)  # a series whose label names one of these draws its mean dashed, as in the PNGs
MAX_POINTS = 100  # per seed and series: enough for the shape, small enough for a 3 MB page


def thin(frame: pd.DataFrame, x: str, keys: list[str], max_points: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th x of each (key...) group, the last one kept, so long runs stay light in the page."""
    steps = sorted(frame[x].unique())
    if len(steps) <= max_points:
        return frame
    stride = math.ceil(len(steps) / max_points)
    kept = set(steps[::stride]) | {steps[-1]}
    return frame[frame[x].isin(kept)].sort_values([*keys, x])


def _records(frame: pd.DataFrame) -> list[dict]:
    """JSON-ready rows: numpy scalars to Python, NaN (a diverged run) to null, 4 significant digits."""
    rows = []
    for row in frame.to_dict("records"):
        rows.append(
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else float(f"{v:.4g}"))
                if isinstance(v, float)
                else (v.item() if hasattr(v, "item") else v)
                for k, v in row.items()
            }
        )
    return rows


def seed_curves(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    series: str,
    title: str,
    x_title: str,
    y_title: str,
    log_y: bool = False,
    colors: dict[str, str] | None = None,
) -> dict:
    """One panel: a thin line per (series, seed), the mean over seeds on top, values on hover.

    ``frame`` holds one row per (series, seed, x) with the value in column ``y``. Clicking a
    colour in the legend keeps that series (shift-click adds more); clicking a dash keeps that
    seed. Empty selections show everything. ``colors`` maps a series to its hex colour (default:
    :func:`annstudy.report.palette.series_colors`, the PNGs' colours); a series named with an entry of
    :data:`DASHED` draws its mean dashed.
    """
    data = thin(frame[[series, "seed", x, y]].dropna(subset=[y]), x, [series, "seed"])
    data = data.rename(columns={series: "series", x: "x", y: "y"}).astype({"seed": str})
    data["style"] = ["dashed" if any(w in str(s).split() for w in DASHED) else "solid" for s in data["series"]]
    colors = colors or palette.series_colors(data["series"].unique())
    x_enc = {"field": "x", "type": "quantitative", "title": x_title}
    y_enc = {"field": "y", "type": "quantitative", "title": y_title, "scale": {"type": "log" if log_y else "linear"}}
    if not log_y:
        y_enc["scale"]["zero"] = False
    names = list(colors)
    colour = {
        "field": "series",
        "type": "nominal",
        "title": series,
        "scale": {"domain": names, "range": [colors[n] for n in names]},
    }
    shown = {"and": [{"param": "pick_series"}, {"param": "pick_seed"}]}
    return {
        "$schema": SCHEMA,
        "title": title,
        "width": "container",
        "height": 260,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "data": {"values": _records(data)},
        "encoding": {"x": x_enc, "y": y_enc, "color": colour},
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 1, "clip": True},
                "params": [
                    {"name": "pick_series", "select": {"type": "point", "fields": ["series"]}, "bind": "legend"},
                    {"name": "pick_seed", "select": {"type": "point", "fields": ["seed"]}, "bind": "legend"},
                ],
                "encoding": {
                    "detail": {"field": "seed"},
                    "strokeDash": {"field": "seed", "type": "nominal", "title": "seed"},
                    "opacity": {"condition": {"test": shown, "value": 0.55}, "value": 0.04},
                },
            },
            {
                "transform": [
                    {"filter": {"param": "pick_series"}},
                    {"aggregate": [{"op": "mean", "field": "y", "as": "y"}], "groupby": ["series", "style", "x"]},
                ],
                "mark": {"type": "line", "strokeWidth": 2.5, "clip": True},
                "encoding": {
                    "strokeDash": {
                        "field": "style",
                        "type": "nominal",
                        "scale": {"domain": ["solid", "dashed"], "range": [[1, 0], [7, 4]]},
                        "legend": None,
                    }
                },
            },
            {
                "transform": [{"filter": shown}],
                "mark": {"type": "point", "size": 14, "filled": True, "opacity": 0.5, "clip": True},
                "encoding": {
                    "tooltip": [
                        {"field": "series", "title": series},
                        {"field": "seed"},
                        {"field": "x", "title": x_title},
                        {"field": "y", "title": y_title, "format": ".4~g"},
                    ]
                },
            },
        ],
        "resolve": {"scale": {"strokeDash": "independent"}, "legend": {"strokeDash": "independent"}},
    }


@dataclass(frozen=True)
class Panel:
    """One chart of a study's curves: the record column, its name for people, its y scale."""

    metric: str
    name: str
    log_y: bool = False


def curve_charts(
    curves: dict[str, pd.DataFrame],
    *,
    x: str,
    series: str,
    panels: list[Panel],
    study: str,
    fallback: Path,
    caption: str,
) -> list[Chart]:
    """The HTML twin of a study's curve figure: one chart per panel over every run's seeds.

    ``curves`` maps a run's label (an architecture, a variant) to its per-seed curves;
    ``caption`` may name the panel as ``{name}``. Panels the records lack are left out.
    """
    frames = [frame.assign(**{series: label}) for label, frame in curves.items() if not frame.empty]
    if not frames:
        return []
    every = pd.concat(frames, ignore_index=True)
    return [
        Chart(
            seed_curves(
                every,
                x=x,
                y=p.metric,
                series=series,
                title=f"{study} {p.name}",
                x_title=x,
                y_title=p.name,
                log_y=p.log_y,
            ),
            fallback,
            caption.format(name=p.name),
        )
        for p in panels
        if p.metric in every
    ]
