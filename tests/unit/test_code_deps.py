"""Code dependencies: dvc.yaml lists exactly the code each stage imports (annstudy/pipeline/codedeps.py),
and annstudy's packages import each other in one direction only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from annstudy.cli import main
from annstudy.params.settings import load_yaml
from annstudy.pipeline.codedeps import (
    closure,
    code_deps,
    computed_deps,
    differences,
    import_graph,
    imports,
    listed_deps,
    module_files,
    stage_scripts,
    write_deps,
)
from annstudy.studies import STUDIES
from conftest import ROOT

# ------------------------------------------------------------------ the graph, on a tiny package

TINY = {
    "pkg/__init__.py": "VERSION = '1'\n",
    "pkg/engine/__init__.py": "",
    "pkg/engine/names.py": "NAMES = ('sgd',)\n",
    "pkg/engine/loop.py": "def train():\n    from .names import NAMES  # relative, in a function\n    return NAMES\n",
    "pkg/engine/unused.py": "",
    "pkg/params/__init__.py": (
        "from pkg.studies import study_part\nCONFIGS = [study_part(s, 'config') for s in ('one', 'two')]\n"
    ),
    "pkg/studies/__init__.py": (
        "import importlib\n\n\ndef study_part(study, part):\n"
        "    return importlib.import_module(f'pkg.studies.{study}.{part}')\n"
    ),
    "pkg/studies/one/__init__.py": "",
    "pkg/studies/one/config.py": "from ...engine.names import NAMES\n",
    "pkg/studies/one/run.py": "from pkg.engine import loop\nfrom pkg.params import CONFIGS\n",
    "pkg/studies/one/report.py": (
        "def build():\n    from pkg.studies import study_part\n\n    return study_part('two', 'config')\n"
    ),
    "pkg/studies/two/__init__.py": "",
    "pkg/studies/two/config.py": "NAME = 'two'\n",
    "stages/one.py": "from pkg.studies.one import run\n",
    "stages/prep.py": "import pkg.params\n",
}


@pytest.fixture
def tiny(tmp_path) -> Path:
    for name, text in TINY.items():
        path = tmp_path / "src" / name if name.startswith("pkg/") else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_imports_module_and_function_level_relative_and_submodules(tiny):
    graph = import_graph(tiny / "src", "pkg")
    assert len(graph) == 13
    # `from .names import NAMES` inside a function: the module, not at import time; `pkg` runs first
    assert graph["pkg.engine.loop"] == {"pkg": False, "pkg.engine": False, "pkg.engine.names": False}
    # `from pkg.engine import loop`: loop is a submodule, so it counts (and pkg.engine runs first)
    assert graph["pkg.studies.one.run"] == {
        "pkg": True,
        "pkg.engine": True,
        "pkg.engine.loop": True,
        "pkg.params": True,
    }
    assert graph["pkg.studies.one.config"] == {"pkg": True, "pkg.engine": True, "pkg.engine.names": True}
    # study_part(s, 'config') with s not a literal: that part of every study that has one
    assert graph["pkg.params"] == {
        "pkg": True,
        "pkg.studies": True,
        "pkg.studies.one": True,
        "pkg.studies.one.config": True,
        "pkg.studies.two": True,
        "pkg.studies.two.config": True,
    }
    # a literal study: that study only; the registry's own import_module is the one allowed
    assert graph["pkg.studies.one.report"] == {
        "pkg": False,
        "pkg.studies": False,
        "pkg.studies.two": False,
        "pkg.studies.two.config": False,
    }
    # the registry's own import by name inside study_part: followed at each call of study_part instead
    assert graph["pkg.studies"] == {}
    assert import_graph(tiny / "src", "pkg", by_name=False)["pkg.params"] == {"pkg": True, "pkg.studies": True}
    # one at the registry's module level (e.g. to read each study's __init__.py): every study package
    registry = tiny / "src/pkg/studies/__init__.py"
    registry.write_text(registry.read_text() + "\n\nORDER = [importlib.import_module(f'pkg.studies.{s}') for s in S]\n")
    graph = import_graph(tiny / "src", "pkg")
    assert graph["pkg.studies"] == {"pkg": True, "pkg.studies.one": True, "pkg.studies.two": True}


def test_closure_and_granularity(tiny):
    files = module_files(tiny / "src", "pkg")
    graph = import_graph(tiny / "src", "pkg")
    validation = closure(graph, ["pkg.params"])
    one = closure(graph, imports(tiny / "stages/one.py", None, files, "pkg"))
    assert one == validation | {"pkg.studies.one.run", "pkg.engine.loop"}
    assert len(one) == 11  # not engine.unused, not one.report
    # shared packages (engine, params): their directories; study one: file by file (never its report.py);
    # study two: all of it runs, so its directory
    assert code_deps("stages/one.py", one, files, tiny, "pkg") == [
        "stages/one.py",
        "src/pkg/__init__.py",
        "src/pkg/engine",
        "src/pkg/params",
        "src/pkg/studies/__init__.py",
        "src/pkg/studies/one/config.py",  # not one/__init__.py: empty, it runs no code
        "src/pkg/studies/one/run.py",
        "src/pkg/studies/two",
    ]
    # only params validation reaches engine (engine.names): still the directory, coarser than what runs
    prep = closure(graph, imports(tiny / "stages/prep.py", None, files, "pkg"))
    assert prep == validation and "pkg.engine.loop" not in prep
    assert code_deps("stages/prep.py", prep, files, tiny, "pkg") == [
        "stages/prep.py",
        "src/pkg/__init__.py",
        "src/pkg/engine",
        "src/pkg/params",
        "src/pkg/studies/__init__.py",
        "src/pkg/studies/one/config.py",
        "src/pkg/studies/two",
    ]


def test_an_import_by_name_outside_the_registry_is_refused(tiny):
    (tiny / "src/pkg/engine/unused.py").write_text("import importlib\n\nimportlib.import_module('pkg.engine.loop')\n")
    with pytest.raises(ValueError, match=r"unused\.py: line 3: an import by name"):
        import_graph(tiny / "src", "pkg")
    (tiny / "src/pkg/engine/unused.py").write_text("from pkg.studies import study_part\n\nstudy_part('one', PART)\n")
    with pytest.raises(ValueError, match=r"unused\.py: line 3: study_part\(\) needs its part as a literal"):
        import_graph(tiny / "src", "pkg")


# ------------------------------------------------------------------ annstudy's dvc.yaml


@pytest.fixture(scope="module")
def deps() -> dict[str, list[str]]:
    return computed_deps(ROOT)


def test_dvc_yaml_lists_exactly_the_code_each_stage_imports(capsys):
    assert differences(ROOT) == []
    assert main(["deps", "--check", "--repo", str(ROOT)]) == 0
    assert capsys.readouterr().out == "dvc.yaml: every stage lists exactly the code it imports\n"
    assert len(listed_deps(ROOT)) == 14  # stage groups (foreach/matrix stages share one list)


def _covers(dep: str, file: str) -> bool:
    """Whether the dvc.yaml dep ``dep`` (a file or a directory) covers ``file``: DVC hashes a directory whole."""
    return file == dep or file.startswith(dep + "/")


def _ran(stage_deps: dict[str, list[str]]) -> dict[str, set[str]]:
    """Stage -> the files of the modules it runs (its script's import closure)."""
    files = module_files(ROOT / "src")
    graph = import_graph(ROOT / "src")
    scripts = stage_scripts(load_yaml((ROOT / "dvc.yaml").read_text())["stages"])
    return {
        stage: {
            files[m].relative_to(ROOT).as_posix() for m in closure(graph, imports(ROOT / scripts[stage], None, files))
        }
        for stage in stage_deps
    }


def test_each_dep_is_a_package_directory_or_a_file_no_shared_package_file_by_file(deps):
    shared = {p.name for p in (ROOT / "src/annstudy").iterdir() if (p / "__init__.py").is_file()} - {"studies"}
    assert {"data", "engine", "models", "params", "pipeline", "report", "store", "scratch"} <= shared
    for stage, code in deps.items():
        for dep in code[1:]:
            parts = dep.split("/")  # src/annstudy/<package>/...
            if parts[2] in shared:
                assert len(parts) == 3, (stage, dep)  # the package's directory, never its files
            elif parts[2] == "studies" and len(parts) == 4:
                assert parts[3] in ("__init__.py", "variants.py") or stage == "report", (stage, dep)
    assert deps["prepare"][:8] == [  # not src/annstudy/__init__.py: a docstring, no code
        "stages/prepare.py",
        *(f"src/annstudy/{p}" for p in ("data", "engine", "models", "params", "pipeline", "scratch", "store")),
    ]
    assert deps["report"][-1] == "src/annstudy/studies"  # it runs every module under studies/: one directory


def test_a_report_edit_reruns_only_the_report(deps):
    """No other stage's deps cover report code: report/ and the modules of a study only the report runs
    (its report.py, ...), so a study package is listed file by file wherever it is not run whole. (A module
    of another shared package that only the report runs, e.g. models/summary.py, is an accepted coarse rerun.)"""
    ran = _ran(deps)
    report_only = ran["report"] - set().union(*(files for stage, files in ran.items() if stage != "report"))
    report_only = {f for f in report_only if f.startswith(("src/annstudy/report/", "src/annstudy/studies/"))}
    assert {"src/annstudy/report/render.py", "src/annstudy/studies/spiral/report.py"} <= report_only
    assert len(report_only) >= 9 + 10  # every study's report.py and report/'s modules
    for stage, code in deps.items():
        covered = {f for f in report_only for dep in code if _covers(dep, f)}
        assert covered == (report_only if stage == "report" else set()), stage
    assert "src/annstudy/report" in deps["report"]


def test_a_study_edit_reruns_only_its_stages_and_the_report(deps):
    """A module of study s (not its __init__.py or config.py: see the next test) is covered only by the
    stages stages/<s>.py runs, and the report."""
    scripts = stage_scripts(load_yaml((ROOT / "dvc.yaml").read_text())["stages"])
    for study in STUDIES:
        package = ROOT / "src/annstudy/studies" / study
        own = [
            p.relative_to(ROOT).as_posix() for p in package.glob("*.py") if p.name not in ("__init__.py", "config.py")
        ]
        assert len(own) >= 2, study  # run.py, report.py
        for stage, code in deps.items():
            touched = [f for f in own if any(_covers(dep, f) for dep in code)]
            mine = stage == "report" or scripts[stage].removesuffix(".py").removesuffix("_stage") == f"stages/{study}"
            assert not touched or mine, (study, stage, touched)


def _study_deps(code: list[str]) -> list[str]:
    return [d.removeprefix("src/annstudy/studies/") for d in code if d.startswith("src/annstudy/studies/")]


def test_a_stage_lists_the_configs_it_validates_and_no_other_study(deps):
    """A study's stage validates (and lists) its own study's config and those its config imports; the
    whole-file validator (prepare@: before any training) and the report list every study."""
    assert _study_deps(deps["spiral"]) == [
        "__init__.py",
        "spiral/__init__.py",
        "spiral/config.py",
        "spiral/run.py",
    ]
    assert deps["spiral"][0] == "stages/spiral.py"
    assert _study_deps(deps["learning_rates_sgd"]) == [
        "__init__.py",
        "architectures/__init__.py",
        "architectures/config.py",  # S3 trains on S1's dataset and architectures
        "learning_rates/__init__.py",
        "learning_rates/config.py",
        "learning_rates/run.py",
        "variants.py",
    ]
    configs = [d for d in _study_deps(deps["prepare"]) if d.endswith("/config.py")]
    assert configs == [f"{s}/config.py" for s in sorted(STUDIES)]  # it validates the whole file
    assert _study_deps(deps["inputs"]) == ["__init__.py"]  # the run's keys and `data` only
    configs = {s: [st for st, code in deps.items() if f"src/annstudy/studies/{s}/config.py" in code] for s in STUDIES}
    assert configs["spiral"] == ["prepare", "spiral"]  # and report: the studies directory
    assert len(configs["architectures"]) == 1 + 1 + 1 + 3  # prepare, S1, S2, S3's 3


def test_a_study_stage_validates_exactly_the_configs_it_lists():
    """What a study's stage validates is the study configs its process has imported (pipeline/stage.py),
    so each section it checks is a code dep of it, and no other (run as the stage script imports them)."""
    probe = (
        "from annstudy.pipeline.stage import configs_run\n"
        "from annstudy.studies.regression import config, run\nprint(','.join(configs_run()))\n"
        "from annstudy.studies.activations import config, run\nprint(','.join(configs_run()))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["regression", "architectures,activations,regression"], out.stderr


def test_write_restores_the_deps_and_keeps_comments_and_layout(tmp_path):
    for name in ("src", "stages"):
        (tmp_path / name).symlink_to(ROOT / name)
    text = (ROOT / "dvc.yaml").read_text()
    stale = text.replace("        - src/annstudy/pipeline\n", "").replace("      - src/annstudy/params\n", "")
    stale = stale.replace("      - stages/report.py\n", "      - stages/report.py\n      - src/annstudy\n")
    assert stale.count("\n") < text.count("\n") - 10
    (tmp_path / "dvc.yaml").write_text(stale)
    assert len(differences(tmp_path)) > 10
    assert main(["deps", "--repo", str(tmp_path), "--check"]) == 1
    assert len(write_deps(tmp_path)) == len(listed_deps(ROOT))  # every stage group rewritten
    assert (tmp_path / "dvc.yaml").read_text() == text
    assert write_deps(tmp_path) == []


# ------------------------------------------------------------------ one direction between packages


def _node(module: str) -> str:
    """A module's package for the layering: annstudy.<p> (or a top-level module); the registry
    annstudy.studies apart from each study annstudy.studies.<s>."""
    parts = module.split(".")
    return ".".join(parts[:3] if parts[1:2] == ["studies"] else parts[:2])


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of the directed graph ``edges``, or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def _package_edges(by_name: bool) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for module, imported in import_graph(ROOT / "src", by_name=by_name).items():
        for target in imported:
            if target != "annstudy" and _node(target) != _node(module):
                edges.setdefault(_node(module), set()).add(_node(target))
    return edges


def test_no_cycle_between_packages():
    """Shared code reaches a study only by name, through the registry (study_part): the registry
    annstudy.studies imports nothing of annstudy, and without those imports by name the packages
    form no cycle."""
    edges = _package_edges(by_name=False)
    assert "annstudy.studies" not in edges  # the registry: a leaf
    assert _cycle(edges) == []
    assert {"annstudy.params", "annstudy.report"} <= {a for a, b in edges.items() if "annstudy.studies" in b}


def test_shared_packages_know_no_study():
    edges = _package_edges(by_name=True)
    studies = {n for n in {*edges, *(t for ts in edges.values() for t in ts)} if n.startswith("annstudy.studies")}
    # the registry, 9 studies and studies.variants (the record of an S2/S3 variant both share)
    assert studies == {"annstudy.studies", "annstudy.studies.variants", *(f"annstudy.studies.{s}" for s in STUDIES)}
    assert len(STUDIES) == 9
    for shared in ("engine", "data", "models", "scratch"):
        assert not edges.get(f"annstudy.{shared}", set()) & (studies | {"annstudy.params"}), shared
    # the report reaches studies through the registry, in render alone
    graph = import_graph(ROOT / "src")
    for module, imported in graph.items():
        if module.startswith("annstudy.report") and module != "annstudy.report.render":
            assert not {t for t in imported if t.startswith("annstudy.studies")}, module
    assert {t for t in graph["annstudy.report.render"] if t.startswith("annstudy.studies.")} == {
        f"annstudy.studies.{s}{part}" for s in STUDIES for part in ("", ".report")
    }


def test_no_import_time_cycle_between_modules():
    """What runs when a module is imported (module-level imports, with their parent packages, and
    imports by name at module level) forms no cycle, so any annstudy module can be imported first."""
    graph = import_graph(ROOT / "src")
    at_import = {m: {t for t, now in imported.items() if now} for m, imported in graph.items()}
    assert _cycle(at_import) == []
