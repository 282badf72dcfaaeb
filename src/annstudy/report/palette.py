"""The report's colours: one per architecture and one per compared run, in PNGs and Vega charts alike.

Why one module: a reader matches ``cnn_4`` in S1's panel, S2's curves and the interactive charts
by its colour, so matplotlib (``report/figures.py``) and Vega-Lite (``report/interactive.py``)
read the same hex values from here instead of each picking a palette. The colours are Okabe &
Ito's colour-blind-safe set, extended by a few dark tones for the seven architectures; every
one has enough contrast on white and on the dark page (#121212) to be told apart.
"""

from __future__ import annotations

from typing import Iterable

from annstudy.models.zoo import ARCHITECTURES

# Okabe & Ito without black (invisible on the dark page) and with its yellow last (faint on white), then
# darker tones for more series
CYCLE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#8C6D31",  # brown
    "#7F7F7F",  # gray
    "#6A3D9A",  # purple
    "#1B7837",  # dark green
    "#B2182B",  # dark red
    "#F0E442",  # yellow
)
ACTIVATION_COLORS = {"relu": CYCLE[0], "sigmoid": CYCLE[5]}  # S2's depth figure: one colour per activation


def color(i: int) -> str:
    """The ``i``-th colour of the cycle (wrapping)."""
    return CYCLE[i % len(CYCLE)]


def arch_colors() -> dict[str, str]:
    """Every registered architecture's colour, fixed by the registry's order (not by a run's selection)."""
    return {name: color(i) for i, name in enumerate(ARCHITECTURES)}


def ordered_colors(names: Iterable[str]) -> dict[str, str]:
    """One colour per name in the given order (S3's rates, a sweep's values): the first gets the first colour."""
    return {name: color(i) for i, name in enumerate(dict.fromkeys(names))}


def series_colors(labels: Iterable[str]) -> dict[str, str]:
    """A colour per chart series: an architecture's own (``"cnn_4"``, ``"cnn_4 sigmoid"``), else by order.

    S2 labels a series ``<arch> <activation>``: both activations of one architecture share its colour
    (the PNG tells them apart by line style, the chart by name in the legend).
    """
    labels = list(dict.fromkeys(labels))
    archs = arch_colors()
    first = [label.split(" ")[0] for label in labels]
    if all(name in archs for name in first):
        return {label: archs[name] for label, name in zip(labels, first)}
    return ordered_colors(labels)
