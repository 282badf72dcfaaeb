"""Study learning_rates: config (params), run (its stages' work), report (its section)."""

REPORT_ORDER = 30  # studies.md's S3: its place in the report (annstudy/studies/__init__.py)
