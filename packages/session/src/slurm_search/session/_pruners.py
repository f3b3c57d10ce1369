"""Pruners: whether a trial should stop early, from the session's state alone.

A trial's objective reports intermediate values (`report(value, step)`: an
intermediate loss, lower is better, at an integer step such as frames or
epochs). The reports reach the log as `Report` events; `apply_pruning`
folds them (and `Prune`, a trial stopped on the pruner's word) into the
state, and `should_prune` decides. No clock, no file: the same log gives the
same decisions on every host, and the tests check them against hand-computed
cases.

Two pruners, with Optuna's semantics (the session minimises):

* ``median`` (Optuna's ``MedianPruner``): at the trial's last step, once
  ``n_startup_trials`` trials are ok, past ``n_warmup_steps`` and at the
  first report of each ``interval_steps`` window, stop the trial if its best
  value so far is worse than the median of the ok trials' values at that
  step (``n_min_trials`` of them at least). Pruned trials do not count.
* ``asha`` (asynchronous successive halving, Li et al. 2020; Optuna's
  ``SuccessiveHalvingPruner``): rung k sits at step ``min_resource *
  reduction_factor ** (min_early_stopping_rate + k)`` (below
  ``max_resource``, when given: a trial that reaches it runs to the end).
  The first report of a trial at or past a rung records its value there; the
  trial goes on only if that value is among the best ``1 / reduction_factor``
  of the values recorded at that rung so far (while fewer than
  ``reduction_factor`` values are there: only if it is the best of them, as
  Optuna does). A rung's values are those of every trial that reached it
  (running, ok, pruned), in log order: the decision is the one the log
  says, asynchronous, whatever the number of workers.

A trial taken over by another worker restarts its steps: the reports and the
rung values of an attempt count only while that attempt holds the trial (or
is the one that finished it); a `Report` from an attempt that does not hold
the trial is refused, like a stale result.
"""

from __future__ import annotations

import math
import numbers
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._errors import InvalidSetting
from ._events import Prune, Report

__all__ = [
    "DEFAULTS",
    "PRUNERS",
    "PRUNING_EVENTS",
    "PruningState",
    "apply_pruning",
    "asha_promotable",
    "carry_reports",
    "check_pruner",
    "last_report",
    "median_decision",
    "rung_index",
    "rung_step",
    "should_prune",
    "trial_values",
]

PRUNERS = ("median", "asha")
PRUNING_EVENTS = (Report, Prune)

# Optuna's defaults (MedianPruner; SuccessiveHalvingPruner without "auto":
# the smallest resource is a number of steps the user knows).
DEFAULTS: dict[str, dict[str, Any]] = {
    "median": {"n_startup_trials": 5, "n_warmup_steps": 0, "interval_steps": 1, "n_min_trials": 1},
    "asha": {
        "min_resource": 1,
        "reduction_factor": 4,
        "min_early_stopping_rate": 0,
        "max_resource": None,
        "bootstrap_count": 0,
    },
}
_MINIMA = {
    "n_startup_trials": 0,
    "n_warmup_steps": 0,
    "interval_steps": 1,
    "n_min_trials": 1,
    "min_resource": 1,
    "reduction_factor": 2,
    "min_early_stopping_rate": 0,
    "max_resource": 1,
    "bootstrap_count": 0,
}


