"""Intermediate values in an experiment: from the innermost objective to
every enclosing sampling trial.

A function evaluated under sampling nodes (the RL ``run_results``) calls
``report(value, step)`` with an intermediate value in its own terms (a mean
return, higher or lower being better as the node that optimises it says).
Each sampling trial being evaluated in this process has a frame; the value
goes to the innermost, and from each frame to the one around it:

* a frame records the value in its own trial's session as an intermediate
  loss: ``sign × value`` for a minimising (+1) or maximising (-1) node, the
  value itself for a random or enumeration node (which optimises nothing
  and takes no pruner). The session's pruner may then stop the trial
  (``slurm_search.session.Pruned``).
* the frame around it (the trial of the node that contains this node, e.g.
  a hyperparameter setting around its seeds) takes as its value at a step
  **the mean of its inner trials' latest values at that step**, over the
  inner trials that reached that step so far. Seeds run one after the
  other (an inline node) report the same steps in turn: the first seed's
  values, then the mean of the first two, and so on. So the pruner judges a
  setting on its first seed while that seed trains (ASHA records a rung
  value once, when the trial first reaches the rung), and later seeds
  update the setting's curve.

Frames live in one process: an inner node run on other processes (``cpu``,
``slurm``, or with a ``trial_timeout``, whose trials run in a child) reports
to its own sessions only. When a trial of an enclosing session is retried
(its worker was killed), the inner trials that had finished do not run
again; their stored reports are fed to the new frame (`replay`) in the order
they were made, so the retried trial meets the pruner's decisions as the
uninterrupted run did.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

__all__ = ["Frame", "frame", "replay", "report", "reporting"]

_frames: ContextVar[tuple[Frame, ...]] = ContextVar("slurm_search_dsl_frames", default=())


class Frame:
    """One sampling trial being evaluated in this process.

    Attributes:
        trial: the session's handle of the trial (``session.current_reports()``), or None.
        sign: +1 minimise, -1 maximise, 0 neither.
        key: this trial among the inner trials of the frame around it.
        parent: the frame around it, if in this process.
        steps: step -> inner trial key -> its latest value there.
    """

    def __init__(self, trial: Any, sign: int, key: str, parent: Frame | None) -> None:
        self.trial = trial
        self.sign = sign
        self.key = key
        self.parent = parent
        self.pid = os.getpid()
        self.steps: dict[int, dict[str, float]] = {}

    def report(self, value: float, step: int) -> None:
        """This trial's value at ``step``: record it, pass it out (may raise Pruned)."""
        if os.getpid() != self.pid:
            return  # inherited by a forked worker: not its trial
        if self.trial is not None:
            self.trial.report(self.sign * value if self.sign else value, step)
        if self.parent is not None and self.parent.pid == self.pid:
            self.parent.inner_report(self.key, value, step)

    def inner_report(self, key: str, value: float, step: int) -> None:
        """An inner trial's value at ``step``: this trial's is their mean there."""
        at = self.steps.setdefault(step, {})
        at[key] = float(value)
        self.report(sum(at.values()) / len(at), step)


@contextlib.contextmanager
def frame(sign: int) -> Iterator[Frame]:
    """A frame for the sampling trial this process evaluates now (the session's current trial)."""
    from slurm_search import session

    trial = session.current_reports()
    stack = _frames.get()
    parent = stack[-1] if stack and stack[-1].pid == os.getpid() else None
    new = Frame(trial, sign, "", parent)
    new.key = f"{trial.name}:{trial.tid}" if trial is not None else f"frame:{id(new)}"
    token = _frames.set(stack + (new,))
    try:
        yield new
    finally:
        _frames.reset(token)


def reporting() -> bool:
    """Whether a sampling trial of this process receives reports (a frame is open here)."""
    stack = _frames.get()
    return bool(stack) and stack[-1].pid == os.getpid()


def report(value: float, step: int) -> None:
    """Report an intermediate value of what is being evaluated (in its own terms).

    Outside a sampling trial (no frame in this process) it does nothing: a
    function such as ``run_results`` reports wherever it runs, and only a
    sampling node says what its values mean.

    Raises:
        slurm_search.session.Pruned: a session's pruner stopped an enclosing trial.
        slurm_search.session.InvalidReport: not a finite number at a whole step >= 0.
    """
    stack = _frames.get()
    if stack and stack[-1].pid == os.getpid():
        stack[-1].report(value, step)


def replay(name: str, sign: int) -> None:
    """Feed the finished inner trials' stored reports of session ``name`` to the current frame.

    ``sign`` is the inner node's: its session stored ``sign × value``.
    """
    stack = _frames.get()
    if not stack or stack[-1].pid != os.getpid():
        return
    from slurm_search import session

    current = stack[-1]
    for tid, values in session.trial_reports(name, finished_only=True).items():
        for step, value in values.items():
            current.inner_report(f"{session.session_name(name)}:{tid}", value * sign if sign else value, step)
