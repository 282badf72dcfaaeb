"""annstudy: a reproducible, DVC-orchestrated study of how neural networks train.

The version is pyproject.toml's (``importlib.metadata.version("annstudy")``). This module holds no code,
so no DVC stage lists it as a dependency (annstudy/pipeline/codedeps.py)."""
