"""The ``annstudy`` command (also ``python -m annstudy``), used by people and by the stages.

Every command that does work validates params.yaml first; any expected failure
(bad params, corrupt data, missing files) ends with one ``error:`` line per problem
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable, Sequence

from annstudy.artifacts import write_json
from annstudy.params import ParamsError, load_settings

DATASET_SHAPES = {"fashion_mnist": (1, 28, 28), "cifar10_gray": (1, 32, 32)}


def cmd_validate(args: argparse.Namespace) -> int:
    settings = load_settings(args.params)
    print(f"{args.params}: ok (profile {settings.profile}, {len(settings.architectures.archs)} architectures)")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from annstudy.models.summary import summarize_all

    summaries = summarize_all(DATASET_SHAPES[args.dataset])
    if args.format == "json":
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
        return 0
    shape = "x".join(map(str, DATASET_SHAPES[args.dataset]))
    for s in summaries:
        print(f"{s.name}  (input {shape}, {s.params:,} parameters, {s.macs:,} MACs/sample)")
        width = max(len(r.layer) for r in s.layers)
        print(f"  {'#':>2}  {'layer':<{width}}  {'output shape':<14}{'params':>10}")
        for r in s.layers:
            out = "x".join(map(str, r.output_shape))
            print(f"  {r.index:>2}  {r.layer:<{width}}  {out:<14}{r.params:>10,}")
        print()
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from annstudy.data.prepared import save_prepared
    from annstudy.data.registry import DATASETS, prepared_dir

    settings = load_settings(args.params)
    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}; choose from {', '.join(DATASETS)}")
    started = time.perf_counter()
    d = settings.data
    tensors, meta = DATASETS[args.dataset](d.mirror_for(args.dataset), d.download_root, d.split_seed, d.val_fraction)
    out = prepared_dir(args.dataset)
    save_prepared(out, tensors, meta)
    # Timing lives beside the data, not in it: an identical re-prepare must not rerun training.
    write_json(Path("data/timings/prepare") / f"{args.dataset}.json",
               {"seconds": round(time.perf_counter() - started, 3)})  # fmt: skip
    print(f"prepared {args.dataset} from {meta['source']}: {meta['sizes']} -> {out}")
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    """A step of a study (``stages/<study>.py <step> [item]``): see annstudy/studies/registry.py."""
    from annstudy.studies.registry import study_steps

    settings = load_settings(args.params)
    steps = study_steps(args.study)
    if args.step not in steps:
        raise ValueError(f"study {args.study!r} has no step {args.step!r}; choose from {', '.join(steps)}")
    print(f"wrote {steps[args.step](settings, args.item)}")
    return 0


def _known_arch(settings, arch: str) -> None:
    if arch not in settings.architectures.archs:
        raise ValueError(f"architecture {arch!r} is not in studies.architectures.archs")


def cmd_train(args: argparse.Namespace) -> int:
    from annstudy.studies.architectures import train_architecture

    settings = load_settings(args.params)
    _known_arch(settings, args.arch)
    print(f"wrote {train_architecture(args.arch, settings)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from annstudy.studies.architectures import evaluate_architecture

    settings = load_settings(args.params)
    _known_arch(settings, args.arch)
    print(f"wrote {evaluate_architecture(args.arch, settings)}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from annstudy.report.render import build_report

    settings = load_settings(args.params)
    path = build_report(settings, Path(args.out))
    print(f"report: {path.resolve()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from annstudy.bench import run_bench
    from annstudy.data.registry import prepared_dir

    settings = load_settings(args.params)
    data_dir = prepared_dir("fashion_mnist")
    if not Path(data_dir, "meta.json").is_file():
        cmd_prepare(argparse.Namespace(params=args.params, dataset="fashion_mnist"))
    run_bench(args.arch, args.seeds, args.steps, args.device, settings.data.mirror, data_dir, args.cache,
              channels_last=settings.architectures.train.channels_last)
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from annstudy.report.browser import check_report

    result = check_report(Path(args.html), Path(args.out))
    print(f"{args.out}: {result.images} images, broken {result.broken_images or 'none'}, "
          f"page {result.page_width}px in a {result.window_width}px window, overflowing {result.overflowing or 'none'}")
    return 0 if result.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="annstudy", description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        p.set_defaults(func=func)
        return p

    p = add("validate", cmd_validate, "validate params.yaml and exit")
    p.add_argument("path", nargs="?", help="params file (default: --params)")
    p = add("models", cmd_models, "print every architecture's layers, output shapes and parameters")
    p.add_argument("--dataset", choices=sorted(DATASET_SHAPES), default="fashion_mnist")
    p.add_argument("--format", choices=["table", "json"], default="table")
    add("prepare", cmd_prepare, "prepare a dataset (stage prepare@<dataset>)").add_argument("dataset")
    add("train", cmd_train, "train one architecture, all seeds (stage train@<arch>)").add_argument("arch")
    add("evaluate", cmd_evaluate, "evaluate one architecture (stage evaluate@<arch>)").add_argument("arch")
    p = add("stage", cmd_stage, "run one step of a study (what stages/<study>.py calls)")
    p.add_argument("study")
    p.add_argument("step")
    p.add_argument("item", nargs="?", default=None, help="the foreach item (architecture, variant, ...)")
    p = add("bench", cmd_bench, "benchmark: reference loop vs one seed at a time vs vectorized seeds")
    p.add_argument("--arch", default="mlp_1")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=200, help="training steps (batches of 50) per seed")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--cache", default="data/bench", help="torchvision-layout copy of the raw data")
    p = add("screenshot", cmd_screenshot, "render the HTML report in headless Chromium, check it, save a PNG")
    p.add_argument("--html", default="reports/report.html")
    p.add_argument("--out", default="docs/report_screenshot.png")
    p = add("report", cmd_report, "render reports/ from the stage outputs (stage report)")
    p.add_argument("--out", default="reports")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "path", None):
        args.params = args.path
    try:
        return args.func(args)
    except ParamsError as err:
        for problem in err.problems:
            print(f"error: {err.path}: {problem}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
