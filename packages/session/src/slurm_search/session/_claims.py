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
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from slurm_search import state as store
from slurm_search.locking import lock

from ._beats import beat, retire, seize, sweep
from ._big_results import discard
from ._ckpt_paths import discard_checkpoints
from ._errors import LeaseLost, NoMoreTrials
from ._events import Annotate, Claim, Expire
from ._model import pick, status
from ._names import session_name
from ._queue import take
from ._results import failure_report, normalize_result, result_report
from ._snapshots import crossed, maybe_write
from ._space_eval import SpaceEvalFailure
from ._suggesting import prepare, prepared_vals, suggest_new
from ._view import View, view
from ._view_params import trial_params

logger = logging.getLogger(__name__)

READ_FIRST_AFTER = 0.05  # seconds since a view's last read after which a claim or report reads before its lock


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
    """``hostname:pid``; Slurm tasks are named ``host:slurm-JOB_TASK`` by their launcher."""
    return f"{socket.gethostname()}:{os.getpid()}"


def commit(v: View, events: Sequence[Any], durable: bool = True) -> None:
    """Append events already applied to the view; the caller holds the lock.

    `durable=False` for claims alone: a power failure that undoes a claim
    also ended the worker that made it, and the trial is claimed again (see
    `state.append`); a report is always fsynced before the lock is let go.
    """
    if not events:
        return
    try:
        # The view read the log up to its position (checksums and all): the
        # store need not verify those bytes again (a fresh process started
        # from a checkpoint would otherwise read the whole log once).
        v.position = store.append(v.name, *events, verified=v.position, durable=durable)
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


def _claim_events(
    v: View, worker: str, now: float, prepared: tuple[int, dict] | None = None, resumable_only: bool = False
) -> tuple[list[Any], Trial | NoMoreTrials]:
    """Decide the claim on the fresh view; apply its events to the view."""
    events: list[Any] = []
    st = v.state
    while True:
        choice = pick(st, now, v.leases.left(st), resumable_only)
        tid = choice.tid
        if tid is None:  # action "none", which always has a reason
            return events, NoMoreTrials(v.name, choice.reason or "busy", choice.retry_at)
        # A take-over (retry or expire of a running trial) first seizes the
        # holder's beat mark; a holder that beat meanwhile keeps its trial.
        if choice.action in ("retry", "expire") and tid in st.running and not seize(v, tid):
            continue
        if choice.action != "expire":
            break
        event = Expire(tid, st.trials[tid].attempt, now)
        logger.warning("trial %s of %s lost its lease on its last attempt: failed", tid, v.name)
        v.apply_all([event])
        events.append(event)
    lease_until = now + st.spec.lease_seconds
    claim: Claim
    if choice.action == "retry":
        old = st.trials[tid]
        claim = Claim(tid, worker, old.attempt + 1, lease_until, now)
        logger.info(
            "%s claims trial %s of %s again (attempt %s; was %s's, %s)",
            worker, tid, v.name, old.attempt + 1, old.owner, old.status,
        )
    else:
        notes: list[tuple[str, Any]] = []
        queued = take(st)  # a setting enqueued for a warm start goes first
        if queued is not None:
            vals, notes = queued
        else:
            guessed = prepared_vals(st, tid, prepared)
            if guessed is None:
                vals, notes = suggest_new(v, tid)
            else:
                vals = guessed
        claim = Claim(tid, worker, 1, lease_until, now, vals)
        if notes:
            # The queue without this setting, or what an Optuna sampler keeps between
            # suggestions: recorded with the claim, under the same lock.
            annotations = [Annotate(key, value, now) for key, value in notes]
            v.apply_all(annotations)
            events.extend(annotations)
    v.apply_all([claim])
    events.append(claim)
    trial = v.state.trials[tid]
    return events, Trial(trial.tid, None, trial.attempt, trial.vals, trial.lease_until)


