"""How a stage runs inside DVC: its entry point, errors, atomic outs, records, code deps and plots.

Knows no study: a study reaches it by calling :func:`annstudy.pipeline.stage.run_stage` from
its stage script and by declaring its plots in its own package.
"""
