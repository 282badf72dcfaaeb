"""Study mnist1d: config (params), run (its stages' work), report (its section)."""