def claim_and_report(
    name: str,
    worker: str,
    report: Callable[[int], Any] | None = None,
    report_tid: int | None = None,
    report_attempt: int | None = None,
    claim: bool | str = True,
) -> Trial | NoMoreTrials | None:
    """Under one lock: record a report on a trial, then claim the next one.

    Args:
        name: the session's `type:name`.
        worker: the worker id.
        report: makes the report event from the attempt held (None: no report).
        report_tid: the trial reported on.
        report_attempt: the attempt reported on (None: the worker's current one).
        claim: whether to claim a trial after the report; `"resumable"`:
            only one with a checkpoint to continue from (NoMoreTrials with
            reason `deadline` if there is none).

    Returns:
        The claimed Trial (params filled), NoMoreTrials (returned, not raised,
        so a caller gets its report recorded either way), or None without a claim.

    Raises:
        LeaseLost: the report's trial is not this worker's any more (nothing
            is written, no trial claimed).
    """
    v = view(name)
    if time.monotonic() - v.read_at > READ_FIRST_AFTER:
        # Back from a trial: read what the other workers wrote meanwhile
        # before taking the lock, which then covers only the last few
        # records (with hundreds of workers, hundreds of records a trial).
        with v.mutex:
            v.refresh()
    prepared = prepare(v, claim is True, worker)
    try:
        outcome = _claim_and_report(v, name, worker, report, report_tid, report_attempt, claim, prepared)
    except LeaseLost:
        discard(name, getattr(report, "blob", None))  # no record will ever refer to it
        raise
    finally:
        if report is not None and report_tid is not None:
            retire(v, report_tid)
    if report is not None:
        _discard_finished(v, report_tid)
    sweep(name)
    maybe_write(v)
    if isinstance(outcome, Trial):
        # A space that does not evaluate fails the trial, not the worker.
        outcome = outcome._replace(params=trial_params(v.derived, v.state, outcome.tid))
    return outcome


def _claim_and_report(
    v: View,
    name: str,
    worker: str,
    report: Callable[[int], Any] | None,
    report_tid: int | None,
    report_attempt: int | None,
    claim: bool | str,
    prepared: tuple[int, dict] | None,
) -> Trial | NoMoreTrials | None:
    with lock(name), v.mutex:
        before = v.refresh().events
        was = status(v.state)
        events: list[Any] = []
        if report is not None and report_tid is not None:
            attempt = _check_owner(v, worker, report_tid, report_attempt)
            event = report(attempt)
            v.apply_all([event])
            events.append(event)
        outcome: Trial | NoMoreTrials | None = None
        if claim:
            try:
                more, outcome = _claim_events(v, worker, time.time(), prepared, claim == "resumable")
            except BaseException:
                v.invalidate()
                raise
            events.extend(more)
        commit(v, events, durable=report is not None)
        if events and (crossed(before, v.state.events) or status(v.state) != was):
            # This process writes the next checkpoint: every so many events,
            # and when the session ends (listings then read only its head).
            v.checkpoint.due = True
    return outcome


def _discard_finished(v: View, tid: int | None) -> None:
    """Remove the checkpoints of a trial that just ended ok or pruned (unless the session keeps them)."""
    st = v.state
    trial = st.trials.get(tid) if st is not None and tid is not None else None
    if trial is None or trial.checkpoint is None or trial.status not in ("ok", "pruned"):
        return
    if (st.spec.checkpoints or {}).get("keep_finished"):
        return
    discard_checkpoints(v.name, st.spec.uid, trial.tid)


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
    name, worker = session_name(name), worker_id or default_worker_id()
    while True:
        outcome = claim_and_report(name, worker)
        if isinstance(outcome, NoMoreTrials):
            raise outcome
        if outcome is None:  # only when asked not to claim
            continue
        if not isinstance(outcome.params, SpaceEvalFailure):
            return outcome
        # Its space does not evaluate: the trial fails with the traceback,
        # as it would on a worker, and the next one is claimed.
        record_failure(name, worker, outcome.tid, outcome.params.traceback, outcome.attempt, 0.0)


def renew_lease(name: str, worker_id: str, tid: int, attempt: int | None = None) -> float:
    """Extend the lease on a trial by the session's `lease_seconds`.

    Takes no lock on the session: the renewal is a beat of this worker's
    mark (see `_beats`), then a read of the log.

    Returns:
        The new end of the lease (`time.time()` scale).

    Raises:
        LeaseLost: the trial is not this worker's any more.
    """
    name = session_name(name)
    v = view(name)
    with v.mutex:
        v.refresh()
        held = _check_owner(v, worker_id, tid, attempt)
        lease = v.state.spec.lease_seconds
    now = time.time()
    beaten = beat(v, tid, held)
    try:
        with v.mutex:
            v.refresh()
            _check_owner(v, worker_id, tid, held)
    except LeaseLost:
        retire(v, tid)  # a report (or a take-over) came first: leave no mark behind
        raise
    if not beaten:
        trial = v.state.trials[tid]
        raise LeaseLost(
            v.name, tid, worker_id, held, trial.owner,
            "its lease ran out and another worker is taking it over",
        )
    return now + lease


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
    v = view(session_name(name))
    with v.mutex:
        directions = v.state.spec.directions
    report = result_report(worker_id, tid, normalize_result(result, directions), duration, v)
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
    report = failure_report(worker_id, tid, traceback_text, duration, view(session_name(name)))
    claim_and_report(session_name(name), worker_id, report, tid, attempt, claim=False)


