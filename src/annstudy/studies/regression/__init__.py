"""Study regression: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 50  # studies.md's S5: its place in the report (annstudy/studies/__init__.py)
