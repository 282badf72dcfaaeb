"""Training engine: one loop for every study, and what feeds it.

- loop.py         ``train_stack``, the one training loop: S members of a stacked network (one
                  seed is a stack of one), LoopSettings, TrainHooks, StackData
- state.py        what the loop holds while it runs, as typed records (LoopState, Interval,
                  Members, EarlyStopping) and the rows it writes (StackRun)
- checkpoint.py   Snapshot, the one format of the loop's state after an epoch: resume a killed
                  run from its Checkpoint file, or continue S3's schedule search in memory
- seeds.py        S1-S4's entry: ``train_seeds`` (every seed of a configuration on shared
                  images, the per-seed records SeedRun)
- memory.py       out of memory: recognise it, halve the seed group
- members.py      S5/S6's entry: ``fit`` (members with their own rows, MSE or cross-entropy)
- schedules.py    S3's multi-pass step schedule (plateau rule, passes through the loop)
- evaluation.py   batched evaluation, plain and stacked; optim.py, penalty.py: optimizers and
                  weight penalties; settings.py: TrainSettings; progress.py: bars and live logs;
                  device.py: device and determinism; flops.py: FLOPs per sample
"""
