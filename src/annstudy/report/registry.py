"""The report's sections in reading order: study name -> module with ``build(settings, out)``.

Add a study's section here (one line); see annstudy/report/section.py for the contract.
"""

from __future__ import annotations

SECTIONS: dict[str, str] = {
    "architectures": "annstudy.report.architectures",
    "activations": "annstudy.report.activations",
    "learning_rates": "annstudy.report.learning_rates",
    "hyperparameters": "annstudy.report.hyperparameters",
    "regression": "annstudy.report.regression",
    "spiral": "annstudy.report.spiral",
    "signals": "annstudy.report.signals",
    "mnist1d": "annstudy.report.mnist1d",
    "from_scratch": "annstudy.report.from_scratch",
}
