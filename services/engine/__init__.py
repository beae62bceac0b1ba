"""The run engine: one run's controller, its context, events, progress, checkpoints, time estimates, run states and the runners that start runs."""
