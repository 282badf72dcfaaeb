"""The studies of ../shared/studies.md, one module each (S1: architectures)."""
