"""Study mnist1d: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 63  # studies.md's S6, third of three: its place in the report (annstudy/studies/__init__.py)
