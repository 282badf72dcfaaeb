"""Study from_scratch: config (params), run (its stages' work), report (its section)."""
