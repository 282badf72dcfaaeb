"""Study architectures (S1): config (params), run (its stages' work), report (its section, from results,
claims, questions, tables, figures, references), plots (its DVC plots), selection (every choice on validation)."""

REPORT_ORDER = 10  # studies.md's S1: its place in the report (annstudy/studies/__init__.py)
