"""One DVC stage may run several steps of a study in one process: `<step>[:<item>] ...`."""

import pytest

from annstudy.pipeline.stage import study_tasks

STEPS = ["prepare", "train", "numpy"]
EVERY = {"train": lambda settings: ("base", *settings["axes"])}
SETTINGS = {"axes": ("lr", "hidden")}


def test_tokens_become_steps_in_order_and_a_bare_listed_step_runs_each_item():
    tasks = study_tasks(["prepare", "train", "numpy"], STEPS, EVERY, SETTINGS)
    assert tasks == [("prepare", None), ("train", "base"), ("train", "lr"), ("train", "hidden"), ("numpy", None)]


def test_an_item_after_a_colon_runs_that_item_alone():
    assert study_tasks(["train:lr", "numpy"], STEPS, EVERY, SETTINGS) == [("train", "lr"), ("numpy", None)]


def test_the_old_two_token_form_reads_as_step_and_item():
    assert study_tasks(["train", "hidden"], STEPS, EVERY, SETTINGS) == [("train", "hidden")]
    assert study_tasks(["prepare", "train"], STEPS, EVERY, SETTINGS)[0] == ("prepare", None)  # two steps


def test_an_unknown_step_or_none_is_one_clear_error():
    with pytest.raises(ValueError, match="no step 'fit'; choose from prepare, train, numpy"):
        study_tasks(["prepare", "fit:x"], STEPS, EVERY, SETTINGS)
    with pytest.raises(ValueError, match="no step given"):
        study_tasks([], STEPS, EVERY, SETTINGS)
