"""Study hyperparameters: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 40  # studies.md's S4: its place in the report (annstudy/studies/__init__.py)
