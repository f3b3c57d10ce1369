"""Intermediate reports from inside an objective, and the pruner's answer.

While a worker evaluates a trial, `report(value, step)` records an
intermediate loss of that trial and raises `Pruned` when the session's
pruner says stop. The worker pushes a `TrialReports` for the trial on a
context-local stack (`reporting`), so nested sessions evaluated inline (a
DSL node inside another) each report to their own trial, and an objective
run in a forked child (`trial_timeout`) reports from the child.

Reports are batched: each is buffered in the process that made it and
appended to the log (under the session's lock, one fsync) when

* ASHA needs a decision (the report reaches a rung): the decision is then
  taken on the log with this report in it, so every worker agrees on it;
* the buffer is older than `FLUSH_SECONDS`;
* the objective ends (before its result or its pruning is recorded).

The median pruner decides on the ok trials' reports (which their workers
appended before their results) and this trial's own, buffered or not: it
needs no append, only a look at what is new in the log (at most every
`REFRESH_SECONDS`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from slurm_search.locking import lock

from ._claims import commit
from ._errors import InvalidReport, LeaseLost, NotInTrial, Pruned
from ._events import Report
from ._pruners import median_decision, rung_index, should_prune
from ._view import View, view

__all__ = ["FLUSH_SECONDS", "TrialReports", "current_reports", "report", "reporting", "trial_reports"]

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 10.0
REFRESH_SECONDS = 1.0

_trials: ContextVar[tuple[TrialReports, ...]] = ContextVar("slurm_search_session_trials", default=())


class TrialReports:
    """The reports of one attempt of one trial, as the process running it sees them.

    Attributes:
        name: the session.
        worker: the worker holding the trial.
        tid: the trial.
        attempt: the attempt.
        values: step -> value of every report of this attempt so far.
        last: the last `(step, value)` reported, or None.
    """

    def __init__(self, name: str, worker: str, tid: int, attempt: int) -> None:
        self.name = name
        self.worker = worker
        self.tid = tid
        self.attempt = attempt
        self.values: dict[int, float] = {}
        self.last: tuple[int, float] | None = None
        self._view: View = view(name)
        self._pid = os.getpid()
        self._buffer: list[tuple[int, float]] = []
        self._flushed_at = time.monotonic()
        self._refreshed_at = 0.0
        self._top = -1  # the largest step reported
        self._before = -1  # the largest other step
        self._best = math.inf  # the lowest value reported

    def resume(self, values: dict[int, float]) -> None:
        """Start from the reports that a checkpoint carried over (a resumed trial's curve)."""
        if not values:
            return
        self.values = dict(values)
        steps = sorted(values)
        self._top = steps[-1]
        self._before = steps[-2] if len(steps) > 1 else -1
        self._best = min(values.values())
        self.last = (self._top, values[self._top])

    def report(self, value: Any, step: Any) -> None:
        """Record `value` (an intermediate loss) at `step`; raise Pruned if the pruner says stop.

        Raises:
            InvalidReport: not a finite number at a whole step >= 0.
            Pruned: the session's pruner stops this trial.
            LeaseLost: this attempt does not hold the trial any more.
        """
        value, step = _checked(value, step)
        self._own_process()
        self._buffer.append((step, value))
        again = step in self.values
        self.values[step] = value
        self.last = (step, value)
        self._best = min(self.values.values()) if again else min(self._best, value)
        st = self._view.state
        spec = st.spec
        options = spec.pruner_options or {}  # set whenever a pruner is
        now = time.monotonic()
        prune = False
        if spec.pruner == "asha":
            if rung_index(options, step) > rung_index(options, self._top):
                self.flush()
                with self._view.mutex:
                    prune = should_prune(self._view.state, self.tid)
        elif spec.pruner == "median":
            if now - self._refreshed_at >= REFRESH_SECONDS:
                with self._view.mutex:
                    self._view.refresh()
                self._refreshed_at = now
        if step > self._top:
            self._top, self._before = step, self._top
        elif step < self._top:
            self._before = max(self._before, step)
        if spec.pruner == "median":
            # should_prune(state, tid, self.values), without going over every step again
            with self._view.mutex:
                prune = median_decision(self._view.state, options, self._top, self._best, self._before)
        if prune or now - self._flushed_at >= FLUSH_SECONDS:
            self.flush()
        if prune:
            logger.info("trial %s of %s is pruned at step %s (value %g)", self.tid, self.name, step, value)
            raise Pruned(self.name, self.tid, self.attempt, step, value)

    def flush(self) -> None:
        """Append the buffered reports to the log (one lock, one append).

        Raises:
            LeaseLost: the attempt does not hold the trial any more (the
                buffered reports are dropped).
        """
        self._flushed_at = time.monotonic()
        if not self._buffer:
            return  # (before the check of the process: a child that reported nothing reads no log)
        self._own_process()
        values, self._buffer = tuple(self._buffer), []
        v = self._view
        with lock(self.name), v.mutex:
            st = v.refresh()
            trial = st.trials.get(self.tid)
            if (
                trial is None
                or trial.status != "running"
                or trial.owner != self.worker
                or trial.attempt != self.attempt
            ):
                owner = trial.owner if trial is not None else None
                why = (
                    "no such trial" if trial is None else f"attempt {trial.attempt} of it is {trial.status}, {owner}'s"
                )
                raise LeaseLost(self.name, self.tid, self.worker, self.attempt, owner, why)
            event = Report(self.tid, self.worker, self.attempt, values, time.time())
            v.apply_all([event])
            commit(v, [event])

    def close(self) -> None:
        """Flush what is left at the end of the objective; a lost lease or a full store only loses reports."""
        try:
            self.flush()
        except LeaseLost as err:
            logger.warning("%s", err)
        except OSError as err:
            logger.warning("reports of trial %s of %s not stored: %s", self.tid, self.name, err)

    def _own_process(self) -> None:
        # In a forked child (an objective with a trial_timeout) the parent's
        # view may be mid-update by its lease thread: read the log afresh.
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._view = View(self.name)
            self._view.refresh()
            self._buffer = []
            self._refreshed_at = time.monotonic()


def _checked(value: Any, step: Any) -> tuple[float, int]:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        if isinstance(step, float) and step.is_integer() and step >= 0:
            step = int(step)
        else:
            raise InvalidReport(value, step)
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidReport(value, step)
    return float(value), int(step)


@contextlib.contextmanager
def reporting(trial: TrialReports) -> Iterator[TrialReports]:
    """Make `trial` the current one (what `report` reports to) while the block runs."""
    token = _trials.set(_trials.get() + (trial,))
    try:
        yield trial
    finally:
        _trials.reset(token)


def current_reports() -> TrialReports | None:
    """The reports of the trial being evaluated here (the innermost, for nested sessions), or None."""
    stack = _trials.get()
    return stack[-1] if stack else None


def report(value: float, step: int) -> None:
    """Report an intermediate value of the trial being evaluated.

    Call it from inside an objective, e.g. once per epoch or every N
    frames; let `Pruned` propagate out of the objective.

    Args:
        value: an intermediate loss (lower is better; a pruned trial's loss
            is its last reported value), a finite number.
        step: a whole number >= 0 that grows as the trial trains (epochs,
            frames); a later report of a step replaces the earlier one.

    Raises:
        Pruned: the session's pruner stops this trial.
        NotInTrial: no trial is being evaluated here.
        InvalidReport: not a finite number at a whole step >= 0.
    """
    trial = current_reports()
    if trial is None:
        raise NotInTrial()
    trial.report(value, step)


def trial_reports(name: str, finished_only: bool = False) -> dict[int, dict[int, float]]:
    """Each trial's reports (step -> value, in the order first reported), by tid.

    The reports of the attempt that holds or finished each trial. With
    `finished_only`, only ok and pruned trials.
    """
    from ._names import session_name
    from ._pruners import trial_values

    v = view(session_name(name))
    with v.mutex:
        st = v.refresh()
        return {
            tid: dict(trial_values(st, tid))
            for tid in sorted(st.trials)
            if not finished_only or st.trials[tid].status in ("ok", "pruned")
        }
