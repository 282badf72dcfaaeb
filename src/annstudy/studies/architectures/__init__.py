"""Study architectures: config (params), run (its stages' work), report (its section)."""
