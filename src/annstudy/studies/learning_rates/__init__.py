"""Study learning_rates: config (params), run (its stages' work), report (its section)."""
