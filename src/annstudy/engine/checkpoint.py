"""Resumable training: the whole state of a training loop at an epoch's end, on disk.

A killed `dvc repro` (a laptop lid, a pre-empted node, Ctrl-C) should not cost the epochs
already trained. The loop saves its state after every epoch; a rerun of the same stage with
the same settings resumes from it and ends with bit-identical numbers, because everything
that decides them is in the state: weights, optimizer and schedule state, every random
generator, the curves so far and the partial sums of the current log interval.

Checkpoints are scratch files, not DVC outs: under ``data/checkpoints/`` (git-ignored), named
by a fingerprint of what they were trained with so a rerun with other params never resumes
from them, and removed when the stage finishes. (A ``persist: true`` out would keep DVC from
using its run cache for the stage, and a ``cache: false`` one would leave every fresh clone
with a "changed" stage; docs/experiments.md.)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass(frozen=True)
class Checkpoint:
    """One training run's checkpoint file; :meth:`part` names the file of one seed group."""

    directory: Path
    fingerprint: str
    name: str = "stack"

    @classmethod
    def for_run(cls, directory: Path, settings: Any) -> Checkpoint:
        """The checkpoint of a run trained with ``settings`` (anything JSON can print): a rerun
        with other settings gets another file and starts from scratch."""
        text = json.dumps(settings, sort_keys=True, default=str)
        return cls(Path(directory), hashlib.sha256(text.encode()).hexdigest()[:16])

    def part(self, seeds: list[int]) -> Checkpoint:
        """The file of the seed group ``seeds`` (a stack split after running out of memory has several)."""
        return Checkpoint(self.directory, self.fingerprint, "seeds-" + "-".join(map(str, seeds)))

    @property
    def path(self) -> Path:
        return self.directory / f"{self.fingerprint}-{self.name}.pt"

    def load(self) -> dict | None:
        """The saved state, or None when there is none (or it cannot be read: then start over)."""
        if not self.path.exists():
            return None
        try:
            return torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as err:  # a file cut short by the kill itself: training restarts, nothing is lost
            print(f"checkpoint {self.path} unreadable ({type(err).__name__}); starting from epoch 1", flush=True)
            return None

    def save(self, state: dict) -> None:
        """Write atomically: a kill during the write leaves the previous epoch's checkpoint intact."""
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def clear(self) -> None:
        """Remove this run's checkpoints (every seed group), once its outputs are written."""
        shutil.rmtree(self.directory, ignore_errors=True)
