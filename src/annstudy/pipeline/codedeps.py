"""The annstudy source each DVC stage runs: dvc.yaml's code dependencies, one entry per package.

A stage runs its script in stages/ and every annstudy module the script imports, directly or
through other modules, with the package ``__init__.py`` files on the way: ``import a.b.c``
runs ``a/__init__.py`` and ``a/b/__init__.py`` first. :func:`import_graph` reads these imports
from the source (AST): at module level and inside functions (the stage may call the function),
relative ones resolved, ``from pkg import name`` counting as the submodule ``pkg.name`` when
there is one.

Static analysis cannot follow an import by name. annstudy has one, in the registry
annstudy/studies/__init__.py: ``study_part(study, "<part>")`` imports the module ``<part>`` of the
study ``study`` names when it is a literal, else of every study; the part must be a literal, and
the call is followed where it is made (the registry's own ``import_module`` inside a function is
that call; one at the registry's module level would import every study package). The whole-file
params validation (annstudy/params/settings.py) imports every study's ``config`` that way, the
report every study's ``report``; a study's training stage imports its own studies' configs only
(annstudy/pipeline/stage.py). Any other import by name (``importlib.import_module``, ``__import__``)
outside the registry is an error here, so the graph cannot miss one silently.

dvc.yaml lists this code by package (:func:`code_deps`), never narrower than what runs:

- a shared package (``data``, ``engine``, ``models``, ``params``, ``pipeline``, ``report``, ``store``,
  ...) as its directory once the stage runs any module of it. Coarser than the modules that run:
  an edit anywhere in ``engine`` reruns ``prepare@<dataset>`` too, whose params validation reads
  two engine modules (optimizer names, TrainSettings).
- a study package file by file, the modules the stage runs, or as its directory when the stage
  runs all of it (the report stage). DVC cannot leave a file out of a directory dependency, and a
  study's report modules (``report.py`` and what only it imports) must not be deps of its training
  stages: a study's edit reruns that study's stages and the report only (its ``config.py`` also
  reruns the stage that validates the whole file, ``prepare@``, and the stages of the
  studies whose config imports it: S2's and S3's read S1's).
- the top-level modules (``studies/__init__.py``, ``studies/variants.py``, ``cli.py``) and the stage
  script file by file; a module that runs no code (the docstring-only ``src/annstudy/__init__.py``) not
  at all, and ``src/annstudy/studies`` as one directory for a stage that runs all of it (the report).

A report-only edit (``report/``, a study's report modules) therefore reruns only ``report``: no other
stage runs a module of those (tests/unit/test_code_deps.py checks it). ``annstudy deps`` prints,
checks (``--check``) or rewrites (``--write``) the code deps in dvc.yaml; the same test keeps them
equal to what this module computes.
"""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from ruamel.yaml import YAML

PACKAGE = "annstudy"
STUDIES = "studies"  # annstudy.studies: the registry; its subpackages are the studies
PART_LOADER = "study_part"  # study_part(study, part): how a module outside the registry imports by name
BY_NAME = ("import_module", "__import__")  # imports by name that only the registry may call
CODE = ("stages/", "src/")  # dvc.yaml deps under these are code, the others data

# {module: {module it imports: whether at import time (module level) rather than in a function}}
Graph = dict[str, dict[str, bool]]


