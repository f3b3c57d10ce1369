"""Claims, leases and reports: the writes that workers make to a session.

Every write follows one pattern: take the session's store lock, bring this
process's view up to date (O(new records)), decide on the fresh state, apply
the new events to the view and append them to the log in one frame, let the
lock go. Suggesting a new trial happens inside the lock, so two workers never
get the same tid. `claim_and_report` does a report and the next claim in one
lock and one append: that is a worker's hot path.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from slurm_search import state as store
from slurm_search.locking import lock

from ._errors import InvalidResult, LeaseLost, NoMoreTrials, SessionError
from ._events import Annotate, Claim, Delete, Expire, Failure, Renew, Result, Status
from ._model import pick
from ._names import session_name
from ._view import View, view

logger = logging.getLogger(__name__)


class Trial(NamedTuple):
    """A claimed trial.

    Attributes:
        tid: the trial id.
        params: the objective's parameters (`hyperopt.space_eval` of `vals`).
        attempt: the claim number of this trial (1 for its first claim);
            pass it back with reports.
        vals: hyperopt's `misc["vals"]` of the trial.
        lease_until: when the claim runs out unless renewed (`time.time()`).
    """

    tid: int
    params: Any
    attempt: int
    vals: dict
    lease_until: float


def default_worker_id() -> str:
    """`hostname:pid`, plus `:ARRAYJOB_TASK` (or `:JOBID`) inside a Slurm job."""
    parts = [socket.gethostname(), str(os.getpid())]
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    task = os.environ.get("SLURM_ARRAY_TASK_ID")
    if array_job and task:
        parts.append(f"{array_job}_{task}")
    elif os.environ.get("SLURM_JOB_ID"):
        parts.append(os.environ["SLURM_JOB_ID"])
    return ":".join(parts)


def normalize_result(value: Any) -> dict:
    """An objective's return value as a hyperopt result dict with a float `loss`.

    Raises:
        InvalidResult: not a finite number, nor a dict with a finite `loss`.
    """
    if isinstance(value, dict):
        if "loss" not in value or value.get("status", "ok") != "ok":
            raise InvalidResult(value)
        result = dict(value)
        loss = result["loss"]
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        result = {}
        loss = value
    else:
        raise InvalidResult(value)
    try:
        loss = float(loss)
    except (TypeError, ValueError):
        raise InvalidResult(value) from None
    if not math.isfinite(loss):
        raise InvalidResult(value)
    result["loss"] = loss
    result["status"] = "ok"
    return result


def _commit(v: View, events: Sequence[Any]) -> None:
    """Append events already applied to the view; the caller holds the lock."""
    if not events:
        return
    try:
        v.position = store.append(v.name, *events)
    except BaseException:
        # The view holds events that may not be in the log: start over.
        v.invalidate()
        raise


def _check_owner(v: View, worker: str, tid: int, attempt: int | None) -> int:
    """The attempt `worker` holds trial `tid` with, or LeaseLost."""
    st = v.state
    trial = st.trials.get(tid) if st is not None else None
    if trial is None:
        why = "the trial was deleted" if st is not None and tid in st.deleted else "no such trial"
        raise LeaseLost(v.name, tid, worker, attempt, None, why)
    if trial.owner != worker or (attempt is not None and trial.attempt != attempt):
        raise LeaseLost(
            v.name, tid, worker, attempt, trial.owner,
            f"attempt {trial.attempt} of it belongs to {trial.owner}",
        )
    if trial.status != "running":
        raise LeaseLost(v.name, tid, worker, attempt, trial.owner, f"the trial is {trial.status} already")
    return trial.attempt


def _prepare(v: View, claim: bool) -> tuple[int, dict] | None:
    """For tpe and anneal, suggest before taking the lock: (guessed tid, vals) or None.

    Their suggestions take milliseconds to tens of milliseconds (O(trials));
    made under the lock they would serialise every worker. Made outside it
    from the view as it is now, workers suggest in parallel, from a history
    that may miss the trials claimed meanwhile (as Optuna's samplers and
    hyperopt's asynchronous workers do). `rand` and `enumeration` are cheap
    and tid-determined: they suggest under the lock.
    """
    if not claim:
        return None
    with v.mutex:
        st = v.refresh()
        if st.spec.algo not in ("tpe", "anneal"):
            return None
        choice = pick(st, time.time(), v.lease_left())
        if choice.action != "new":
            return None
        return choice.tid, _suggest(v, choice.tid)


def _claim_events(
    v: View, worker: str, now: float, prepared: tuple[int, dict] | None = None
) -> tuple[list[Any], Trial | NoMoreTrials]:
    """Decide the claim on the fresh view; apply its events to the view."""
    events: list[Any] = []
    st = v.state
    while True:
        choice = pick(st, now, v.lease_left())
        if choice.action != "expire":
            break
        event = Expire(choice.tid, st.trials[choice.tid].attempt, now)
        logger.warning("trial %s of %s lost its lease on its last attempt: failed", choice.tid, v.name)
        v.apply_all([event])
        events.append(event)
    if choice.action == "none":
        return events, NoMoreTrials(v.name, choice.reason, choice.retry_at)
    lease_until = now + st.spec.lease_seconds
    if choice.action == "retry":
        old = st.trials[choice.tid]
        event = Claim(choice.tid, worker, old.attempt + 1, lease_until, now)
        logger.info(
            "%s claims trial %s of %s again (attempt %s; was %s's, %s)",
            worker, choice.tid, v.name, old.attempt + 1, old.owner, old.status,
        )
    else:
        vals = _prepared_vals(st, choice.tid, prepared)
        if vals is None:
            vals = _suggest(v, choice.tid)
        event = Claim(choice.tid, worker, 1, lease_until, now, vals)
    v.apply_all([event])
    events.append(event)
    trial = v.state.trials[choice.tid]
    return events, Trial(trial.tid, None, trial.attempt, trial.vals, trial.lease_until)


def _prepared_vals(st: Any, tid: int, prepared: tuple[int, dict] | None) -> dict | None:
    """The vals suggested before the lock, unless another worker got the same ones.

    A suggestion made for the tid we then get is used as it is (one worker
    alone always gets its guess: its runs are reproducible). One made for a
    tid that other workers took meanwhile is used for ours, unless one of
    them claimed the very same vals: workers that guessed the same tid from
    the same history, with the same seed, suggest the same point, and any of
    them may have got any of the tids from the guessed one to ours (the
    guessed tid may go to a worker that saw another history, the next two to
    two workers that guessed alike).
    """
    if prepared is None:
        return None
    guessed, vals = prepared
    if guessed == tid:
        return vals
    for taken in range(guessed, tid):
        other = st.trials.get(taken)
        if other is not None and other.vals == vals:
            return None
    return vals


def _suggest(v: View, tid: int) -> dict:
    from . import _space

    spec = v.state.spec
    _, domain = v.space_and_domain()
    if spec.algo == "enumeration":
        axes = _space.enumeration_axes(domain)
        used = {_enumeration_index(axes, t.vals) for t in v.state.trials.values()}
        index = next(i for i in range(spec.max_evals + len(used) + 1) if i not in used)
        return _space.enumeration_vals(axes, index)
    trials = v.hyperopt_trials() if spec.algo in ("tpe", "anneal") else _NO_TRIALS
    return _space.suggest(spec.algo, domain, trials, tid, spec.seed)


class _NoTrials:
    """rand.suggest only calls new_trial_docs; skip building a Trials for it."""

    @staticmethod
    def new_trial_docs(tids: Any, specs: Any, results: Any, miscs: Any) -> list[dict]:
        return [{"tid": t, "misc": m} for t, m in zip(tids, miscs, strict=True)]


_NO_TRIALS = _NoTrials()


def _enumeration_index(axes: list[tuple[str, range]], vals: dict) -> int:
    index = 0
    for label, values in axes:
        index = index * len(values) + values.index(vals[label][0])
    return index


def claim_and_report(
    name: str,
    worker: str,
    report: Callable[[int], Any] | None = None,
    report_tid: int | None = None,
    report_attempt: int | None = None,
    claim: bool = True,
) -> Trial | NoMoreTrials | None:
    """Under one lock: record a report on a trial, then claim the next one.

    Args:
        name: the session's `type:name`.
        worker: the worker id.
        report: makes the report event from the attempt held (None: no report).
        report_tid: the trial reported on.
        report_attempt: the attempt reported on (None: the worker's current one).
        claim: whether to claim a trial after the report.

    Returns:
        The claimed Trial (params filled), NoMoreTrials (returned, not raised,
        so a caller gets its report recorded either way), or None without a claim.

    Raises:
        LeaseLost: the report's trial is not this worker's any more (nothing
            is written, no trial claimed).
    """
    v = view(name)
    prepared = _prepare(v, claim)
    with lock(name), v.mutex:
        v.refresh()
        events: list[Any] = []
        if report is not None:
            attempt = _check_owner(v, worker, report_tid, report_attempt)
            event = report(attempt)
            v.apply_all([event])
            events.append(event)
        outcome: Trial | NoMoreTrials | None = None
        if claim:
            try:
                more, outcome = _claim_events(v, worker, time.time(), prepared)
            except BaseException:
                v.invalidate()
                raise
            events.extend(more)
        _commit(v, events)
    if isinstance(outcome, Trial):
        # issue 12: a space that does not evaluate fails the trial, not the worker.
        from ._space_eval import trial_params

        outcome = outcome._replace(params=trial_params(v, outcome.tid))
    return outcome


def next_trial(name: str, worker_id: str | None = None) -> Trial:
    """Claim a trial: a retry, a trial whose lease ran out, or a new suggestion.

    Args:
        name: the session (`name` or `type:name`).
        worker_id: who claims (default `default_worker_id()`).

    Returns:
        The Trial, leased for the session's `lease_seconds`.

    Raises:
        NoMoreTrials: with `.reason` done, stopped, failed or busy.
        UnknownSession: no such session.
    """
    outcome = claim_and_report(session_name(name), worker_id or default_worker_id())
    if isinstance(outcome, NoMoreTrials):
        raise outcome
    return outcome


def renew_lease(name: str, worker_id: str, tid: int, attempt: int | None = None) -> float:
    """Extend the lease on a trial by the session's `lease_seconds`.

    Returns:
        The new end of the lease (`time.time()` scale).

    Raises:
        LeaseLost: the trial is not this worker's any more.
    """
    name = session_name(name)
    v = view(name)
    with lock(name), v.mutex:
        v.refresh()
        held = _check_owner(v, worker_id, tid, attempt)
        now = time.time()
        until = now + v.state.spec.lease_seconds
        event = Renew(tid, worker_id, held, until, now)
        v.apply_all([event])
        _commit(v, [event])
    return until


def record_result(
    name: str,
    worker_id: str,
    tid: int,
    result: Any,
    attempt: int | None = None,
    duration: float | None = None,
) -> None:
    """Record a trial's result: a float loss, or a dict with a `loss` key.

    Args:
        name: the session.
        worker_id: the worker that holds the trial.
        tid: the trial.
        result: the loss, or a dict with a finite `loss` (other keys are kept).
        attempt: the attempt reported on (None: the worker's current one).
        duration: seconds the objective took (None: since the claim).

    Raises:
        LeaseLost: the trial is not this worker's any more; nothing is recorded.
        InvalidResult: `result` is not a loss.
    """
    report = _result_report(worker_id, tid, normalize_result(result), duration, view(session_name(name)))
    claim_and_report(session_name(name), worker_id, report, tid, attempt, claim=False)


def record_failure(
    name: str,
    worker_id: str,
    tid: int,
    traceback_text: str,
    attempt: int | None = None,
    duration: float | None = None,
) -> None:
    """Record that the objective failed on a trial (the trial is retried or failed).

    Raises:
        LeaseLost: the trial is not this worker's any more; nothing is recorded.
    """
    report = _failure_report(worker_id, tid, traceback_text, duration, view(session_name(name)))
    claim_and_report(session_name(name), worker_id, report, tid, attempt, claim=False)


def _elapsed(v: View, tid: int, duration: float | None, now: float) -> float:
    if duration is not None:
        return float(duration)
    trial = v.state.trials.get(tid) if v.state is not None else None
    return max(0.0, now - trial.refresh_time) if trial is not None else 0.0


def _result_report(worker: str, tid: int, result: dict, duration: float | None, v: View) -> Callable[[int], Any]:
    def make(attempt: int) -> Result:
        now = time.time()
        return Result(tid, worker, attempt, result, now, _elapsed(v, tid, duration, now))

    return make


def _failure_report(worker: str, tid: int, text: str, duration: float | None, v: View) -> Callable[[int], Any]:
    def make(attempt: int) -> Failure:
        now = time.time()
        return Failure(tid, worker, attempt, text, now, _elapsed(v, tid, duration, now))

    return make


def _command(name: str, event_for: Callable[[View], Any]) -> None:
    name = session_name(name)
    v = view(name)
    with lock(name), v.mutex:
        v.refresh()
        event = event_for(v)
        v.apply_all([event])
        _commit(v, [event])


def stop(name: str) -> None:
    """Stop a session: workers finish their trial and claim no more."""
    _command(name, lambda v: Status("stop", time.time()))


def enable(name: str) -> None:
    """Let workers claim trials of a stopped session again (a failed one needs `restart`)."""
    _command(name, lambda v: Status("enable", time.time()))


def restart(name: str) -> None:
    """Enable a session and give its failed trials a fresh set of attempts."""
    _command(name, lambda v: Status("restart", time.time()))


def delete_trial(name: str, tid: int) -> None:
    """Delete a trial; a new one (a new suggestion) takes its place.

    Raises:
        UnknownTrial: the session has no trial `tid`.
    """
    from ._errors import UnknownTrial

    def event_for(v: View) -> Delete:
        if tid not in v.state.trials:
            raise UnknownTrial(v.name, tid)
        return Delete(tid, time.time())

    _command(name, event_for)


def annotate(name: str, key: str, value: Any) -> None:
    """Attach a free-form key/value to a session (the last value of a key wins).

    The launchers keep their Slurm job ids, generation counters and launch
    settings there; `annotations(name)` reads them back.
    """
    if not isinstance(key, str):
        raise SessionError(f"annotation keys are strings, not {key!r}")
    _command(name, lambda v: Annotate(key, value, time.time()))


def compact_session(name: str) -> None:
    """Replace a session's log by one snapshot of its state (smaller, faster to read).

    Readers notice (`LogCompacted`) and read the snapshot instead.
    """
    from ._events import Snapshot

    name = session_name(name)
    v = view(name)
    with lock(name), v.mutex:
        v.refresh()
        v.position = store.compact(name, Snapshot(v.state), upto=v.position)
