"""How an expected failure reaches a person: one ``error:`` line per problem, exit code 2.

Bad params, corrupt data and missing files are the user's to fix, so they get a sentence
naming the key, file or row, never a traceback; Ctrl-C exits 130. The CLI and every DVC
stage entry point run their work through :func:`guarded`.
"""

from __future__ import annotations

import sys
from typing import Callable

from annstudy.params.schema import ParamsError


def one_line(text: str) -> str:
    """``text`` with unprintable characters escaped, so that an error stays one line.

    Params keys and CSV cells come straight from the user and may hold line breaks that
    ``str.splitlines`` honours (``\\n``, but also ``\\x1e``, ``\\u2028``, ...); we still
    print exactly one ``error:`` line per problem.
    """
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def guarded(work: Callable[[], int]) -> int:
    """Run ``work``; turn expected failures into ``error:`` lines and an exit code."""
    try:
        return work()
    except ParamsError as err:
        for problem in err.problems:
            print(f"error: {one_line(f'{err.path}: {problem}')}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError, RuntimeError, KeyError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
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
