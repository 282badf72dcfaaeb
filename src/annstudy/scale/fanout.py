"""Independent units of one stage (an S4 sweep value, ...) in-process, or as Ray tasks on a cluster.

``ANNSTUDY_RAY_ADDRESS`` set: each unit is a Ray task with the declared CPUs / GPU fraction,
placed by Ray on any node; unset: the units run here, one after another, and Ray is not
imported. The address is an environment variable, never a param: it must not change any
stage's hash, and where a unit ran changes no number. A task applies the stage's numerics
(thread count, deterministic algorithms) before it works, so the same hardware gives the same
numbers either way. The units' code is shipped by reference: every node needs this project
installed at the same commit (the Ray workers' Python imports ``annstudy``).
"""

from __future__ import annotations

import os
import platform
from typing import Any, Callable, Sequence, TypeVar

import torch

from annstudy.engine.device import configure, describe

ADDRESS_ENV = "ANNSTUDY_RAY_ADDRESS"
T = TypeVar("T")


def ray_address() -> str | None:
    return os.environ.get(ADDRESS_ENV) or None


def ran_on(device: torch.device) -> dict[str, str]:
    """What a record states about where a unit ran: the node and the device (with its numerics)."""
    return {"node": platform.node(), "device": describe(device)}


def numerics() -> tuple[int, bool]:
    """This process's thread count and deterministic flag, which a task must reproduce."""
    return torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()


def in_task(work: Callable[..., T], item: Any, threads_deterministic: tuple[int, bool], *args: Any) -> T:
    """The body of a Ray task: the stage's numerics first, then the unit."""
    threads, deterministic = threads_deterministic
    configure(deterministic, threads)
    return work(item, *args)


def fan_out(work: Callable[..., T], items: Sequence[Any], *args: Any, cpus: float = 1, gpus: float = 0) -> list[T]:
    """``[work(item, *args) for item in items]``, in order: here, or one Ray task per item.

    ``args`` travel to every task once (Ray's object store); keep tensors in them on the CPU
    and let ``work`` move them to the device the task resolves.
    """
    address = ray_address()
    if address is None:
        return [work(item, *args) for item in items]
    import ray

    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    shared = [ray.put(a) for a in args]
    task = ray.remote(in_task).options(num_cpus=cpus, num_gpus=gpus, max_retries=0)
    return ray.get([task.remote(work, item, numerics(), *shared) for item in items])  # refs as arguments: resolved
