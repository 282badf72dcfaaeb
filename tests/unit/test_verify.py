"""`annstudy verify`: a verdict per metric of a rerun, by the rule of report/verify.py."""

from __future__ import annotations

import copy
import json
import math

from annstudy.cli import main
from annstudy.report.verify import judge, seeds_per_study, summary, verify

REFERENCE = {
    "architectures": {
        "cnn_4": {"test_acc_mean": 0.831, "test_acc_std": 0.0021, "val_selected_seed": 0, "diverged": False},
        "mlp_1": {"test_acc_mean": 0.8258, "test_acc_std": 0.00866, "val_selected_test_acc": 0.8295},
        "n_test": 10000,
    },
    "regression": {"linear": {"b_mean": 0.93251}, "nonlinear": {"source": "synthetic"}},
}


def test_identical_rerun_is_identical_everywhere():
    checks = verify(REFERENCE, copy.deepcopy(REFERENCE), {"architectures": 3})
    assert [c.verdict for c in checks] == ["identical"] * 10
    assert summary(checks) == "reproduced 10/10 (identical 10)"


def test_a_mean_is_judged_against_its_seed_spread_over_n_seeds():
    tolerance = 3 * 0.0021 * math.sqrt(2 / 3)  # 0.00514
    within = judge("architectures.cnn_4.test_acc_mean", 0.831, 0.831 - 0.005, _flat(), 3)
    beyond = judge("architectures.cnn_4.test_acc_mean", 0.831, 0.831 - 0.0055, _flat(), 3)
    assert within.tolerance == beyond.tolerance == tolerance
    assert (within.verdict, beyond.verdict) == ("reproduced", "differs")


def test_one_models_accuracy_uses_the_larger_of_seed_spread_and_test_sampling_error():
    check = judge("architectures.mlp_1.val_selected_test_acc", 0.8295, 0.8295, _flat(), 3)
    assert check.verdict == "identical"
    check = judge("architectures.mlp_1.val_selected_test_acc", 0.8295, 0.81, _flat(), 3)
    binomial = math.sqrt(0.8295 * 0.1705 / 10000)  # 0.0038 < the seeds' 0.00866
    assert check.spread == 0.00866 > binomial
    assert check.tolerance == 3 * 0.00866 * math.sqrt(2)  # one model: no 1/n
    assert check.verdict == "reproduced"


def test_chosen_seed_flags_labels_and_unspread_numbers():
    flat = _flat()
    assert judge("architectures.cnn_4.val_selected_seed", 0, 2, flat).verdict == "reproduced"
    assert judge("architectures.cnn_4.diverged", False, True, flat).verdict == "differs"
    assert judge("regression.nonlinear.source", "synthetic", "csv", flat).verdict == "differs"
    assert judge("regression.linear.b_mean", 0.93251, 0.95, flat).verdict == "reproduced"  # 1.9 % < 5 %
    assert judge("regression.linear.b_mean", 0.93251, 0.99, flat).verdict == "differs"


def test_cli_exit_code_and_summary_line(tmp_path, capsys):
    rerun = copy.deepcopy(REFERENCE)
    rerun["architectures"]["cnn_4"]["test_acc_mean"] = 0.829  # within 0.0051
    (tmp_path / "ref.json").write_text(json.dumps(REFERENCE))
    (tmp_path / "rerun.json").write_text(json.dumps(rerun))
    params = tmp_path / "params.yaml"
    params.write_text("profile: quick\nprofiles:\n  quick:\n    seeds: [0, 1, 2]\nstudies:\n  architectures: {}\n")
    args = ["--params", str(params), "verify", "--against", str(tmp_path / "ref.json"), "--metrics"]
    assert main([*args, str(tmp_path / "rerun.json")]) == 0
    assert capsys.readouterr().out.strip().endswith("reproduced 10/10 (identical 9)")
    rerun["architectures"]["cnn_4"]["test_acc_mean"] = 0.82  # beyond
    (tmp_path / "rerun.json").write_text(json.dumps(rerun))
    assert main([*args, str(tmp_path / "rerun.json")]) == 1
    out = capsys.readouterr().out
    assert "differs 1: architectures.cnn_4.test_acc_mean" in out


def test_seeds_per_study_reads_the_selected_profile():
    raw = {
        "profile": "quick",
        "profiles": {"quick": {"seeds": [0, 1, 2], "spiral": {"seeds": [0, 1]}}},
        "studies": {"architectures": {"seeds": None}, "spiral": {}, "signals": {"seeds": [4]}},
    }
    assert seeds_per_study(raw) == {"architectures": 3, "spiral": 2, "signals": 1}


def _flat() -> dict:
    from annstudy.report.compare import flatten

    return flatten(REFERENCE)