def module_files(src: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``src``: dotted name -> file (a package's is its __init__.py)."""
    files = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = path.relative_to(src).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def _nodes(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Every node of ``tree``, with whether it runs when the module is imported (not in a function)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, True)]
    while stack:
        node, at_import = stack.pop()
        yield node, at_import
        inner = at_import and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _from_base(node: ast.ImportFrom, module: str | None, is_package: bool) -> str:
    """The absolute module of ``from <base> import ...``: ``.`` is the importer's package."""
    if not node.level:
        return node.module or ""
    if module is None:
        raise ValueError(f"line {node.lineno}: a relative import outside a package")
    package = module.split(".") if is_package else module.split(".")[:-1]
    package = package[: len(package) - node.level + 1]
    return ".".join([*package, *([node.module] if node.module else [])])


def _called(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def _studies(files: Mapping[str, Path], package: str) -> list[str]:
    """Every study package, as the registry finds them: the subpackages of annstudy.studies with a config module."""
    registry = f"{package}.{STUDIES}"
    return [m for m, p in files.items() if m.rpartition(".")[0] == registry and f"{m}.config" in files]


def _study_parts(node: ast.Call, files: Mapping[str, Path], package: str) -> list[str]:
    """The modules a ``study_part(study, "<part>")`` call imports: that part of the named study or of all."""
    study, part = (node.args + [None, None])[:2]
    if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
        raise ValueError(f"line {node.lineno}: {PART_LOADER}() needs its part as a literal string")
    if isinstance(study, ast.Constant) and isinstance(study.value, str):
        studies = [f"{package}.{STUDIES}.{study.value}"]
    else:
        studies = _studies(files, package)
    return [f"{s}.{part.value}" for s in studies if f"{s}.{part.value}" in files]


def _imported(
    node: ast.AST,
    module: str | None,
    is_package: bool,
    files: Mapping[str, Path],
    package: str,
    by_name: bool,
    at_import: bool = True,
) -> list[str]:
    """The dotted names one node imports (its modules' parents are added by the caller)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = _from_base(node, module, is_package)
        return [base, *(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")]
    if isinstance(node, ast.Call) and _called(node) == PART_LOADER:
        return _study_parts(node, files, package) if by_name else []
    if isinstance(node, ast.Call) and _called(node) in BY_NAME:
        if module != f"{package}.{STUDIES}":
            why = f"an import by name, which {__name__} cannot follow; use {PART_LOADER}"
            raise ValueError(f"line {node.lineno}: {why}")
        # the registry's: at import time, each imports a study package; in a function it is study_part's,
        # followed at each call of study_part instead
        return _studies(files, package) if by_name and at_import else []
    return []


def imports(
    path: Path, module: str | None, files: Mapping[str, Path], package: str = PACKAGE, by_name: bool = True
) -> dict[str, bool]:
    """The modules of ``package`` that the source at ``path`` (module ``module``, None for a
    script) imports, each with the packages it runs first: {module: at import time}.
    ``by_name``: with the imports of study parts by name (``study_part``)."""
    found: dict[str, bool] = {}
    is_package = path.name == "__init__.py"
    for node, at_import in _nodes(ast.parse(path.read_text(), str(path))):
        try:
            names = _imported(node, module, is_package, files, package, by_name, at_import)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
        for name in names:
            parts = name.split(".")
            for prefix in (".".join(parts[:i]) for i in range(1, len(parts) + 1)):
                if prefix in files and prefix != module:
                    found[prefix] = found.get(prefix, False) or at_import
    return found


def import_graph(src: Path, package: str = PACKAGE, by_name: bool = True) -> Graph:
    """Every module of ``package`` under ``src`` -> the modules it imports (see :func:`imports`)."""
    files = module_files(src, package)
    return {name: imports(path, name, files, package, by_name) for name, path in files.items()}


def closure(graph: Graph, roots: Iterable[str]) -> set[str]:
    """``roots`` and every module they import, directly or not."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def _group(module: str, files: Mapping[str, Path], package: str) -> str | None:
    """The package ``module`` is listed under: a study (annstudy.studies.<s>) or a shared package
    (annstudy.<p>); None for a top-level module (annstudy, annstudy.cli, annstudy.studies, ...studies.variants)."""
    parts = module.split(".")
    depth = 3 if parts[1:2] == [STUDIES] else 2
    group = ".".join(parts[:depth])
    return group if len(parts) >= depth and files[group].name == "__init__.py" else None


def code_deps(
    script: str, modules: set[str], files: Mapping[str, Path], root: Path, package: str = PACKAGE
) -> list[str]:
    """dvc.yaml's code deps of a stage that runs ``script`` and imports ``modules``: a shared package's
    directory, a study package's modules (its directory when all of them run), a top-level module's file."""
    members: dict[str | None, set[str]] = {}
    for module in files:
        members.setdefault(_group(module, files, package), set()).add(module)
    deps = set()
    for module in filter(lambda m: runs_code(files[m]), modules):
        group = _group(module, files, package)
        whole = group is not None and (group.split(".")[1] != STUDIES or members[group] <= modules)
        deps.add((files[group].parent if whole else files[module]).relative_to(root).as_posix())
    return [script, *sorted(_whole_studies(deps, modules, files, root, package))]


def runs_code(path: Path) -> bool:
    """Whether importing the module runs anything but its docstring: a docstring-only ``__init__.py``
    (the top-level package's) is no code dependency of any stage."""
    body = ast.parse(path.read_text()).body
    docstring = body[:1] and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
    return len(body) > (1 if docstring else 0)


def _whole_studies(deps: set[str], modules: set[str], files: Mapping[str, Path], root: Path, package: str) -> set[str]:
    """A stage that runs every module under annstudy/studies (the report) lists that one directory."""
    prefix = f"{package}.{STUDIES}"
    under = {m for m in files if m == prefix or m.startswith(prefix + ".")}
    if not under <= modules:
        return deps
    directory = files[prefix].parent.relative_to(root).as_posix()
    return {d for d in deps if d != directory and not d.startswith(directory + "/")} | {directory}


def stage_scripts(stages: Mapping) -> dict[str, str]:
    """dvc.yaml stage name -> the script under stages/ its ``cmd`` runs."""
    scripts = {}
    for name, stage in stages.items():
        cmd = stage.get("do", stage)["cmd"]
        found = set(re.findall(r"(?:^|\s)(stages/\S+\.py)(?=\s|$)", " ".join([cmd] if isinstance(cmd, str) else cmd)))
        if len(found) != 1:
            raise ValueError(f"dvc.yaml: stage {name!r} must run one script under stages/, found {sorted(found)}")
        scripts[name] = found.pop()
    return scripts


def _yaml() -> YAML:
    """A round-trip YAML that writes dvc.yaml back with its comments and layout."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def computed_deps(root: Path, package: str = PACKAGE) -> dict[str, list[str]]:
    """Stage name -> the code deps its imports call for (the repository at ``root``)."""
    files = module_files(root / "src", package)
    graph = import_graph(root / "src", package)
    stages = _yaml().load(root / "dvc.yaml")["stages"]
    deps = {}
    for name, script in stage_scripts(stages).items():
        modules = closure(graph, imports(root / script, None, files, package))
        deps[name] = code_deps(script, modules, files, root, package)
    return deps


def _deps_list(stage: Mapping) -> list:
    return stage.get("do", stage).get("deps", [])


def listed_deps(root: Path) -> dict[str, list[str]]:
    """Stage name -> the code deps dvc.yaml lists (deps under stages/ or src/)."""
    stages = _yaml().load(root / "dvc.yaml")["stages"]
    return {name: [d for d in _deps_list(stage) if str(d).startswith(CODE)] for name, stage in stages.items()}


def differences(root: Path) -> list[str]:
    """One line per code dep dvc.yaml lists but the stage does not run, or runs but is not listed."""
    listed, computed = listed_deps(root), computed_deps(root)
    problems = []
    for name, deps in computed.items():
        problems += [f"{name}: missing {d}" for d in deps if d not in listed[name]]
        problems += [f"{name}: not imported {d}" for d in listed[name] if d not in deps]
    return problems


def write_deps(root: Path) -> list[str]:
    """Rewrite dvc.yaml's code deps (first in each list, data deps after, as they were); comments and
    layout are kept. Returns the stages whose deps changed."""
    yaml, path = _yaml(), root / "dvc.yaml"
    doc = yaml.load(path)
    changed = []
    for name, code in computed_deps(root).items():
        body = doc["stages"][name].get("do", doc["stages"][name])
        deps = body.setdefault("deps", [])
        new = [*code, *(d for d in deps if not str(d).startswith(CODE))]
        if list(deps) != new:
            changed.append(name)
            del deps[:]
            deps.extend(new)
    out = io.StringIO()
    yaml.dump(doc, out)
    path.write_text(out.getvalue())
    return changed
