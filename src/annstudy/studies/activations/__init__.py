"""Study activations: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 20  # studies.md's S2: its place in the report (annstudy/studies/__init__.py)
