"""Running many experiments: DVC queue sweeps, fan-out of one stage, and Ray clusters."""
