"""Datasets: raw files -> verified, split, compact tensors under data/prepared/<name>/."""
