"""The ``annstudy`` command (also ``python -m annstudy``), used by people and by the stages.

Every command that does work validates params.yaml first; any expected failure
(bad params, corrupt data, missing files) ends with one ``error:`` line per problem
on stderr and exit code 2, never a traceback; Ctrl-C ends with exit code 130.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable, Sequence

from annstudy.params.settings import load_settings
from annstudy.pipeline.errors import guarded
from annstudy.studies import study_part

DATASET_SHAPES = {"fashion_mnist": (1, 28, 28), "cifar10_gray": (1, 32, 32)}


def cmd_validate(args: argparse.Namespace) -> int:
    settings = load_settings(args.params)
    archs = settings.studies["architectures"].archs
    print(f"{args.params}: ok (profile {settings.profile}, {len(archs)} architectures)")
    return 0


def dataset_shape(name: str, params: str) -> tuple[tuple[int, int, int], int]:
    """(image shape, classes) of a dataset; image_csv's come from params.yaml and its prepared meta."""
    if name != "image_csv":
        return DATASET_SHAPES[name], 10
    from annstudy.data.prepared import load_meta
    from annstudy.data.registry import prepared_dir

    shape = load_settings(params).data.image_csv.image_shape
    meta_path = Path(prepared_dir(name), "meta.json")
    return shape, len(load_meta(meta_path.parent)["classes"]) if meta_path.is_file() else 10


def cmd_models(args: argparse.Namespace) -> int:
    from annstudy.models.summary import summarize_all

    image_shape, classes = dataset_shape(args.dataset, args.params)
    summaries = summarize_all(image_shape, classes)
    if args.format == "json":
        print(json.dumps([s.as_dict() for s in summaries], indent=2))
        return 0
    shape = "x".join(map(str, image_shape))
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
    from annstudy.data.prepare import prepare_dataset

    prepare_dataset(args.dataset, load_settings(args.params).data)
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    """A step of a study, as ``stages/<study>.py <step>[:<item>]`` runs it (annstudy/pipeline/stage.py)."""
    from annstudy.pipeline.stage import study_step

    run = study_part(args.study, "run")  # an unknown study: a clear error naming the known ones
    config = study_part(args.study, "config")
    return study_step(run, config, ["--params", args.params, f"{args.step}:{args.item}" if args.item else args.step])


def cmd_train(args: argparse.Namespace) -> int:
    return cmd_stage(argparse.Namespace(params=args.params, study="architectures", step="train", item=args.arch))


def cmd_evaluate(args: argparse.Namespace) -> int:
    return cmd_stage(argparse.Namespace(params=args.params, study="architectures", step="evaluate", item=args.arch))


