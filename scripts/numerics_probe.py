"""Does pinning the CPU's instruction set make training bit-portable, and what does it cost?

Trains the same architecture from the same seed in fresh processes under different pins of the
kernel libraries' instruction set, and prints for each: the SHA-256 of the trained weights and
the wall time of the training steps. Pins (environment variables read at library load):

- ``ATEN_CPU_CAPABILITY``: PyTorch's own vectorised kernels (default, avx2, avx512);
- ``ONEDNN_MAX_CPU_ISA``: oneDNN's convolutions and matrix products;
- ``MKL_CBWR``: MKL's conditional numerical reproducibility (its code path).

Two pins giving different hashes prove that the instruction set decides the bits; one pin giving
the same hash twice proves the run is deterministic under it. Usage (about a minute on 2 cores)::

    python scripts/numerics_probe.py --arch cnn_3 --steps 60
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

PINS = {
    "default": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "MKL_CBWR": "AVX512"},
}


def train(arch: str, steps: int) -> dict:
    """One seed, plain SGD on fixed random images: (weights hash, seconds of the steps)."""
    import torch
    import torch.nn.functional as F

    from annstudy.engine.device import configure
    from annstudy.models.zoo import build_model

    configure(deterministic=True, num_threads=2)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(steps * 50, 1, 28, 28, generator=g), torch.randint(0, 10, (steps * 50,), generator=g)
    torch.manual_seed(0)
    model = build_model(arch, (1, 28, 28))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    start = time.perf_counter()
    for i in range(steps):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i * 50 : (i + 1) * 50]), y[i * 50 : (i + 1) * 50]).backward()
        opt.step()
    seconds = time.perf_counter() - start
    digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest()
    return {"sha256": digest[:16], "seconds": round(seconds, 3), "capability": torch.backends.cpu.get_cpu_capability()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn_3")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train(args.arch, args.steps)))
        return
    for repeat in range(args.repeats):
        for name, pin in PINS.items():
            env = {**os.environ, **pin}
            cmd = [sys.executable, __file__, "--child", "--arch", args.arch, "--steps", str(args.steps)]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            print(f"{args.arch} run {repeat} pin {name:<8} {result}", flush=True)


if __name__ == "__main__":
    main()
