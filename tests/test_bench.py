"""`annstudy bench` runs the three loops and ends with the speedup line."""

from __future__ import annotations

import re

import pytest

from annstudy.cli import main
from conftest import ROOT, needs_fashion


@needs_fashion
@pytest.mark.slow
def test_bench_prints_the_three_ways_and_the_speedup(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code = main(
        [
            "--params",
            str(ROOT / "params.yaml"),
            "bench",
            "--arch",
            "mlp_1",
            "--seeds",
            "2",
            "--steps",
            "4",
            "--device",
            "cpu",
            "--cache",
            str(tmp_path / "tv"),
        ]
    )
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    ways = [m.group(1) for line in lines if (m := re.match(r"  (\([abc]\) [a-z ,]+?)\s{2,}[\d,]+ samples/s", line))]
    assert ways == ["(a) reference loop", "(b) annstudy, one seed", "(c) annstudy, vectorized"]
    assert re.fullmatch(r"speedup vectorized/reference: \d+\.\d\d", lines[-1])
    assert (tmp_path / "tv/FashionMNIST/raw/train-images-idx3-ubyte").stat().st_size == 47_040_016
