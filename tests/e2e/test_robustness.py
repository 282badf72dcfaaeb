"""Faults and bad input: each guarantee of docs/robustness.md as a named test.

Covered elsewhere (not repeated here): a flipped byte / truncated gzip in the raw files
(test_data.py), one-line params mistakes (test_params.py), divergence inside the
training loop (test_engine.py), a forced rerun giving identical numbers (test_pipeline.py),
bad CSV rows and images (test_image_csv.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annstudy.cli import main
from annstudy.engine import seeds
from annstudy.engine.device import configure
from annstudy.engine.settings import TrainSettings
from annstudy.params.settings import load_yaml
from annstudy.store.artifacts import atomic_dir, stale_temporaries, write_json
from annstudy.store.records import read_record
from annstudy.studies.architectures.report import ArchResult, load_results, metrics
from conftest import ROOT, blobs_dataset, needs_fashion
from helpers.dvc_repo import dvc, make_repo, ran_stages
from helpers.mirrors import fake_mirror
from helpers.training import small_train_settings

# ------------------------------------------------------------------ corrupt raw data


def test_corrupt_raw_file_stops_prepare_with_both_checksums_and_writes_nothing(tmp_path, monkeypatch, params, capsys):
    mirror, _ = fake_mirror(tmp_path / "mirror", monkeypatch, compress=False)
    target = mirror / "t10k-images-idx3-ubyte"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))
    params["data"]["mirror"] = str(mirror)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert main(["prepare", "fashion_mnist"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {target}: SHA-256 of the contents is ") and err.count("\n") == 1
    from annstudy.data import fashion_mnist as fm

    assert fm.SHA256["t10k-images-idx3-ubyte"] in err
    assert not (tmp_path / "data").exists()  # no prepared data, no timing: nothing downstream can start


# ------------------------------------------------------------------ params.yaml fuzzing


def _paths(node, prefix=()):
    """Every key path of params.yaml, sections as well as leaves."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))


PARAM_PATHS = sorted(_paths(load_yaml((ROOT / "params.yaml").read_text())), key=str)
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["mlp_1", "adam", "cuda", "rgb", "quick", "image_csv", "auto"]),
    st.lists(st.one_of(st.integers(-2, 40), st.text(max_size=3), st.floats()), max_size=3),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(-1, 5), st.none()), max_size=2),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(PARAM_PATHS), ANY_VALUE, st.booleans()), min_size=1, max_size=3))
def test_fuzz_params_never_raise_only_error_lines(default_params, capsys, edits):
    raw = json.loads(json.dumps(default_params))
    for path, value, as_new_key in edits:
        node = raw
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[f"{path[-1]}_x" if as_new_key else path[-1]] = value
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "params.yaml"
        file.write_text(yaml.safe_dump(raw))
        capsys.readouterr()
        code = main(["validate", str(file)])
    out = capsys.readouterr()
    assert code in (0, 2)
    if code == 2:
        lines = out.err.splitlines()
        assert lines and all(line.startswith(f"error: {file}: ") for line in lines), out.err


def test_keys_with_line_breaks_still_give_one_error_line_each(default_params, capsys, tmp_path):
    """Found by the fuzz test in CI: a key holding ``\\x1e`` split one problem over two lines
    (``str.splitlines`` breaks on it, as on ``\\u2028`` and ``\\n``)."""
    raw = json.loads(json.dumps(default_params))
    raw["profiles"]["quick"]["architectures"] = {"\x1e": None}
    raw["studies"]["spiral"]["a\u2028b\nc"] = 1
    file = tmp_path / "params.yaml"
    file.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(file)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert all(line.startswith(f"error: {file}: ") for line in lines), lines
    assert any(line.startswith(f"error: {file}: profiles.quick.architectures.\\x1e: unknown key") for line in lines)
    assert any(r"studies.spiral.a\u2028b\nc: unknown key" in line for line in lines)
    assert sum("missing" in line for line in lines) == 7  # epochs, log_every, val_subset, stop_patience, ...


