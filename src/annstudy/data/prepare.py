"""The ``prepare@<dataset>`` stage: a registered dataset's raw files -> data/prepared/<dataset>/."""

from __future__ import annotations

import time
from pathlib import Path

from annstudy.data.prepared import save_prepared
from annstudy.data.registry import DATASETS, prepared_dir
from annstudy.data.settings import DataSettings
from annstudy.store.records import record_prepare


def prepare_dataset(name: str, settings: DataSettings) -> Path:
    """Prepare one dataset (checksums, split, scaling: see its module) and record the wall time."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    started = time.perf_counter()
    tensors, meta = DATASETS[name].prepare(settings)
    out = Path(prepared_dir(name))
    save_prepared(out, tensors, meta)
    record_prepare(out, f"prepare@{name}", started)
    print(f"prepared {name} from {meta['source']}: {meta['sizes']} -> {out}")
    return out
