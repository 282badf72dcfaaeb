"""How an expected failure reaches a person: one ``error:`` line per problem, exit code 2.

Bad params, corrupt data and missing files are the user's to fix, so they get a sentence
naming the key, file or row, never a traceback; Ctrl-C exits 130. The CLI and every DVC
stage entry point run their work through :func:`guarded`.
"""

from __future__ import annotations

import errno
import re
import sys
from pathlib import Path
from typing import Callable

from annstudy.params.schema import ParamsError


def one_line(text: str) -> str:
    """``text`` with unprintable characters escaped, so that an error stays one line.

    Params keys and CSV cells come straight from the user and may hold line breaks that
    ``str.splitlines`` honours (``\\n``, but also ``\\x1e``, ``\\u2028``, ...); we still
    print exactly one ``error:`` line per problem.
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


OS_PROBLEMS = {
    errno.ENOSPC: ("no space left on device", "free space (df -h {folder}) and rerun"),
    errno.EDQUOT: ("disk quota exceeded", "free space (df -h {folder}) and rerun"),
    errno.EACCES: ("permission denied", "make {folder} writable (or readable) for this user"),
    errno.EPERM: ("operation not permitted", "make {folder} writable (or readable) for this user"),
    errno.EROFS: ("read-only file system", "run where {folder} is writable"),
    errno.ENOENT: ("no such file or directory", "check the path; a stage's inputs come from `dvc repro`"),
}
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$")  # artifacts.py's sibling of <name>


def os_problem(err: OSError) -> str:
    """One sentence for a file-system error: the file (the output it was written for, not its
    temporary sibling), what went wrong in words, and what to do. Outputs are written
    atomically, so nothing partial was kept."""
    if err.errno is None:  # raised by annstudy with its own sentence
        return str(err)
    path = Path(err.filename) if err.filename else None
    if path is not None and (match := TEMPORARY.match(path.name)):
        path = path.with_name(match["name"])
    what, todo = OS_PROBLEMS.get(err.errno, (err.strerror or str(err), ""))
    folder = path.parent if path is not None else "."
    where = f"{path}: " if path is not None else ""
    return f"{where}{what}" + (f"; {todo.format(folder=folder)}" if todo else "")


def torch_write_problem(err: RuntimeError) -> str | None:
    """PyTorch's own wording when a write fails half-way (``[enforce fail at
    inline_container.cc...] unexpected pos``) names neither file nor cause: in practice a full disk."""
    text = str(err)
    if "inline_container.cc" not in text:
        return None
    return "writing a PyTorch file failed half-way (disk full?); free space (df -h .) and rerun"


def guarded(work: Callable[[], int]) -> int:
    """Run ``work``; turn expected failures into ``error:`` lines and an exit code."""
    try:
        return work()
    except ParamsError as err:
        for problem in err.problems:
            print(f"error: {one_line(f'{err.path}: {problem}')}", file=sys.stderr)
        return 2
    except OSError as err:  # disk full, permissions, missing files: the user's to fix
        print(f"error: {one_line(os_problem(err))}", file=sys.stderr)
        return 2
    except (ValueError, RuntimeError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        if isinstance(err, RuntimeError):
            message = torch_write_problem(err) or message
        print(f"error: {one_line(str(message))}", file=sys.stderr)
        return 2
    except MemoryError:  # validation bounds what it can (image sizes); the data can still outgrow the machine
        print(
            "error: out of memory; lower the sizes in params.yaml (data, batch sizes) or use a larger machine",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:  # outputs are written atomically (artifacts.py): nothing partial was kept
        print("error: interrupted; no partial output was kept, rerun to finish", file=sys.stderr)
        return 130
