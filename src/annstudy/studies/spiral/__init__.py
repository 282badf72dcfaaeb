"""Study spiral: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 61  # studies.md's S6, first of three: its place in the report (annstudy/studies/__init__.py)
