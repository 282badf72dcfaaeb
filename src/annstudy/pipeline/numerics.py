"""``numerics: portable``: one CPU code path on every x86-64 machine.

Kept apart from the engine so that a stage can pin the kernels without importing torch
(inputs@ and prepare@ need no torch; ``import torch`` is 2 s of a stage's start-up).
"""

from __future__ import annotations

import os
import platform

# The instruction set every kernel library is pinned to under ``numerics: portable``: AVX2, which
# every x86-64 CPU of the last decade has (Intel since 2013, AMD since 2015). PyTorch's own
# kernels (ATen), oneDNN's convolutions and MKL's BLAS then take the same code path on an AVX-512
# Xeon and an AVX2-only EPYC. Each library reads its variable at its first use, so the pin works
# when set after ``import torch`` but before any computation (scripts/numerics_probe.py checks it).
PORTABLE_PINS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}


# Whatever the mode: MKL and OpenMP may otherwise use fewer threads than asked when the machine is
# busy ("dynamic" threads), which splits a reduction differently: an evaluation's loss then differed in
# its 7th digit between a run on a loaded and on a quiet machine (tests/e2e/test_robustness.py).
FIXED_THREADS = {"MKL_DYNAMIC": "FALSE", "OMP_DYNAMIC": "FALSE"}


def pin_instruction_set(numerics: str) -> None:
    """``portable``: pin the CPU kernels to AVX2 (x86-64 only; elsewhere the native path is the
    only one); ``native``: leave each library to pick the widest instructions the CPU has. Either
    way the thread count is fixed (:data:`FIXED_THREADS`)."""
    os.environ.update(FIXED_THREADS)
    if numerics == "portable" and platform.machine().lower() in ("x86_64", "amd64"):
        os.environ.update(PORTABLE_PINS)