# ------------------------------------------------------------------ divergence in metrics.json


def arch_result(arch: str, diverged: list[bool], acc: float = 0.8) -> ArchResult:
    seeds = [
        {"seed": s, "train_seconds": 1.0, "steps": 7 if d else 10, "diverged": d, "diverged_step": 7 if d else None}
        for s, d in enumerate(diverged)
    ]
    per_seed = [
        {"seed": s, "diverged": d, "train_acc": 0.9, "val_acc": 0.8, "test_acc": 0.1 if d else acc + s / 100}
        for s, d in enumerate(diverged)
    ]
    run = {"params": 100, "seeds": seeds, "train": {"batch_size": 10, "epochs": 1, "train_eval_subset": 0}}
    return ArchResult(arch, run, {"per_seed": per_seed, "selected_seed": 0}, curves=None)  # type: ignore[arg-type]


def test_metrics_of_diverged_runs_are_null_never_nan():
    found = metrics([arch_result("mlp_1", [True, True]), arch_result("cnn_3", [False, True, False])], n_test=100)
    assert found["mlp_1"] == {"test_acc_mean": None, "test_acc_std": None}  # no healthy seed
    assert found["cnn_3"] == {"test_acc_mean": 0.81, "test_acc_std": 0.01414}  # healthy seeds 0, 2
    # chosen on validation: cnn_3 (mlp_1 has no healthy seed), its seed 0 (a tie: the lowest seed)
    assert found["chosen"] == {"arch": "cnn_3", "test_acc": 0.8} and found["n_test"] == 100
    json.dumps(found, allow_nan=False)


def test_an_all_diverged_architecture_ranks_last_and_the_pick_is_by_validation():
    from annstudy.report.stats import pairwise
    from annstudy.studies.architectures.claims import _best_claim

    results = [
        arch_result("mlp_1", [True, True]),
        arch_result("cnn_3", [False, False]),
        arch_result("cnn_4", [False, False], acc=0.7),
    ]
    results[2].evaluation["per_seed"][1]["val_acc"] = 0.9  # cnn_4: worse on test, better on validation
    claim = _best_claim(results, pairwise({r.arch: list(r.healthy["test_acc"]) for r in results[1:]}))
    assert claim.statement == (
        "cnn_4 (highest validation accuracy, 85.0 %) is behind the validation runner-up cnn_3 on test"
    )
    assert claim.statistic == "cnn_4 − cnn_3 = -10.0 points" and claim.n == 2 and claim.status.value == "supported"
    assert results[2].chosen_seed == 1 and results[1].chosen_seed == 0  # ties: the lowest seed
    assert _best_claim(results[:2], []) == "Only cnn_3 has seeds that did not diverge."


