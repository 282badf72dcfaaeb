"""Benchmark script behind `annstudy bench` (same options): python benchmarks/bench.py --arch cnn_4."""

import sys

from annstudy.cli import main

raise SystemExit(main(["bench", *sys.argv[1:]]))
