"""An experiment whose innermost function checkpoints every step (the dsl checkpoint tests).

``settings`` values of ``x``, each evaluated on ``seeds`` seeds (two nested
inline sampling nodes); the innermost function runs ``steps`` steps, saves a
checkpoint after each, and appends ``pid x seed step`` to the file
``$DSL_CKPT_STEPS`` for each step it executes. ``suspend_at`` (>= 0) makes a
first attempt hand its trial back at that step (as if cut); ``leave_at``
(>= 0) asks the process's workers to leave there (as Slurm's warning signal
would), once per process.
"""

from __future__ import annotations

import os
import time

from hyperopt import hp

from slurm_search import session
from slurm_search.dsl import (
    Spec,
    accepts_param_names,
    load_checkpoint,
    random_sampling,
    save_checkpoint,
    should_stop,
    suspend,
)

STEPS_VARIABLE = "DSL_CKPT_STEPS"
_left: list[int] = []


@accepts_param_names
def counted_steps(x, seed, steps, pause, suspend_at, leave_at):
    """A deterministic value of (x, seed), computed one checkpointed step at a time."""
    saved = load_checkpoint()
    start, acc = (0, 0) if saved is None else (saved["step"], saved["acc"])
    log = os.environ.get(STEPS_VARIABLE)
    trial = session.current_trial()
    for step in range(start, steps):
        acc = (acc * 31 + int(x * 1000) + seed + step) % 1_000_003
        if log:
            with open(log, "a") as out:
                out.write(f"{os.getpid()} {x} {seed} {step} {trial.session} {trial.tid}\n")
        time.sleep(pause)
        save_checkpoint({"step": step + 1, "acc": acc}, step=step)
        if step == leave_at and not _left:
            _left.append(step)
            session.request_leave("the test asks the worker to leave")
        if should_stop() or (step == suspend_at and saved is None):
            suspend()
    return float(acc)


def experiment():
    inner = random_sampling(
        "seed",
        counted_steps("x", "seed", "steps", "pause", "suspend_at", "leave_at"),
        sample_count="seeds",
        method="inline",
    )
    outer = random_sampling("x", inner, sample_count="settings", method="outer_method", threads=1)
    return {"values": outer["point_values:mean"]}


spec = Spec(
    config={
        "x_space": hp.uniform("x", 0, 1),
        "seed_space": hp.randint("seed", 1000),
        "settings": 2,
        "seeds": 2,
        "steps": 12,
        "pause": 0.0,
        "suspend_at": -1,
        "leave_at": -1,
        "outer_method": "inline",
    },
    experiment_func=experiment,
    description="nested inline sampling of a function that checkpoints every step",
)
