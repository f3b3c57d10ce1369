"""Checkpoints of the function evaluated under sampling nodes, and a worker told to leave.

Nested inline sampling nodes evaluate their trials one inside the other in
one process; the session's `current_trial()` is the innermost one. So a
function such as the RL `run_results`, called under any number of sampling
nodes, saves and loads the checkpoints of the innermost trial that
evaluates it (its seed's, say), as it reports to it (`_reports.py`). The
helpers here are the session's, except outside a sampling trial (a call at
the top of the experiment's tree), where there is nothing to resume: there
`load_checkpoint()` gives None and `save_checkpoint()` does nothing.

When the worker is told to leave (Slurm's warning signal, preemption), the
innermost function saves a checkpoint and calls `suspend()`; its inline
worker hands the trial back and ends. The sampling node that ran that
worker (`_sampling.py`) then hands back the trial that encloses it, with a
small checkpoint of its own ("my progress is in that session"), so that
the cut does not use up one of the enclosing trial's attempts, and so on
outwards. The next attempt of the outer trial finds its inner session by
its AST path and continues the inner trial from its checkpoint.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["checkpoint_folder", "in_trial", "load_checkpoint", "save_checkpoint", "should_stop", "suspend"]


def in_trial() -> bool:
    """Whether a sampling trial is being evaluated here (checkpoints have a trial to belong to)."""
    from slurm_search import session

    return session.current_trial() is not None


def save_checkpoint(obj: Any, step: int | None = None) -> int | None:
    """Save ``obj`` as the innermost sampling trial's newest checkpoint (`session.save_checkpoint`).

    Returns:
        Its sequence number, or None outside a sampling trial (nothing saved).

    Raises:
        slurm_search.session.CheckpointError: not saved (does not pickle, too big, store full).
        slurm_search.session.LeaseLost: this attempt no longer holds the trial.
    """
    from slurm_search import session

    if not in_trial():
        return None
    return session.save_checkpoint(obj, step)


@contextlib.contextmanager
def checkpoint_folder(step: int | None = None) -> Iterator[Path | None]:
    """A folder for the innermost trial's next checkpoint (`session.checkpoint_folder`).

    Outside a sampling trial it gives None: write nothing.
    """
    from slurm_search import session

    if not in_trial():
        yield None
        return
    with session.checkpoint_folder(step) as folder:
        yield folder


def load_checkpoint() -> Any:
    """The innermost sampling trial's newest checkpoint, or None (also outside a trial)."""
    from slurm_search import session

    if not in_trial():
        return None
    return session.load_checkpoint()


def should_stop() -> bool:
    """True once this worker was told to leave: save a checkpoint, then `suspend()`."""
    from slurm_search import session

    return session.should_stop()


def suspend(reason: str | None = None) -> Any:
    """Hand the innermost trial back (raises `slurm_search.session.Suspended`; let it out).

    Raises:
        slurm_search.session.Suspended: always, inside a trial.
        slurm_search.session.NotInTrial: outside one.
    """
    from slurm_search import session

    session.suspend(reason)
