"""Study signals: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 62  # studies.md's S6, second of three: its place in the report (annstudy/studies/__init__.py)