def cmd_report(args: argparse.Namespace) -> int:
    from annstudy.report.render import build_report

    settings = load_settings(args.params)
    path = build_report(settings, Path(args.out))
    print(f"report: {path.resolve()}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from annstudy.bench.throughput import run_bench, run_eval_bench
    from annstudy.data.registry import prepared_dir

    settings = load_settings(args.params)
    data_dir = prepared_dir("fashion_mnist")
    if not Path(data_dir, "meta.json").is_file():
        cmd_prepare(argparse.Namespace(params=args.params, dataset="fashion_mnist"))
    from annstudy.models.zoo import ARCHITECTURES

    archs = list(ARCHITECTURES) if args.arch == "all" else args.arch.split(",")
    for arch in archs:
        if args.eval:
            channels_last = settings.studies["architectures"].train.channels_last
            run_eval_bench(arch, args.seeds, args.device, data_dir, channels_last)
            continue
        run_bench(
            arch,
            args.seeds,
            args.steps,
            args.device,
            settings.data.mirror,
            data_dir,
            args.cache,
            channels_last=settings.studies["architectures"].train.channels_last,
            log_every=args.log_every,
            val_subset=args.val_subset,
        )
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from annstudy.report.browser import DARK_BACKGROUND, WIDTHS, check_report, screenshot_path

    ok = True
    for width in WIDTHS:
        shot = screenshot_path(Path(args.out), width)
        result = check_report(Path(args.html), shot, width=width)
        ok &= result.ok
        print(
            f"{shot}: {result.images} images, broken {result.broken_images or 'none'}; {result.charts} charts drawn, "
            f"broken {result.broken_charts or 'none'}; {result.findings} findings, hidden "
            f"{result.hidden_findings or 'none'}; in-page links broken {result.broken_links or 'none'}; page "
            f"{result.page_width}px in a {result.window_width}px window, overflowing {result.overflowing or 'none'}"
        )
    shot = Path(args.out).with_stem(f"{Path(args.out).stem}_dark")
    dark = check_report(Path(args.html), shot, width=WIDTHS[-1], color_scheme="dark")
    ok &= dark.ok and dark.background == DARK_BACKGROUND
    print(
        f"{shot}: dark mode at {WIDTHS[-1]} px, background {dark.background}, {dark.charts} charts drawn, "
        f"overflowing {dark.overflowing or 'none'}"
    )
    return 0 if ok else 1


def cmd_compare(args: argparse.Namespace) -> int:
    """DVC experiments side by side (params that differ, test accuracies, curves): report/compare.py."""
    from annstudy.report.compare import DEFAULT_CURVES, build_comparison
    from annstudy.report.document import Document, Figure
    from annstudy.report.markdown import to_markdown

    doc, experiments = build_comparison(Path(args.repo), args.exps, Path(args.out), args.curve or DEFAULT_CURVES)
    print(to_markdown(Document(doc.title, [b for b in doc.blocks if not isinstance(b, Figure)])))  # the headline view
    print(f"compare: {len(experiments)} experiments -> {Path(args.out, 'compare.html').resolve()}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """A grid of DVC experiments, here or as Ray tasks (annstudy/scale/sweep.py, cluster.py); 1 if any failed."""
    from annstudy.scale.sweep import ray_address, run_local, sweep

    address, runner = ray_address(args.ray), run_local
    if address:
        from annstudy.scale.cluster import cluster_runner

        options = dict(cpus=args.cpus, gpus=args.gpus, git_remote=args.git_remote, dvc_remote_name=args.dvc_remote)
        runner = cluster_runner(address, **options)
    progress = sweep(Path(args.repo), args.set, args.targets, runner, prefix=args.prefix)
    return 1 if progress.failed() else 0


def cmd_deps(args: argparse.Namespace) -> int:
    """dvc.yaml's code deps, from the stages' imports (annstudy/pipeline/codedeps.py): print, check or rewrite."""
    from annstudy.pipeline.codedeps import computed_deps, differences, write_deps

    root = Path(args.repo)
    if args.write:
        changed = write_deps(root)
        print(f"dvc.yaml: code deps rewritten for {len(changed)} stages{': ' if changed else ''}{', '.join(changed)}")
    elif args.check:
        problems = differences(root)
        print("\n".join(problems) or "dvc.yaml: every stage lists exactly the code it imports")
        return 1 if problems else 0
    else:
        for stage, deps in computed_deps(root).items():
            print(f"{stage}:", *(f"  - {d}" for d in deps), sep="\n")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Copy the finished report into docs/results/<profile>/ with its RUN.md (report/publication.py)."""
    from annstudy.report.publication import publish
    from annstudy.store.artifacts import read_json

    reports = Path(args.reports)
    profile = read_json(reports / "run.json")["profile"] if (reports / "run.json").is_file() else None
    dest = Path(args.dest or f"docs/results/{profile}")
    print(f"published {publish(reports, dest, args.command, args.wall)}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """Did this workspace's run reproduce a reference? A verdict per metric (report/verify.py); 1 if any differs."""
    from annstudy.params.settings import load_yaml
    from annstudy.report.verify import read_reference, seeds_per_study, summary, verify
    from annstudy.store.artifacts import read_json

    reference, where = read_reference(args.against, Path(args.repo))
    metrics_path = Path(args.repo, args.metrics)
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{metrics_path}: no metrics to verify (run `dvc repro` first)")
    seeds = seeds_per_study(load_yaml(Path(args.params).read_text()))
    checks = verify(reference, read_json(metrics_path), seeds)
    shown = checks if args.all else [c for c in checks if c.verdict != "identical"]
    if shown:
        print(f"{'metric':<58} {'reference':>12} {'rerun':>12} {'difference':>11} {'spread':>9}  verdict")
    for c in shown:
        diff = "" if c.difference is None else f"{c.difference:+.4g}"
        spread = "" if c.spread is None else f"{c.spread:.3g}"
        print(f"{c.key:<58} {_short(c.reference):>12} {_short(c.rerun):>12} {diff:>11} {spread:>9}  {c.verdict}")
    print(f"verify against {where}: {summary(checks)}")
    return 1 if any(c.verdict == "differs" for c in checks) else 0


def _short(value: object) -> str:
    text = f"{value:.5g}" if isinstance(value, float) else json.dumps(value)
    return text if len(text) <= 12 else text[:11] + "…"


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
    p.add_argument("--dataset", choices=sorted([*DATASET_SHAPES, "image_csv"]), default="fashion_mnist")
    p.add_argument("--format", choices=["table", "json"], default="table")
    add("prepare", cmd_prepare, "prepare a dataset (stage prepare@<dataset>)").add_argument("dataset")
    add("train", cmd_train, "train one architecture, all seeds (in stage architectures@<arch>)").add_argument("arch")
    add("evaluate", cmd_evaluate, "evaluate one architecture (step of stage architectures@<arch>)").add_argument("arch")
    p = add("stage", cmd_stage, "run one step of a study (what stages/<study>.py calls)")
    p.add_argument("study")
    p.add_argument("step")
    p.add_argument("item", nargs="?", default=None, help="the foreach item (architecture, variant, ...)")
    p = add("bench", cmd_bench, "benchmark: reference loop vs one seed at a time vs vectorized seeds")
    p.add_argument("--arch", default="mlp_1", help="an architecture, a comma-separated list, or all")
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=200, help="training steps (batches of 50) per seed")
    p.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    p.add_argument("--log-every", type=int, default=0, help="log and validate every N steps (default: once)")
    p.add_argument("--val-subset", type=int, default=1000, help="validation images per log with --log-every (0 = all)")
    p.add_argument("--cache", default="data/bench", help="torchvision-layout copy of the raw data")
    p.add_argument("--eval", action="store_true", help="measure evaluation (the test split) instead of training")
    p = add(
        "screenshot",
        cmd_screenshot,
        "render the HTML report in headless Chromium at 1280 and 390 px, check it, save PNGs",
    )
    p.add_argument("--html", default="reports/report.html")
    p.add_argument("--out", default="docs/report_screenshot.png")
    p = add("compare", cmd_compare, "compare DVC experiments: params that differ, test accuracy, curves")
    p.add_argument("exps", nargs="*", metavar="EXP", help="experiment names or revs (default: all with results)")
    p.add_argument("--repo", default=".", help="the DVC repository (default: .)")
    p.add_argument("--out", default="reports/compare", help="output directory (compare.md, compare.html)")
    p.add_argument(
        "--curve",
        action="append",
        default=None,
        metavar="FILE:COLUMN",
        help="plots TSV column overlaid per experiment (repeatable; default: S4 base validation accuracy)",
    )
    p = add("sweep", cmd_sweep, "run a grid of DVC experiments (-S like dvc exp run --queue), here or on a Ray cluster")
    p.add_argument("targets", nargs="*", metavar="TARGET", help="stages to run (default: the whole pipeline)")
    p.add_argument("-S", "--set", action="append", default=[], metavar="KEY=V1,V2", help="a param and its values")
    p.add_argument("--ray", default=None, metavar="ADDRESS", help="Ray cluster address (default: $RAY_ADDRESS)")
    p.add_argument("--cpus", type=float, default=1, help="CPUs each experiment's Ray task declares (default: 1)")
    p.add_argument("--gpus", type=float, default=0, help="GPUs (or a fraction, e.g. 0.25) each task declares")
    p.add_argument("--git-remote", default="origin", help="git remote (name or URL) the nodes clone from and push to")
    p.add_argument("--dvc-remote", default=None, help="DVC remote the nodes push to (default: the default remote)")
    p.add_argument("--prefix", default="sweep", help="experiment names: <prefix>-<hash of the overrides>")
    p.add_argument("--repo", default=".", help="the repository (default: .)")
    p = add("deps", cmd_deps, "print each stage's code deps from its imports; --check or --write dvc.yaml's")
    p.add_argument("--check", action="store_true", help="exit 1 if dvc.yaml's code deps differ, listing how")
    p.add_argument("--write", action="store_true", help="rewrite dvc.yaml's code deps (comments and layout kept)")
    p.add_argument("--repo", default=".", help="the repository (default: .)")
    p = add("verify", cmd_verify, "did this run reproduce the committed (or another) metrics? a verdict per metric")
    p.add_argument("--against", default=None, metavar="PATH", help="metrics.json or a results folder (default: HEAD's)")
    p.add_argument(
        "--metrics", default="reports/metrics.json", help="the rerun's metrics (default: reports/metrics.json)"
    )
    p.add_argument("--all", action="store_true", help="list identical metrics too")
    p.add_argument("--repo", default=".", help="the repository (default: .)")
    p = add("publish", cmd_publish, "copy the finished report into docs/results/<profile>/ with RUN.md")
    p.add_argument("--command", required=True, help="the exact command that produced the run (stated in RUN.md)")
    p.add_argument("--wall", type=float, default=None, metavar="SECONDS", help="the whole run's wall time")
    p.add_argument("--reports", default="reports", help="the finished report (default: reports)")
    p.add_argument("--dest", default=None, help="default: docs/results/<the run's profile>")
    p = add("report", cmd_report, "render reports/ from the stage outputs (stage report)")
    p.add_argument("--out", default="reports")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "path", None):
        args.params = args.path
    return guarded(lambda: args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
