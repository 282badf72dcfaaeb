"""Model architectures (one registry) and their layer-by-layer summaries."""
