"""Running out of device memory: recognise it, and halve the seed group that caused it.

A stack of S seeds holds S times the activations of one. When it does not fit,
:func:`annstudy.engine.seeds.train_seeds` trains the two halves one after the other
instead (:func:`halves`), down to one seed; each seed's run depends only on its own seed
(init, batch order), so a smaller group gives the same numbers up to float summation order
(dropout masks are drawn per group). A single seed that still does not fit is a clear error
naming the settings to change.
"""

from __future__ import annotations

import torch

from annstudy.engine.settings import TrainSettings

# How PyTorch says "out of memory": CUDA (torch.cuda.OutOfMemoryError) and the CPU allocator.
OOM_MESSAGES = ("out of memory", "not enough memory", "DefaultCPUAllocator: can't allocate")


def is_out_of_memory(err: BaseException) -> bool:
    return isinstance(err, torch.cuda.OutOfMemoryError) or any(m in str(err) for m in OOM_MESSAGES)


def oom_message(name: str, seeds: list[int], cfg: TrainSettings, err: BaseException) -> str:
    return (
        f"out of memory training {name} (seeds {seeds}, batch {cfg.batch_size}, eval batch {cfg.eval_batch_size}) "
        "even one seed at a time: lower the study's batch_size or eval_batch_size (e.g. "
        "studies.architectures.batch_size), set vectorize_seeds: false, use a smaller train_limit, or set "
        f"device: cpu ({str(err).splitlines()[0] if str(err) else type(err).__name__})"
    )


def halves(err: RuntimeError, name: str, seeds: tuple[int, ...], cfg: TrainSettings) -> list[tuple[int, ...]]:
    """The two seed groups to train instead of ``seeds`` after ``err``.

    Raises ``err`` itself when it is not an out-of-memory error, and the clear error of
    :func:`oom_message` when ``seeds`` is a single seed.
    """
    if not is_out_of_memory(err):
        raise err
    if len(seeds) == 1:
        raise RuntimeError(oom_message(name, list(seeds), cfg, err)) from None
    half = len(seeds) // 2
    print(
        f"{name}: out of memory with {len(seeds)} stacked seeds; retrying as groups of "
        f"{half} and {len(seeds) - half} (vectorize_seeds)",
        flush=True,
    )
    return [seeds[:half], seeds[half:]]


def release_cached_memory() -> None:
    """Give the failed group's freed blocks back to the device before the smaller groups allocate theirs."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
