"""Study hyperparameters: config (params), run (its stages' work), report (its section)."""
