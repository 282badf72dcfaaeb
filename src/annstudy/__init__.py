"""annstudy: a reproducible, DVC-orchestrated study of how neural networks train."""

__version__ = "0.1.0"
