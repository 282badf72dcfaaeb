"""A trained run's budget read off its record: what its claims compare and the epochs its seeds reached.

S1's train record and S2/S3's variant records share the layout this reads: ``train.epochs`` (the
epochs, or the most under early stopping), ``train.stop_patience`` (0 or absent: fixed epochs) and
per seed ``epochs_trained`` and ``best_epoch`` (absent in records written before early stopping:
every seed then trained ``train.epochs`` and was evaluated there). The rule that decides whether two
budgets are matched is report/claims.py's (:func:`~annstudy.report.claims.training_budget`).
"""

from __future__ import annotations

from annstudy.report.claims import epochs_reached, training_budget


def stop_patience(run: dict) -> int:
    """The early-stopping patience the run trained with (0: fixed epochs)."""
    return int(run["train"].get("stop_patience", 0) or 0)


def budget(run: dict) -> str:
    """The run's budget as claims compare it: ``15 epochs`` or ``≤ 20 epochs, stop patience 3``."""
    return training_budget(int(run["train"]["epochs"]), stop_patience(run))


def trained_epochs(run: dict) -> dict[int, int]:
    """Per seed, the epochs it trained."""
    epochs = int(run["train"]["epochs"])
    return {int(s["seed"]): int(s.get("epochs_trained", epochs)) for s in run["seeds"]}


def best_epochs(run: dict) -> dict[int, int]:
    """Per seed, the epoch of its evaluated weights: its lowest validation loss under early stopping, else its last."""
    trained = trained_epochs(run)
    return {int(s["seed"]): int(s.get("best_epoch", trained[int(s["seed"])])) for s in run["seeds"]}


def reached(run: dict) -> str:
    """The epochs the run's seeds trained and the best epochs evaluated: ``7–12 (best 4–9)``, or ``15``."""
    trained, best = trained_epochs(run), best_epochs(run)
    return epochs_reached(list(trained.values()), [best[seed] for seed in trained])
