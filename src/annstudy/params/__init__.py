"""params.yaml, the single source of truth: ``schema`` (the checked field types every config is
built from; imports only pydantic), ``root`` (loading as YAML 1.2, profiles, validation of the run's
keys and the sections of the studies asked for, the root :class:`~annstudy.params.root.Settings`) and
``settings`` (the whole file: every study's section). Empty on purpose, so that a study's config can
import ``annstudy.params.schema`` without loading every study's config through this package."""
