"""The trial this thread is evaluating, for objectives that name what they write after it.

A worker sets it around each objective call (`_worker._evaluate`); an
objective reads it with `current_trial()` (e.g. the rl package names a
run's TensorBoard folder by session, trial and seed). It is a context
variable: a forked child (a trial with a timeout) inherits it, other
threads and other workers never see it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CurrentTrial:
    """The trial being evaluated: its session (`type:name`), tid, attempt and worker.

    `pid` is the worker's process: a forked child (an objective with a
    trial_timeout) that sees another pid reads the session afresh.
    """

    session: str
    tid: int
    attempt: int
    worker: str
    pid: int = field(default_factory=os.getpid, compare=False, repr=False)


_current: contextvars.ContextVar[CurrentTrial | None] = contextvars.ContextVar(
    "slurm_search_session_trial", default=None
)


def current_trial() -> CurrentTrial | None:
    """The trial the calling objective evaluates; None outside a worker's objective call."""
    return _current.get()


@contextlib.contextmanager
def evaluating(session: str, tid: int, attempt: int, worker: str) -> Iterator[CurrentTrial]:
    """Mark the block as the evaluation of that trial (nested ones restore the outer)."""
    trial = CurrentTrial(session, tid, attempt, worker)
    token = _current.set(trial)
    try:
        yield trial
    finally:
        _current.reset(token)
