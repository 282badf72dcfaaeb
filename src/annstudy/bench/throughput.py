"""`annstudy bench`: the same configuration trained several ways, measured in one run.

(a) reference: the exercises' plain loop — torchvision ``FashionMNIST`` with ``ToTensor``
    (+ ``Normalize`` to [-1, 1]), ``DataLoader(batch_size=50, shuffle=True)``, one seed after
    another, ``loss.item()`` every step;
(a2) the same loop over the prepared tensors (``TensorDataset``): no per-image decoding;
(b) annstudy, one seed at a time: :func:`annstudy.engine.seeds.train_seeds` with
    ``vectorize: false``, each seed a stack of one through the one loop;
(c) annstudy, all seeds vectorized (the same, ``vectorize: true``: one stack of every seed), warm
    (after the others in this process) and cold (a fresh process, as a DVC stage runs);
(d) the kernels' ceiling: one model (a stack of one) at a batch of seeds x 50, trained like (b).
    A step of it does the FLOPs of a stacked step with the ungrouped convolutions and matrix
    products of the same layers, so it bounds what stacking can reach with the same kernel
    library: (c) near (d) means the loop is not what leaves the machine's peak unused.

Throughput is samples per second per seed-model (seeds x steps x batch / wall time). Each
way also gets its achieved FLOP/s (the model's counted training FLOPs per sample times the
rate) as a share of the machine's float32 peak, measured in the same run by a large matrix
product: the same numerics the study uses (TF32 off), so the % says how much of what this
machine can do in float32 the loop uses. The last line is ``speedup vectorized/reference: X.XX``.

Evaluation (``--eval``) is measured the same way on the test split, in eval mode: (e1) one plain
model per seed (NCHW), then the seeds stacked (channels-last on CPU, as the evaluate stage runs
them) at several batch sizes, so the evaluation's batch can be chosen by measurement.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from annstudy.data.fashion_mnist import SHA256, read_verified, resolve_mirror
from annstudy.data.prepared import PreparedDataset, Split, load_prepared
from annstudy.engine.device import configure, describe, resolve_device
from annstudy.engine.evaluation import evaluate, evaluate_stacked
from annstudy.engine.flops import evaluation_flops_per_sample, training_flops_per_sample
from annstudy.engine.seeds import train_seeds
from annstudy.engine.settings import TrainSettings
from annstudy.models.stacked import StackedNet
from annstudy.models.zoo import build_model


@dataclass
class Timing:
    name: str
    seconds: float
    samples: int  # seed-model samples

    @property
    def rate(self) -> float:
        return self.samples / self.seconds


def measured_peak_flops(device: torch.device) -> float:
    """float32 FLOP/s of a large matrix product on ``device``: best of three, after a warm-up."""
    n = 4096 if device.type == "cuda" else 1536
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    best = float("inf")
    for _ in range(4):
        _sync(device)
        started = time.perf_counter()
        for _ in range(5):
            a @ b
        _sync(device)
        best = min(best, (time.perf_counter() - started) / 5)
    return 2 * n**3 / best


def print_timing(t: Timing, flops_per_sample: float, peak: float) -> None:
    achieved = t.rate * flops_per_sample
    print(
        f"  {t.name:<32}{t.rate:>12,.0f} samples/s per seed-model"
        f"{achieved / 1e9:>10,.1f} GFLOP/s{100 * achieved / peak:>7.2f} % of peak",
        flush=True,
    )


def torchvision_root(mirror: str | None, cache: Path) -> Path:
    """A torchvision-layout root (``FashionMNIST/raw/*-ubyte``) made from the verified mirror."""
    raw = cache / "FashionMNIST" / "raw"
    if all((raw / name).is_file() for name in SHA256):
        return cache
    source = resolve_mirror(mirror)
    if source is None:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(root=str(cache), train=True, download=True)
        return cache
    raw.mkdir(parents=True, exist_ok=True)
    for name, digest in SHA256.items():
        (raw / name).write_bytes(read_verified(source, name, digest))
    return cache


def reference(root: Path, arch: str, seeds: list[int], steps: int, device: torch.device) -> Timing:
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import FashionMNIST

    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    dataset = FashionMNIST(root=str(root), train=True, transform=tf)
    started = time.perf_counter()
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model(arch, (1, 28, 28)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        loader = DataLoader(dataset, batch_size=50, shuffle=True)
        for step, (x, y) in enumerate(loader):
            if step == steps:
                break
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
    return Timing("(a) reference loop", time.perf_counter() - started, len(seeds) * steps * 50)


def tensor_reference(data: PreparedDataset, arch: str, seeds: list[int], steps: int) -> Timing:
    """What a careful student writes: the prepared tensors in a ``TensorDataset`` + ``DataLoader``
    (no per-image decoding), one plain model per seed, one seed after another."""
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(data.train.x, data.train.y)
    started = time.perf_counter()
    for seed in seeds:
        torch.manual_seed(seed)
        model = build_model(arch, data.image_shape).to(data.train.x.device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for step, (x, y) in enumerate(DataLoader(dataset, batch_size=50, shuffle=True)):
            if step == steps:
                break
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
    return Timing("(a2) TensorDataset loop", time.perf_counter() - started, len(seeds) * steps * 50)


def stacked_once(arch: str, seeds: int, steps: int, data_dir: str, channels_last: bool, device_name: str) -> float:
    """Seconds of one stacked training run in this process: run in a fresh one, it is what a
    stage pays (oneDNN/cuDNN primitives created for each new shape, the allocator growing)."""
    configure(deterministic=False, num_threads=0)
    device = resolve_device(device_name)
    data = load_prepared(data_dir, device)
    data.val = Split(data.val.x[:50], data.val.y[:50])
    cfg = bench_config(list(range(seeds)), steps, channels_last)
    started = time.perf_counter()
    train_seeds(arch, data, cfg, bar=False)
    _sync(device)
    return time.perf_counter() - started


def cold_stacked(arch: str, seeds: int, steps: int, data_dir: str, channels_last: bool, device_name: str) -> Timing:
    """:func:`stacked_once` in a fresh Python process (start-up and data loading not counted)."""
    call = f"stacked_once({arch!r}, {seeds}, {steps}, {data_dir!r}, {channels_last}, {device_name!r})"
    code = f"from annstudy.bench.throughput import stacked_once; print({call})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds = float(out.stdout.strip().splitlines()[-1])
    return Timing("(c) vectorized, cold", seconds, seeds * steps * 50)


def kernel_ceiling(arch: str, data: PreparedDataset, cfg: TrainSettings) -> Timing:
    """(d): the seeds' samples as the batch of one plain model (seed 0), as many steps as the others."""
    seeds = len(cfg.seeds)
    wide = replace(cfg, seeds=(0,), batch_size=seeds * cfg.batch_size, train_limit=seeds * cfg.train_limit)
    started = time.perf_counter()
    train_seeds(arch, data, wide, bar=False)
    _sync(data.train.x.device)
    return Timing("(d) one model, batch seeds x 50", time.perf_counter() - started, seeds * cfg.train_limit)


def bench_config(
    seeds: list[int], steps: int, channels_last: bool, log_every: int = 0, val_subset: int = 1000
) -> TrainSettings:
    """One epoch of exactly ``steps`` batches of 50, every seed in one stack; one log (and validation) at the end.

    ``log_every`` > 0 logs (and validates on ``val_subset`` images, 0 = all) that often
    instead: the study's own logging cost, which the reference loop does not pay.
    """
    return TrainSettings(
        optimizer="adam",
        lr=1e-3,
        momentum=0.0,
        batch_size=50,
        eval_batch_size=2000,
        seeds=tuple(seeds),
        epochs=1,
        log_every=log_every or steps,
        val_subset=val_subset,
        train_limit=steps * 50,
        train_eval_subset=0,
        vectorize=True,
        channels_last=channels_last,
    )


def run_bench(
    arch: str,
    seeds: int,
    steps: int,
    device_name: str,
    mirror: str | None,
    data_dir: str,
    cache: str,
    channels_last: bool = True,
    log_every: int = 0,
    val_subset: int = 1000,
) -> list[Timing]:
    configure(deterministic=False, num_threads=0)
    device = resolve_device(device_name)
    seed_list = list(range(seeds))
    root = torchvision_root(mirror, Path(cache))
    data = load_prepared(data_dir, device)
    if not log_every:  # the reference loop does not evaluate: keep (b) and (c)'s to a token 50 images
        data.val = Split(data.val.x[:50], data.val.y[:50])
    cfg = bench_config(seed_list, steps, channels_last, log_every, val_subset)
    flops = training_flops_per_sample(arch, data.image_shape, device)
    peak = measured_peak_flops(device)
    print(f"bench {arch}: {seeds} seeds x {steps} steps of batch 50 on {describe(device)}, torch {torch.__version__}")
    if log_every:
        print(f"  (b) and (c) validate on {val_subset or len(data.val)} images every {log_every} steps")
    print(f"  training FLOPs per sample {flops / 1e6:,.2f} M; float32 peak (measured GEMM) {peak / 1e12:,.2f} TFLOP/s")

    timings = [reference(root, arch, seed_list, steps, device)]
    print_timing(timings[-1], flops, peak)
    timings.append(tensor_reference(data, arch, seed_list, steps))
    print_timing(timings[-1], flops, peak)
    started = time.perf_counter()
    train_seeds(arch, data, replace(cfg, vectorize=False), bar=False)  # a stack of one per seed
    _sync(device)
    timings.append(Timing("(b) annstudy, one seed", time.perf_counter() - started, seeds * steps * 50))
    print_timing(timings[-1], flops, peak)
    started = time.perf_counter()
    train_seeds(arch, data, cfg, bar=False)
    _sync(device)
    timings.append(Timing("(c) annstudy, vectorized", time.perf_counter() - started, seeds * steps * 50))
    print_timing(timings[-1], flops, peak)
    timings.append(kernel_ceiling(arch, data, cfg))
    print_timing(timings[-1], flops, peak)
    warm = next(t for t in timings if t.name == "(c) annstudy, vectorized")
    if not log_every:
        timings.append(cold_stacked(arch, seeds, steps, data_dir, channels_last, device_name))
        print_timing(timings[-1], flops, peak)
        print(f"cold/warm vectorized: {timings[-1].seconds / warm.seconds:.2f}")
    tensor = next(t for t in timings if t.name.startswith("(a2)"))
    ceiling = next(t for t in timings if t.name.startswith("(d)"))
    print(f"vectorized/kernel ceiling: {warm.rate / ceiling.rate:.2f}")
    print(f"speedup vectorized/TensorDataset loop: {warm.rate / tensor.rate:.2f}")
    ref = timings[0].rate
    one = next(t for t in timings if t.name == "(b) annstudy, one seed")
    print(f"speedup one-seed/reference: {one.rate / ref:.2f}")
    print(f"speedup vectorized/one-seed: {warm.rate / one.rate:.2f}")
    print(f"speedup vectorized/reference: {warm.rate / ref:.2f}")
    return timings


EVAL_BATCHES = (2000, 500, 250, 100)  # images per stacked batch; the evaluate stage's default is the first


def eval_timings(arch: str, data: PreparedDataset, seeds: int, channels_last: bool) -> list[Timing]:
    """The test split evaluated by every seed: plain models one at a time, then stacked per batch size."""
    device = data.test.x.device
    models = [build_model(arch, data.image_shape).to(device) for _ in range(seeds)]
    x, y = data.test.x, data.test.y
    samples = seeds * len(y)
    evaluate(models[0], x[:500], y[:500], 500)  # warm-up: the first call creates the primitives
    started = time.perf_counter()
    for model in models:
        evaluate(model, x, y, EVAL_BATCHES[0])
    _sync(device)
    timings = [Timing(f"(e1) one seed, batch {EVAL_BATCHES[0]}", time.perf_counter() - started, samples)]
    stacked = StackedNet(models).to(device)
    stacked = stacked.use_channels_last() if channels_last else stacked
    evaluate_stacked(stacked, x[:500], y[:500], 100, fit_caches=False)
    for batch in EVAL_BATCHES:
        started = time.perf_counter()
        evaluate_stacked(stacked, x, y, batch, fit_caches=False)
        _sync(device)
        timings.append(Timing(f"(e2) stacked, batch {batch}", time.perf_counter() - started, samples))
    return timings


def run_eval_bench(arch: str, seeds: int, device_name: str, data_dir: str, channels_last: bool = True) -> list[Timing]:
    """``annstudy bench --eval``: evaluation throughput of ``arch`` with ``seeds`` seeds."""
    configure(deterministic=False, num_threads=0)
    device = resolve_device(device_name)
    data = load_prepared(data_dir, device)
    flops = evaluation_flops_per_sample(arch, data.image_shape, device)
    peak = measured_peak_flops(device)
    print(f"eval {arch}: {seeds} seeds x {len(data.test)} test images on {describe(device)}, torch {torch.__version__}")
    print(f"  forward FLOPs per sample {flops / 1e6:,.2f} M; float32 peak (measured GEMM) {peak / 1e12:,.2f} TFLOP/s")
    timings = eval_timings(arch, data, seeds, channels_last)
    for t in timings:
        print_timing(t, flops, peak)
    best = max(timings[1:], key=lambda t: t.rate)
    print(f"speedup best stacked ({best.name.split(', ')[1]})/one seed: {best.rate / timings[0].rate:.2f}")
    return timings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
