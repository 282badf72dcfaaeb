"""Choosing the device and making runs deterministic."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def resolve_device(setting: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device: cuda was requested but no CUDA device is available (use auto or cpu)")
    return torch.device(setting)


def configure(deterministic: bool, num_threads: int) -> None:
    """Process-wide numerics: thread count and deterministic algorithms.

    Bit-identical reruns need a fixed thread count as well as seeds: reductions
    split across threads may add in a different order.
    """
    if num_threads > 0:
        torch.set_num_threads(num_threads)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Filling every new tensor with NaN (a debugging aid that comes with the flag)
        # costs ~15 % on CPU and changes no result: turn it off.
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def describe(device: torch.device) -> str:
    """The device as the report states it, with the numerics a GPU could silently change."""
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)}; float32, TF32 off, no AMP)"
    return f"cpu ({torch.get_num_threads()} threads)"
