"""Parameters and node builders the RL experiments share.

Configs are sized for a cluster (hours on a few dozen Slurm workers); the
debug overrides make each run in seconds with a debug agent, inline. Every
sampling node that fans out reads its method from ``search:method`` (``inline``,
``cpu``: local worker processes, ``slurm``: a job array with the ``slurm:``
options), so one override moves a whole experiment.
"""

from __future__ import annotations

import math
from typing import Any

from hyperopt import hp

from slurm_search.dsl import random_sampling

from ._nodes import return_mean

__all__ = ["A2C_SPACE", "RUN", "SLURM", "seed_runs", "RUN_SEED_SPACE"]

# The two hyperparameters that matter most for A2C/PPO on classic control.
A2C_SPACE = {
    "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-2)),
    "entropy_loss_scaling": hp.uniform("entropy_loss_scaling", 0.0, 0.1),
}
RUN_SEED_SPACE = hp.randint("run_seed", 2**31 - 1)
RUN = {"train_frames": 100_000, "train_episodes": math.inf, "test_episodes": 100, "device": "auto"}
# None leaves an option out of the batch script: set them with --slurm:partition=... etc.
SLURM = {"partition": None, "time": "4:00:00", "cpus_per_task": 1, "mem": "4G", "gres": None, "account": None}
RUN_DEBUG = {"train_frames": 1000, "test_episodes": 5}


def seed_runs(sample_count: Any, method: Any = "inline", threads: Any = 1):
    """Mean test return of one training per random seed: a ``random_sampling``
    over ``run_seed`` of ``return_mean``."""
    return random_sampling(
        "run_seed",
        return_mean("env", "agent", "hp", "run_params", "run_seed"),
        sample_count=sample_count,
        method=method,
        threads=threads,
    )
