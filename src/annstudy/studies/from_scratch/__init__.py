"""Study from_scratch: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 70  # studies.md's S7: its place in the report (annstudy/studies/__init__.py)
