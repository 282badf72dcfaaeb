"""params.yaml, the single source of truth: ``schema`` (the checked field types every config is
built from; imports only pydantic) and ``settings`` (loading as YAML 1.2, profiles, validation,
the root :class:`~annstudy.params.settings.Settings`). Empty on purpose, so that a study's config can
import ``annstudy.params.schema`` without loading every study's config through this package."""
