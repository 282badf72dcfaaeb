"""SHA-256s of the user's files: what each dataset's ``inputs`` builds its fingerprint from (data/inputs.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def folder_sha256(folder: Path) -> dict[str, str]:
    """``{relative path: SHA-256}`` of every regular file under ``folder`` (sorted, symlinks followed)."""
    return {str(p.relative_to(folder)): file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def mirror_fingerprint(mirror: Path | None) -> dict:
    """A mirror folder and its files' SHA-256s; ``None`` (prepare downloads) has no files."""
    return {"mirror": str(mirror) if mirror else None, "files": folder_sha256(mirror) if mirror else {}}