def test_all_seeds_diverging_still_gives_a_report_and_json_metrics(tmp_path, monkeypatch, params):
    """Train, evaluate and the report section on a run whose loss explodes (SGD, lr 1e30)."""
    from annstudy.params.settings import load_settings
    from annstudy.studies.architectures import report
    from helpers.image_folders import write_insects

    write_insects(tmp_path / "insects", per_class=8)
    monkeypatch.chdir(tmp_path)
    params["profile"] = "smoke"
    params["data"]["val_fraction"] = 0.25
    params["data"]["image_csv"].update(
        csv="insects/labels.csv", filename_column="file", label_column="species", image_size=[8, 8], color="rgb"
    )
    params["studies"]["architectures"].update(
        dataset="image_csv", archs=["mlp_1", "mlp_2"], optimizer="sgd", lr=1e30, batch_size=4, epochs=3, log_every=2
    )
    Path("params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert main(["prepare", "image_csv"]) == 0
    for arch in ("mlp_1", "mlp_2"):
        assert main(["stage", "architectures", "train", arch]) == 0
        assert main(["stage", "architectures", "evaluate", arch]) == 0
    run = read_record("data/architectures/train/mlp_1").summary
    assert all(s["diverged"] and 1 <= s["diverged_step"] <= 2 for s in run["seeds"]), run["seeds"]
    section = report.build(load_settings(), tmp_path / "reports")
    json.dumps(section.metrics, allow_nan=False)
    assert section.metrics["mlp_1"] == {"test_acc_mean": None, "test_acc_std": None}
    text = json.dumps([str(b) for b in section.blocks])
    assert "diverged (every seed)" in text and "mlp_1 diverged" in text


# ------------------------------------------------------------------ out of memory


def cfg(**kw) -> TrainSettings:
    """The shared small settings (helpers/training.py) with this module's differences."""
    return small_train_settings(
        **{**dict(lr=1e-2, eval_batch_size=7, seeds=(0, 1, 2, 3, 4), log_every=4, vectorize=True), **kw}
    )


def oom_above(limit: int, monkeypatch, error: BaseException) -> list[tuple[int, ...]]:
    """Make the loop fail like a full device for stacks of more than ``limit`` seeds."""
    real, groups = seeds.train_stack, []

    def fake(model, data, cfg, shuffle_seeds, *args, **kwargs):
        groups.append(tuple(shuffle_seeds))
        if len(shuffle_seeds) > limit:
            raise error
        return real(model, data, cfg, shuffle_seeds, *args, **kwargs)

    monkeypatch.setattr(seeds, "train_stack", fake)
    return groups


CUDA_OOM = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
CPU_OOM = RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")


@pytest.mark.parametrize("error", [CUDA_OOM, CPU_OOM], ids=["cuda", "cpu"])
def test_out_of_memory_splits_the_seeds_and_gives_identical_runs(monkeypatch, error):
    data = blobs_dataset()
    whole = seeds.train_seeds("mlp_2", data, cfg())
    groups = oom_above(2, monkeypatch, error)
    chunked = seeds.train_seeds("mlp_2", data, cfg())
    assert groups == [(0, 1, 2, 3, 4), (0, 1), (2, 3, 4), (2,), (3, 4)]
    assert [r.group for r in chunked] == [(0, 1), (0, 1), (2,), (3, 4), (3, 4)]
    assert [r.group for r in whole] == [(0, 1, 2, 3, 4)] * 5
    for a, b in zip(whole, chunked):
        assert a.seed == b.seed and a.curve == b.curve and a.epochs == b.epochs and a.steps == b.steps
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)


def test_out_of_memory_with_one_seed_names_the_settings_to_change(monkeypatch):
    oom_above(0, monkeypatch, CUDA_OOM)
    with pytest.raises(RuntimeError, match=r"studies.architectures.batch_size.*vectorize_seeds: false"):
        seeds.train_seeds("mlp_1", blobs_dataset(), cfg(seeds=(0, 1)))


def test_out_of_memory_one_seed_at_a_time_is_a_clear_error(monkeypatch):
    groups = oom_above(0, monkeypatch, CPU_OOM)
    with pytest.raises(RuntimeError, match=r"out of memory training mlp_1 \(seeds \[0\], batch 16"):
        seeds.train_seeds("mlp_1", blobs_dataset(), cfg(vectorize=False))
    assert groups == [(0,)]  # a stack of one: nothing left to halve


def test_other_runtime_errors_are_not_mistaken_for_out_of_memory(monkeypatch):
    groups = oom_above(0, monkeypatch, RuntimeError("mat1 and mat2 shapes cannot be multiplied"))
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        seeds.train_seeds("mlp_1", blobs_dataset(), cfg())
    assert groups == [(0, 1, 2, 3, 4)]  # no retry


# ------------------------------------------------------------------ determinism