def _whole(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    return int(number) if math.isfinite(number) and number.is_integer() else None


def check_pruner(pruner: Any, options: Any) -> tuple[str | None, dict | None]:
    """The pruner and its options, defaults filled in.

    Args:
        pruner: ``None`` (or ``"none"``), ``"median"`` or ``"asha"``.
        options: a dict of the pruner's options (None: the defaults).

    Raises:
        InvalidSetting: an unknown pruner or option, or a value out of range.
    """
    if pruner is None or pruner == "none":
        if options:
            raise InvalidSetting("pruner_options", options, "no options without a pruner (set pruner=median or asha)")
        return None, None
    if pruner not in PRUNERS:
        raise InvalidSetting("pruner", pruner, "median, asha or none")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise InvalidSetting("pruner_options", options, "a dict of the pruner's options")
    merged = dict(DEFAULTS[pruner])
    for key, value in options.items():
        if key not in merged:
            raise InvalidSetting(f"pruner_options:{key}", value, f"an option of {pruner}: {', '.join(merged)}")
        if key == "max_resource" and value is None:
            merged[key] = None
            continue
        number = _whole(value)
        if number is None or number < _MINIMA[key]:
            raise InvalidSetting(f"pruner_options:{key}", value, f"a whole number >= {_MINIMA[key]}")
        merged[key] = number
    if pruner == "asha" and merged["max_resource"] is not None and merged["max_resource"] < merged["min_resource"]:
        raise InvalidSetting("pruner_options:max_resource", merged["max_resource"], "a whole number >= min_resource")
    return pruner, merged


def rung_step(options: dict, rung: int) -> int | None:
    """The step of ASHA's rung `rung` (0, 1, ...); None if it is not below max_resource."""
    step = options["min_resource"] * options["reduction_factor"] ** (options["min_early_stopping_rate"] + rung)
    top = options.get("max_resource")
    return None if top is not None and step >= top else step


def rung_index(options: dict, step: int) -> int:
    """How many of ASHA's rungs lie at or below `step`."""
    count = 0
    while True:
        at = rung_step(options, count)
        if at is None or at > step:
            return count
        count += 1


def asha_promotable(value: float, competing: list[float], reduction_factor: int) -> bool:
    """Whether `value` is among the best ``1 / reduction_factor`` of `competing` (which holds it).

    With fewer than `reduction_factor` values, only the best goes on
    (Optuna's rule: a stopped trial cannot be resumed later).
    """
    ranked = sorted(competing)
    index = max(len(ranked) // reduction_factor - 1, 0)
    return value <= ranked[index]


@dataclass
class TrialReports:
    """One attempt's reports: step -> value, the last report, ASHA rungs passed."""

    attempt: int
    values: dict[int, float] = field(default_factory=dict)
    last: tuple[int, float] | None = None
    rungs: int = 0


@dataclass
class PruningState:
    """What the reports say: per trial, and per ASHA rung (log order).

    Attributes:
        reports: tid -> the reports of its latest reporting attempt.
        rungs: per rung, ``(tid, attempt, value)`` in the order recorded.
        stopped: tid -> ``(attempt, step)`` where ASHA stopped that attempt.
    """

    reports: dict[int, TrialReports] = field(default_factory=dict)
    rungs: list[list[tuple[int, int, float]]] = field(default_factory=list)
    stopped: dict[int, tuple[int, int]] = field(default_factory=dict)


def _owned(trial: Any, worker: str, attempt: int) -> bool:
    return trial is not None and trial.status == "running" and trial.owner == worker and trial.attempt == attempt


def apply_pruning(state: Any, event: Any, put: Callable[[Any, Any, Any], None]) -> None:
    """Fold a `Report` or `Prune` into the session's state (`_model.apply` calls it).

    Args:
        state: the SessionState, updated in place.
        event: a Report or a Prune.
        put: `_model._put` (replaces a trial and keeps the indexes).
    """
    trial = state.trials.get(event.tid)
    if not _owned(trial, event.worker, event.attempt):
        return
    if state.pruning is None:
        state.pruning = PruningState()
    pruning = state.pruning
    if isinstance(event, Prune):
        state.counts.setdefault("pruned", 0)  # a snapshot written before pruning lacks it
        result = {"loss": event.loss, "step": event.step}
        put(
            state,
            trial,
            trial._replace(status="pruned", result=result, duration=event.duration, refresh_time=event.time),
        )
        return
    record = pruning.reports.get(event.tid)
    if record is None or record.attempt != event.attempt:
        record = pruning.reports[event.tid] = TrialReports(event.attempt)
    asha = state.spec.pruner == "asha"
    for step, value in event.values:
        record.values[step] = value
        record.last = (step, value)
        if asha:
            _asha_record(state, pruning, event.tid, record, step, value)


def carry_reports(state: Any, tid: int, attempt: int, step: int | None) -> None:
    """Hand trial `tid`'s reports up to `step` to its new attempt `attempt` (a resume).

    A trial that continues from a checkpoint taken at `step` continues its
    learning curve too: the reports (and ASHA's rung values) at or before
    that step become the new attempt's, those after it are dropped (the new
    attempt reports them again), so a pruner sees one curve. `step` None:
    nothing is carried (the checkpoint stands for no step).
    """
    pruning: PruningState | None = getattr(state, "pruning", None)
    record = pruning.reports.get(tid) if pruning is not None else None
    if pruning is None or record is None or step is None:
        return
    old = record.attempt
    values = {s: v for s, v in record.values.items() if s <= step}
    carried = TrialReports(attempt, values, max(values.items()) if values else None)
    if state.spec.pruner == "asha":
        options = state.spec.pruner_options
        kept = rung_index(options, step)
        for k, rung in enumerate(pruning.rungs):
            for i, (t, a, v) in enumerate(rung):
                if t == tid and a == old and k < kept:
                    rung[i] = (t, attempt, v)
                    carried.rungs = max(carried.rungs, k + 1)
        stopped = pruning.stopped.get(tid)
        if stopped is not None and stopped[0] == old:
            if stopped[1] <= step:
                pruning.stopped[tid] = (attempt, stopped[1])
            else:
                del pruning.stopped[tid]
    pruning.reports[tid] = carried


def _current(state: Any, tid: int, attempt: int) -> bool:
    trial = state.trials.get(tid)
    return trial is not None and trial.attempt == attempt


def _asha_record(state: Any, pruning: PruningState, tid: int, record: TrialReports, step: int, value: float) -> None:
    """Record the rungs a report reaches; stop the attempt at the first it does not pass."""
    options = state.spec.pruner_options
    stopped = pruning.stopped.get(tid)
    if stopped is not None and stopped[0] == record.attempt:
        return
    while True:
        at = rung_step(options, record.rungs)
        if at is None or step < at:
            return
        while len(pruning.rungs) <= record.rungs:
            pruning.rungs.append([])
        rung = pruning.rungs[record.rungs]
        competing = [v for t, a, v in rung if t != tid and _current(state, t, a)]
        competing.append(value)
        rung.append((tid, record.attempt, value))
        record.rungs += 1
        if len(competing) <= options["bootstrap_count"] or not asha_promotable(
            value, competing, options["reduction_factor"]
        ):
            pruning.stopped[tid] = (record.attempt, step)
            return


def trial_values(state: Any, tid: int) -> dict[int, float]:
    """The reports (step -> value) of the attempt that holds (or finished) trial `tid`."""
    pruning = getattr(state, "pruning", None)
    trial = state.trials.get(tid)
    record = pruning.reports.get(tid) if pruning is not None else None
    if trial is None or record is None or record.attempt != trial.attempt:
        return {}
    return record.values


def last_report(state: Any, tid: int, attempt: int) -> tuple[int, float] | None:
    """The last (step, value) that attempt `attempt` of trial `tid` reported, if any."""
    pruning = getattr(state, "pruning", None)
    record = pruning.reports.get(tid) if pruning is not None else None
    return record.last if record is not None and record.attempt == attempt else None


def should_prune(state: Any, tid: int, values: dict[int, float] | None = None) -> bool:
    """Whether the session's pruner stops trial `tid` now.

    Args:
        state: the session's state.
        tid: the trial.
        values: the trial's reports as its worker knows them (step ->
            value; it may hold reports not yet in the log). None: those in
            the state.
    """
    spec = state.spec
    if spec.pruner == "asha":
        pruning = state.pruning
        stopped = pruning.stopped.get(tid) if pruning is not None else None
        trial = state.trials.get(tid)
        return stopped is not None and trial is not None and stopped[0] == trial.attempt
    if spec.pruner == "median":
        return _median_prunes(state, spec.pruner_options, trial_values(state, tid) if values is None else values)
    return False


def _median_prunes(state: Any, options: dict, values: dict[int, float]) -> bool:
    if not values:
        return False
    step = max(values)
    before = max((s for s in values if s != step), default=-1)
    return median_decision(state, options, step, min(values.values()), before)


def median_decision(state: Any, options: dict, step: int, best: float, before: int) -> bool:
    """The median rule for a trial whose last step is `step`, best value `best`
    and largest other step `before` (what `should_prune` computes from its
    reports; a worker keeps them as it goes, so a decision costs O(ok trials),
    not O(steps))."""
    if step < options["n_warmup_steps"]:
        return False
    warmup, interval = options["n_warmup_steps"], options["interval_steps"]
    if before >= (step - warmup) // interval * interval + warmup:
        return False  # not the first report of its interval (Optuna's rule)
    if state.counts.get("ok", 0) < max(1, options["n_startup_trials"]):
        return False  # known from the counts, before any walk over the trials
    ok = [t for t in state.trials.values() if t.status == "ok"]
    at_step = [v[step] for v in (trial_values(state, t.tid) for t in ok) if step in v]
    if len(at_step) < options["n_min_trials"]:
        return False
    return best > statistics.median(at_step)
