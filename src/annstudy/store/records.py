"""The one record format: every stage's numbers go through dvclive and come back through here.

A stage writes ONE dvclive directory, ``<out>/live/``, inside its declared DVC out:

``live/metrics.json``
    the dvclive summary: the stage's final numbers (per seed where there are seeds) and its
    ``wall_seconds``. Not dvclive's "latest value" of every step metric: that is the last
    row of a table, which the table already holds.
``live/plots/metrics/<table>/<key>=<value>/<column>.tsv``
    step metrics (``step<TAB><column>``), one file per column and group of rows: per-seed
    curves are ``curves/seed=0/train_loss.tsv``; curves averaged over seeds are
    ``curves/mean/train_loss.tsv`` (a table without keys).
``live/params.yaml``
    the layout of each table (step column, key columns, column order, groups in order),
    so a table reads back as the very frame that was logged.
``live/timing.json``
    the clock: every summary field named in :data:`TIMING_KEYS` (``wall_seconds``,
    ``train_seconds``, ``samples_per_second``, ``gflop_per_second``, ``seconds``), at its place in the summary, whose
    ``metrics.json`` holds ``null`` there instead. ``.dvcignore`` hides this file from DVC.

Byte-stable: no timestamps, no report, no dvc.yaml, no experiment, no git, no clock in a hashed
file: identical input writes identical bytes, so a forced or resumed stage leaves its out's
hash, and the stages downstream, as they were. The clock lives in ``timing.json``, which DVC
neither hashes nor caches: a stage whose out DVC restores from its cache did not run, and reads
back as having taken 0 s (``samples_per_second`` None). Floats are written by the csv
and json modules with ``repr`` and read back by pandas (>= 3: its default parser is exact), so they
round-trip exactly. Tables round floats to 6 significant digits when logged, the
precision of the hand-made TSVs they replace (``%.6g``), so the report's numbers stay
bit-identical; summaries keep full precision.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import pandas as pd
from dvclive import Live
from dvclive.serialize import load_yaml

from annstudy.store.artifacts import atomic_dir, read_json

LIVE = "live"
TIMING = "timing.json"
TIMING_KEYS = frozenset({"wall_seconds", "train_seconds", "samples_per_second", "gflop_per_second", "seconds"})
_X = "__dvclive_step__"
TABLE_DIGITS = 6  # significant digits of a logged table float (the old TSVs' %.6g)


def live_dir(out: str | Path) -> Path:
    """Where the record of the stage whose out is ``out`` lives."""
    return Path(out) / LIVE


class _OfflineLive(Live):
    """dvclive's logger without its repository hooks.

    ``Live.__init__`` opens the DVC repo around the working directory and, in a git repo
    without one, *runs* ``dvc init`` (dvclive.dvc.get_dvc_repo); it reads git's HEAD and may
    post to DVC Studio when a token is configured. A stage needs none of that: its record is
    a plain out of its DVC stage. These hooks are all ``Live`` does with a repository
    when ``end()``/``next_step()`` are not called (this module never calls them; it writes the
    summary with ``make_summary``), so nothing outside ``<out>/live`` is touched.
    """

    def _init_dvc(self) -> None:
        self._dvc_repo = None

    def _init_test(self) -> None:
        """``DVCLIVE_TEST=true`` would move the record to a temporary directory; it belongs in the out."""
        self._dvc_repo = None

    def _init_studio(self) -> None:
        self._studio_events_to_skip.update({"start", "data", "done"})


def open_live(directory: str | Path, report: str | None = None) -> Live:
    """A dvclive logger writing into ``directory`` and nowhere else (no dvc.yaml, no experiment).

    ``resume=False``: dvclive first removes what an earlier logger left there (plots, summary,
    params), so a record never mixes two runs. ``report="html"`` (the live progress of a stage,
    engine/progress.py) adds dvclive's self-reloading report.html; a record has none.
    """
    return _OfflineLive(str(directory), dvcyaml=False, save_dvc_exp=False, report=report, resume=False)


@contextlib.contextmanager
def recording(out: str | Path, started: float | None = None) -> Iterator[Live]:
    """Open the record of ``out``; on exit write its summary (with the wall time since ``started``)."""
    live = open_live(live_dir(out))
    yield live
    if started is not None:
        live.summary["wall_seconds"] = round(time.perf_counter() - started, 3)
    _write_summary(live, live_dir(out))


def _write_summary(live: Live, directory: Path) -> None:
    """The summary without its clock (``metrics.json``, hashed by DVC) and the clock alone (``timing.json``)."""
    live.summary, timing = split_timing(live.summary)
    live.make_summary()
    (directory / TIMING).write_text(json.dumps(timing or {}, indent=2) + "\n")


def split_timing(value: Any) -> tuple[Any, Any]:
    """``value`` without its clock, and the clock alone: ``(stable, timing)``.

    ``stable`` is ``value`` with every field of :data:`TIMING_KEYS` set to None, at any depth;
    ``timing`` holds those fields at the same place (a list's items under their index), or is
    None when there are none. :func:`merge_timing` puts them back.
    """
    if isinstance(value, dict):
        stable, timing = {}, {}
        for key, item in value.items():
            if key in TIMING_KEYS:
                stable[key], timing[key] = None, item
            else:
                stable[key], inner = split_timing(item)
                if inner is not None:
                    timing[key] = inner
        return stable, timing or None
    if isinstance(value, list):
        pairs = [split_timing(item) for item in value]
        timing = {str(i): inner for i, (_, inner) in enumerate(pairs) if inner is not None}
        return [stable for stable, _ in pairs], timing or None
    return value, None


def merge_timing(stable: Any, timing: Any) -> Any:
    """``stable`` with the clock of ``timing`` put back; None (no timing.json): 0 s, no throughput."""
    if isinstance(stable, dict):
        timing = timing or {}
        merged = {}
        for key, item in stable.items():
            if key in TIMING_KEYS and item is None:
                merged[key] = timing.get(key, 0.0 if key.endswith("seconds") else None)
            else:
                merged[key] = merge_timing(item, timing.get(key))
        return merged
    if isinstance(stable, list):
        timing = timing or {}
        return [merge_timing(item, timing.get(str(i))) for i, item in enumerate(stable)]
    return stable


def _scalar(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _cell(value: Any, float_column: bool) -> Any:
    """A table cell as the old TSVs stored it (pandas ``to_csv(float_format="%.6g")``).

    Cells of float columns to 6 significant digits; other cells as they are (pandas applied
    the format to float columns only), a missing one (None) as NaN (it read back as NaN).
    """
    value = _scalar(value)
    if value is None:
        return math.nan
    if float_column and isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{TABLE_DIGITS}g}")
    return value


def _group_path(table: str, keys: Sequence[str], group: Sequence[Any]) -> str:
    parts = [f"{k}={v}" for k, v in zip(keys, group)] if keys else ["mean"]
    return "/".join([table, *parts])


def log_table(live: Live, table: str, frame: pd.DataFrame, keys: Sequence[str] = (), step: str = "step") -> None:
    """Log ``frame`` as step metrics: one group of rows per value of ``keys``, dvclive step = ``frame[step]``.

    ``keys=()`` logs a table of one group (a curve averaged over seeds: ``<table>/mean/...``).
    Within a group the step must be unique: it is the x of every metric.
    """
    keys = list(keys)
    values = [c for c in frame.columns if c not in keys and c != step]
    if "step" in values:  # dvclive's history files name their x "step": a metric of that name is overwritten
        raise ValueError(f"table {table!r}: log it with step='step' (a 'step' column cannot be a metric)")
    summary = live.summary  # log_metric replaces live.summary by an updated copy (funcy.set_in)
    float_columns = {c for c in values if frame[c].dtype.kind == "f"}
    if frame.empty:
        groups = []
    else:
        groups = list(dict.fromkeys(map(tuple, frame[keys].itertuples(index=False)))) if keys else [()]
    for group in groups:
        rows = frame if not keys else frame[(frame[keys] == pd.Series(group, index=keys)).all(axis=1)]
        if rows[step].duplicated().any():
            raise ValueError(f"table {table!r}: step column {step!r} repeats within group {group}")
        prefix = _group_path(table, keys, group)
        for cells in rows.to_dict("records"):
            live.step = int(cells[step])
            for column in values:
                live.log_metric(f"{prefix}/{column}", _cell(cells[column], column in float_columns))
    live.summary, live.step = summary, None  # the summary holds final numbers, not each table's last row
    layout = {
        "step": step,
        "keys": keys,
        "columns": list(frame.columns),
        "groups": [[_scalar(v) for v in g] for g in groups],
    }
    live.log_param(f"table/{table}", layout)


def log_mean(
    live: Live,
    table: str,
    frame: pd.DataFrame,
    by: Sequence[str] = (),
    step: str = "step",
    over: Sequence[str] = ("seed",),
) -> None:
    """Log ``<table>_mean``: every numeric column of ``frame`` averaged over ``over`` (the seeds) at each step.

    ``by`` keeps groups apart (S4's variants, S7's two implementations); a diverged seed counts
    while it lasted, as in the per-seed table.
    """
    by, over = list(by), list(over)
    metrics = [c for c in frame.columns if c not in (*by, step, *over) and frame[c].dtype.kind in "fi"]
    if frame.empty:
        log_table(live, f"{table}_mean", pd.DataFrame(columns=[*by, step, *metrics]), keys=by, step=step)
        return
    mean = frame.groupby([*by, step], as_index=False, sort=False)[metrics].mean()
    log_table(live, f"{table}_mean", mean, keys=by, step=step)


def log_summary(live: Live, values: dict) -> None:
    """Put a stage's final numbers into its summary (``metrics.json``), at full precision."""
    live.summary.update(values)


@dataclass(frozen=True)
class Record:
    """One stage's record read back: its summary and the layout of its tables."""

    directory: Path
    summary: dict
    layout: dict

    @property
    def wall_seconds(self) -> float:
        return float(self.summary.get("wall_seconds") or 0.0)

    def table(self, name: str) -> pd.DataFrame:
        """The frame that was logged as ``name`` (columns, row order and dtypes as logged)."""
        spec = self.layout[f"table/{name}"]
        frames = [self._group(name, spec, group) for group in spec["groups"]]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame(columns=spec["columns"])
        return pd.concat(frames, ignore_index=True)[spec["columns"]]

    def _group(self, name: str, spec: dict, group: list) -> pd.DataFrame:
        folder = self.directory / "plots" / "metrics" / _group_path(name, spec["keys"], group)
        frame = None
        for column in (c for c in spec["columns"] if c not in spec["keys"] and c != spec["step"]):
            path = folder / f"{column}.tsv"
            if not path.is_file():
                continue
            # dvclive's header is step<TAB><column>; name the step apart (a table may log a "step" column too)
            part = pd.read_csv(path, sep="\t", header=0, names=[_X, column])
            frame = part if frame is None else frame.merge(part, on=_X, how="outer", sort=True)
        if frame is None:
            return pd.DataFrame()
        frame = frame.rename(columns={_X: spec["step"]})
        for key, value in zip(spec["keys"], group):
            frame[key] = value
        return frame


def prepare_record_dir(out: str | Path) -> Path:
    """Where a prepare stage's record lives: beside its data (``<out>.live``), a second out of the stage.

    Not inside the data: the record holds the wall time, which differs on every run, and a
    prepared dataset's hash must stay the same when a rerun prepares the same bytes, so that
    no training stage downstream reruns.
    """
    out = Path(out)
    return out.with_name(f"{out.name}.live")


def record_prepare(out: str | Path, stage: str, started: float) -> Path:
    """Write the record of the prepare stage ``stage`` whose data is ``out``: its name and wall time."""
    directory = prepare_record_dir(out)
    with atomic_dir(directory) as tmp:
        live = open_live(tmp)
        log_summary(live, {"stage": stage, "wall_seconds": round(time.perf_counter() - started, 3)})
        _write_summary(live, Path(tmp))
    return directory


def read_prepare(out: str | Path) -> Record | None:
    """The record of the prepare stage whose data is ``out`` (None before that stage has run)."""
    directory = prepare_record_dir(out)
    return _read(directory) if (directory / "metrics.json").is_file() else None


def prepare_stage_seconds(out: str | Path) -> dict[str, float]:
    """``{stage: wall seconds}`` of the prepare stage whose data is ``out``; empty before it has run."""
    record = read_prepare(out)
    return {record.summary["stage"]: record.wall_seconds} if record else {}


def read_record(out: str | Path) -> Record:
    """The record written into ``<out>/live``; a clear error when the stage has not run."""
    return _read(live_dir(out))


def _read(directory: Path) -> Record:
    summary_path = directory / "metrics.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{summary_path}: missing (run `dvc repro` to produce it)")
    params_path = directory / "params.yaml"
    layout = load_yaml(params_path) if params_path.is_file() else {}
    timing_path = directory / TIMING
    timing = read_json(timing_path) if timing_path.is_file() else None
    return Record(directory, merge_timing(read_json(summary_path), timing), layout or {})