def test_same_params_twice_give_bit_identical_stacked_runs():
    """BatchNorm + dropout, stacked seeds: the path every study takes by default."""
    configure(deterministic=True, num_threads=0)
    assert torch.are_deterministic_algorithms_enabled()
    settings_ = cfg(seeds=(3, 4), epochs=1, lr=1e-3, channels_last=True)
    a, b = (seeds.train_seeds("cnn_bn4", blobs_dataset(size=16), settings_) for _ in range(2))
    for x, y in zip(a, b):
        assert x.curve == y.curve and x.epochs == y.epochs
        assert all(torch.equal(x.state_dict[k], y.state_dict[k]) for k in x.state_dict)


# ------------------------------------------------------------------ interruption


def test_interrupted_writer_leaves_nothing_that_looks_complete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = Path("data/architectures/train/mlp_1")
    with pytest.raises(KeyboardInterrupt):  # SIGINT: the temporary directory is removed
        with atomic_dir(target) as tmp:
            write_json(tmp / "run.json", {"arch": "mlp_1"})
            raise KeyboardInterrupt
    assert not target.exists() and stale_temporaries(target) == []
    # SIGKILL: no cleanup runs, the half-written temporary directory stays behind
    stale = Path(tempfile.mkdtemp(prefix=".mlp_1.", suffix=".tmp", dir=target.parent))
    (stale / "live").mkdir()
    (stale / "live/metrics.json").write_text("{}")
    assert stale_temporaries(target) == [stale]
    with pytest.raises(FileNotFoundError, match=r"train/mlp_1/live/metrics.json: missing"):
        load_results(("mlp_1",))  # readers only ever open the final name
    with atomic_dir(target) as tmp:  # the next writer of mlp_1 removes it
        write_json(tmp / "run.json", {"arch": "mlp_1"})
    assert not stale.exists() and json.loads((target / "run.json").read_text()) == {"arch": "mlp_1"}
    assert ".*.tmp" in (ROOT / ".dvcignore").read_text().splitlines()  # and DVC never hashes it


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("annstudy.cli.cmd_validate", interrupted)  # looked up when main builds its parser
    assert main(["validate"]) == 130
    assert capsys.readouterr().err == "error: interrupted; no partial output was kept, rerun to finish\n"


# S1 only (its upstream prepare and train stages come along): the rest of the pipeline adds
# minutes and nothing to what is tested here.
S1_TARGETS = ("architectures@mlp_1", "architectures@lenet5")


def _results(repo: Path) -> dict:
    """Every S1 evaluation and training curve, wall times left out."""
    evals = {
        p.name: {k: v for k, v in read_record(p).summary.items() if "seconds" not in k}
        for p in sorted((repo / "data/architectures/eval").iterdir())
    }
    curves = {
        p.name: read_record(p).table("curves").to_dict("list")
        for p in sorted((repo / "data/architectures/train").iterdir())
    }
    return {"evaluations": evals, "curves": curves}


@pytest.mark.slow
@needs_fashion
def test_killed_dvc_repro_resumes_to_the_same_results(tmp_path, smoke_run):
    killed = make_repo(tmp_path / "killed", archs=["mlp_1", "lenet5"])  # the params of the session's smoke run
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", *S1_TARGETS],
        cwd=killed,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("Running stage 'architectures@"):
            break
    time.sleep(0.5)  # inside the training stage (its python is starting: importing torch, loading data)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: dvc and the stage, no cleanup
    proc.wait()
    assert any(line.startswith("Running stage 'architectures@") for line in seen), "".join(seen)
    assert not (killed / "data/architectures/eval").exists()

    resumed = dvc(killed, "repro", *S1_TARGETS)
    assert "prepare@fashion_mnist" not in ran_stages(resumed)  # finished stages are kept
    assert list((killed / "data/architectures/train").glob(".*.tmp")) == []

    clean = _results(smoke_run.repo)  # never interrupted (tests/e2e/conftest.py)
    assert len(clean["evaluations"]) == 2
    assert _results(killed) == clean
    assert ran_stages(dvc(killed, "repro", *S1_TARGETS)) == {"inputs@fashion_mnist"}  # the rest is complete
