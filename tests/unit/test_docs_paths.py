"""docs/architecture.md names only paths that exist: a file moved or renamed fails here until the page follows."""

from __future__ import annotations

import re

from conftest import ROOT

DOC = ROOT / "docs/architecture.md"
# A repository path: src/..., stages/..., tests/..., docs/...; <study> or <name> stands for any one name.
PATH = re.compile(r"(?<![\w./<>-])((?:src|stages|tests|docs)/[\w./<>-]*)")


def named_paths(text: str) -> list[str]:
    return sorted({m.rstrip(".") for m in PATH.findall(text)})


def exists(path: str) -> bool:
    """The path, or for a placeholder path at least one match (``<x>`` is one path component's name)."""
    pattern = re.sub(r"<[^>/]+>", "*", path.rstrip("/"))
    matches = list(ROOT.glob(pattern)) if "*" in pattern else [ROOT / pattern]
    wants_dir = path.endswith("/")
    return any(m.is_dir() if wants_dir else m.exists() for m in matches)


def test_the_path_pattern_finds_paths_and_placeholders():
    text = "see `src/annstudy/cli.py`, tests/unit/ and stages/<study>.py. Not data/inputs/<name>.json or a/src/x."
    assert named_paths(text) == ["src/annstudy/cli.py", "stages/<study>.py", "tests/unit/"]
    assert exists("stages/<study>.py") and exists("src/annstudy/studies/<study>/")
    assert not exists("src/annstudy/utils.py") and not exists("src/annstudy/cli.py/")
    assert not exists("src/annstudy/studies/<study>/missing.py")


def test_every_path_docs_architecture_names_exists():
    paths = named_paths(DOC.read_text())
    assert len(paths) >= 60, paths  # the layout names every package and most modules by path
    assert [p for p in paths if not exists(p)] == []
