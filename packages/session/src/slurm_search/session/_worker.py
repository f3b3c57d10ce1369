"""The inline worker: claim, evaluate, record, until the session has no more.

`work_on` is what every worker runs, in this process or in the launchers'
`ssearch work_on` processes and Slurm jobs. While the objective runs, a
background thread renews the trial's lease every `lease_seconds / 3`; a
worker that dies stops renewing, its lease runs out, and the next worker that
asks gets the same trial again (attempt + 1). Each result is recorded in the
same lock and append as the next claim.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import math
import os
import threading
import time
from typing import Any, NamedTuple

from ._claims import Trial, claim_and_report, default_worker_id, renew_lease
from ._current import evaluating
from ._errors import InvalidSetting, LeaseLost, NoMoreTrials
from ._evaluation import call_objective
from ._folders import use_session_folder
from ._leaving import leave_on_signals, leave_reason, reset_leave, should_stop
from ._model import keep_claiming, pick, status
from ._names import resolve_objective, session_name
from ._pruners import last_report, trial_values
from ._reports import TrialReports, reporting
from ._results import failure_report, normalize_result, prune_report, result_report, suspend_report
from ._space_eval import SpaceEvalFailure
from ._view import view
from ._view_params import trial_params

logger = logging.getLogger(__name__)


class _Counts(NamedTuple):
    completed: int
    failed: int
    lost: int
    reason: str


class WorkReport(_Counts):
    """What one `work_on` call did.

    Attributes:
        completed: trials it recorded as ok.
        failed: failed attempts it recorded.
        lost: reports refused because the lease had been taken over.
        reason: why it stopped: `done`, `stopped`, `failed` or `deadline`.
        pruned: trials it recorded as pruned (an attribute beside the
            tuple: a WorkReport still unpacks and compares as
            `(completed, failed, lost, reason)`).
    """

    def __new__(cls, completed: int, failed: int, lost: int, reason: str, pruned: int = 0) -> WorkReport:
        self = super().__new__(cls, completed, failed, lost, reason)
        self.pruned = pruned  # type: ignore[attr-defined]  # set once, like the tuple's fields
        return self

    def __getnewargs__(self) -> tuple:
        return (*self, self.pruned)  # type: ignore[attr-defined]


class _LeaseKeeper:
    """A thread that renews the lease of the trial being evaluated."""

    def __init__(self, name: str, worker: str, lease_seconds: float) -> None:
        self.name = name
        self.worker = worker
        self.interval = lease_seconds / 3
        self._cond = threading.Condition()
        self._current: tuple[int, int] | None = None
        self._due = 0.0
        self._stopped = False
        self._thread: threading.Thread | None = None

    def hold(self, tid: int, attempt: int) -> None:
        with self._cond:
            self._current = (tid, attempt)
            self._due = time.monotonic() + self.interval
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"lease-keeper {self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def release(self) -> None:
        with self._cond:
            self._current = None
            self._cond.notify()

    def current(self) -> tuple[int, int] | None:
        """(tid, attempt) of the trial held now, or None."""
        with self._cond:
            return self._current

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (
                    self._current is None or time.monotonic() < self._due
                ):
                    timeout = None if self._current is None else self._due - time.monotonic()
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                held = self._current
                if held is None:  # the loop above waits while it is
                    continue
                self._due = time.monotonic() + self.interval
            try:
                renew_lease(self.name, self.worker, held[0], held[1])
                logger.debug("%s renewed its lease on trial %s", self.worker, held[0])
            except LeaseLost as err:
                with self._cond:
                    still = self._current == held
                # (owner == this worker: the report went in meanwhile; nothing lost)
                if still and err.owner != self.worker:
                    logger.warning("%s", err)
            # The renewal is retried at the next interval; a failing store
            # must not kill the thread (the lease would then surely run out).
            except Exception:
                logger.exception("%s could not renew its lease on trial %s", self.worker, held[0])


class _Watchdog:
    """Hands the trial back for an objective that does not look at `should_stop()`.

    `grace` seconds after the worker is told to leave, if it still holds a
    trial, it appends the trial's `Suspend` (fenced like any report: only if
    this attempt still holds it) and ends the process: the job is about to
    be killed anyway, and the trial is claimable at once instead of after a
    lease.
    """

    def __init__(self, name: str, worker: str, keeper: _LeaseKeeper, grace: float) -> None:
        self.name = name
        self.worker = worker
        self.keeper = keeper
        self.grace = grace
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"leave-watchdog {name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()

    def _run(self) -> None:
        while not self._done.is_set():
            if should_stop():
                break
            self._done.wait(0.2)
        if self._done.wait(self.grace):
            return
        held = self.keeper.current()
        if held is None:
            return
        tid, attempt = held
        why = f"{leave_reason() or 'told to leave'}; the objective did not suspend within {self.grace:g} s"
        try:
            claim_and_report(self.name, self.worker, suspend_report(self.worker, tid, why), tid, attempt, claim=False)
            logger.warning("trial %s of %s handed back (%s): this worker ends", tid, self.name, why)
        except LeaseLost:
            return  # its report (or another worker) came first
        except Exception:  # noqa: BLE001 - the process ends either way; its lease then runs out
            logger.exception("could not hand back trial %s of %s", tid, self.name)
        logging.shutdown()
        os._exit(0)


IDLE_POLL = 0.25

# errno values of a full store: the worker waits for space instead of dying.
_FULL = (errno.ENOSPC, errno.EDQUOT)
FULL_PAUSE_FIRST = 1.0
FULL_PAUSE_MOST = 60.0


def _full_pause(done: int) -> float:
    """Seconds to wait after `done` waits for space: doubling, at most a minute."""
    return min(FULL_PAUSE_FIRST * 2**done, FULL_PAUSE_MOST)


# A worker that has waited this long for other workers' trials says which.
SAY_WAITING_AFTER = 2.0


def _wait_while_busy(v: Any, deadline: float | None, longest: float = IDLE_POLL) -> bool:
    """Sleep while every trial is held by another live worker.

    Polls the log without the lock (a read of what is new), backing off from
    10 ms to ``longest``: a worker waiting for the last trials notices quickly
    that they finished (its launcher waits for it), or that a lease ran out.

    Returns:
        False if the deadline came first.
    """
    wait = 0.01
    started = time.monotonic()
    told = False
    while True:
        now = time.time()
        if deadline is not None and now >= deadline:
            return False
        time.sleep(wait if deadline is None else min(wait, deadline - now))
        wait = min(wait * 1.5, longest)
        with v.mutex:
            left = v.leases.left(v.state)
            choice = pick(v.refresh(), time.time(), left)
        if choice.action != "none" or choice.reason != "busy":
            return True
        if not told and time.monotonic() - started >= SAY_WAITING_AFTER:
            # A long wait is said once, with what it waits for: a lease of a
            # worker that is gone (a killed run, a cut log) runs a whole
            # lease_seconds, which would otherwise look like a hang.
            told = True
            logger.warning("%s", _waiting_for(v, left))


def _waiting_for(v: Any, left: dict[int, float]) -> str:
    """``search:x: waiting for trial 3 (held by vm:123; its lease runs out in 52 s unless renewed)``."""
    held = sorted(left, key=lambda tid: (left[tid], tid))
    parts = [
        f"trial {tid} (held by {v.state.trials[tid].owner}; its lease runs out in "
        f"{max(0.0, left[tid]):.0f} s unless renewed)"
        for tid in held[:3]
    ]
    more = f" and {len(held) - 3} more" if len(held) > 3 else ""
    return f"{v.name}: every trial left is held by another worker; waiting for {', '.join(parts)}{more}"


def _mean_duration(st: Any, pending_ok: bool, pending: float) -> float | None:
    """The session's mean trial duration, counting the result not yet recorded."""
    total, count = st.duration_sum, st.duration_count
    if pending_ok:
        total, count = total + pending, count + 1
    return total / count if count else None


def work_on(
    name: str,
    deadline: float | None = None,
    worker_id: str | None = None,
    idle_poll: float = IDLE_POLL,
    leave_signals: bool | tuple[int, ...] = False,
    leave_grace: float | None = None,
) -> WorkReport:
    """Work on a session in this process until it has no trial left for us.

    Loops: claim a trial, evaluate the objective (renewing the lease in a
    background thread), record the result or the failure with its
    traceback. When every trial is claimed by live workers, waits: a lease
    may run out (its worker died) and the trial come back.

    Args:
        name: the session (`name` or `type:name`).
        deadline: `time.time()` after which no trial is claimed; before it a
            worker stops claiming when the session's mean trial duration no
            longer fits (unless the session is interruptible).
        worker_id: the worker's id (default `hostname:pid[:slurm job]`).
        idle_poll: while every trial left is held by other workers, look at
            the session at least this often (seconds); the workers of a
            launcher that waits for them look more often than the default.
        leave_signals: a worker process of its own (`ssearch work_on`, a
            Slurm task): SIGUSR1, SIGUSR2 and SIGTERM ask it to leave
            (`should_stop()`; see _leaving.py) instead of killing it. It then
            claims nothing more, hands its trial back at once, and returns
            with reason `leave`. A tuple: only those signals (a Slurm task
            that knows its end time handles Slurm's early SIGUSR1 itself).
        leave_grace: seconds the objective has, once the worker is told to
            leave, to return or `suspend()`; past them the trial is handed
            back for it and the process ends (None: no limit).

    Returns:
        A WorkReport (counts and why it stopped).

    Raises:
        UnknownSession: no such session.
        InvalidObjective: the objective does not import here.
        InvalidSetting: a deadline that is not a number (nan), a worker id
            that is empty or not a string.
    """
    name = session_name(name)
    if deadline is not None and (
        isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or math.isnan(deadline)
    ):
        raise InvalidSetting("deadline", deadline, "a time.time() value, or None for no deadline")
    if worker_id is not None and (not isinstance(worker_id, str) or not worker_id.strip()):
        raise InvalidSetting("worker_id", worker_id, "a non-empty name, or None for hostname:pid")
    worker = worker_id or default_worker_id()
    v = view(name)
    spec = v.refresh().spec
    use_session_folder(spec.objective, spec.metadata)
    objective = resolve_objective(spec.objective)
    context = v.derived.context(v.state)
    # Import hyperopt and compile the space now, outside the session's lock:
    # the first claim would (rand suggests under the lock), and workers
    # that start together would wait there for each other's imports.
    try:
        v.derived.space_and_domain(v.state)
    except Exception:  # noqa: BLE001 - the claim meets it again and reports it as it always did
        logger.debug("the space of %s does not compile here yet", name, exc_info=True)
    keeper = _LeaseKeeper(name, worker, spec.lease_seconds)
    if leave_signals:
        signals: Any = leave_on_signals(*(() if leave_signals is True else (leave_signals,)))
    else:
        signals = contextlib.nullcontext()
    if leave_signals:
        reset_leave()
    watchdog = _Watchdog(name, worker, keeper, leave_grace) if leave_signals and leave_grace is not None else None
    completed = failed = lost = pruned = suspended = 0
    report: Any = None  # makes the event recording the last trial's outcome
    ok: bool | str | None = False  # that outcome: True a result, False a failure, None pruned, "suspended"
    duration = 0.0  # how long that trial took
    trial: Trial | None = None
    reason = "done"
    full_pauses = 0  # consecutive waits for space in the store
    logger.info("worker %s starts on %s", worker, name)
    try:
        signals.__enter__()
        if watchdog is not None:
            watchdog.start()
        while True:
            leaving = should_stop()
            claim: bool | str = not leaving and keep_claiming(
                time.time(), deadline, _mean_duration(v.state, ok is True, duration), spec.interruptible
            )
            if not claim and not leaving and deadline is not None and time.time() < deadline:
                # Too little time left for a whole trial, but a trial with a
                # checkpoint can still make progress until the job ends.
                claim = "resumable"
            try:
                outcome = claim_and_report(
                    name, worker, report,
                    trial.tid if trial is not None else None,
                    trial.attempt if trial is not None else None,
                    claim=claim,
                )
            except LeaseLost as err:
                keeper.release()
                logger.warning("%s", err)
                lost += 1
                report = trial = None
                ok = False
                continue
            except OSError as err:
                if err.errno not in _FULL or (deadline is not None and time.time() >= deadline):
                    raise
                # A full disk (or quota): nothing stored is lost, and space
                # may come back. Wait and try the same report again rather
                # than let every worker die at once.
                pause = _full_pause(full_pauses)
                full_pauses += 1
                logger.warning("the store is full (%s): retrying in %.0f s", err.strerror, pause)
                time.sleep(pause)
                continue
            # The lease was kept alive until the report was in the log: a
            # worker queueing for the session's lock loses no finished trial.
            keeper.release()
            full_pauses = 0
            if report is not None:
                if ok == "suspended":
                    suspended += 1
                elif ok is True:
                    completed += 1
                elif ok is None:  # pruned
                    pruned += 1
                else:
                    failed += 1
            report = trial = None
            ok = False
            if not claim or outcome is None:  # None: nothing was to be claimed
                reason = "leave" if leaving else "deadline"
                break
            if isinstance(outcome, NoMoreTrials):
                if outcome.reason == "deadline":
                    reason = "deadline"
                    break
                if outcome.reason != "busy":
                    reason = outcome.reason
                    break
                if not _wait_while_busy(v, deadline, idle_poll):
                    reason = "deadline"
                    break
                if status(v.state) != "running":  # done, failed or stopped meanwhile: no lock needed to see it
                    reason = status(v.state)
                    break
                continue
            trial = outcome
            ok, duration, report = _evaluate(
                name, worker, objective, context, trial, keeper, v, spec.trial_timeout
            )
    finally:
        keeper.stop()
        if watchdog is not None:
            watchdog.stop()
        signals.__exit__(None, None, None)
    logger.info(
        "worker %s stops on %s (%s): %d ok, %d failed, %d lost, %d pruned, %d handed back",
        worker, name, reason, completed, failed, lost, pruned, suspended,
    )
    return WorkReport(completed, failed, lost, reason, pruned)


def _evaluate(
    name: str,
    worker: str,
    objective: Any,
    context: Any,
    trial: Trial,
    keeper: _LeaseKeeper,
    v: Any,
    timeout: float | None = None,
) -> tuple[bool | str | None, float, Any]:
    """Run the objective on a trial; return (ok, duration, the report to record).

    ok is None for a pruned trial, "suspended" for one handed back. When the trial stopped because an
    enclosing trial (a session evaluated inline around this one) was pruned,
    this trial is recorded pruned at once and that `Pruned` raised.
    """
    logger.debug("%s evaluates trial %s of %s: %r", worker, trial.tid, name, trial.params)
    if isinstance(trial.params, SpaceEvalFailure):  # issue 12: the trial's failure, with its traceback
        return False, 0.0, failure_report(worker, trial.tid, trial.params.traceback, 0.0, v)
    keeper.hold(trial.tid, trial.attempt)
    start = time.perf_counter()
    params = trial.params
    while True:
        reports = TrialReports(name, worker, trial.tid, trial.attempt)
        with v.mutex:
            # A trial resumed from a checkpoint continues its learning curve.
            reports.resume(trial_values(v.state, trial.tid))
        outcome = _call(name, worker, objective, params, context, trial, reports, keeper, v, timeout)
        if outcome.exploited is None:
            break
        # A PBT member took a better member's checkpoint: the same attempt
        # goes on from it with the explored parameters.
        with v.mutex:
            v.refresh()
        params = trial_params(v.derived, v.state, trial.tid)
        if isinstance(params, SpaceEvalFailure):
            return False, time.perf_counter() - start, failure_report(worker, trial.tid, params.traceback, None, v)
    duration = time.perf_counter() - start
    if outcome.suspended is not None:
        why = outcome.suspended.reason
        logger.info("trial %s of %s is handed back by %s (%s)", trial.tid, name, worker, why)
        return "suspended", duration, suspend_report(worker, trial.tid, why)
    if outcome.pruned is not None:
        return _pruned(name, worker, trial, reports, outcome.pruned, duration, v)
    if outcome.failure is not None:
        logger.warning("trial %s of %s failed on %s:\n%s", trial.tid, name, worker, outcome.failure)
        return False, duration, failure_report(worker, trial.tid, outcome.failure, duration, v)
    return True, duration, result_report(worker, trial.tid, outcome.result, duration, v)



def _call(
    name: str,
    worker: str,
    objective: Any,
    params: Any,
    context: Any,
    trial: Trial,
    reports: TrialReports,
    keeper: _LeaseKeeper,
    v: Any,
    timeout: float | None,
) -> Any:
    """One call of the objective on the trial: its `Outcome`."""

    def reporting_objective(params: Any, context: Any) -> Any:
        try:
            return objective(params, context)
        finally:
            reports.close()  # in the process that ran it (a trial_timeout child too)

    try:
        # An exception (or sys.exit) of the objective, a result that cannot be
        # stored, a timeout: each is the trial's failure, with its reason.
        # KeyboardInterrupt goes through (the lease then runs out and another
        # worker re-runs the trial).
        with evaluating(name, trial.tid, trial.attempt, worker), reporting(reports):
            return call_objective(
                reporting_objective, params, context,
                functools.partial(normalize_result, directions=v.state.spec.directions), timeout,
                v.state.spec.objective.partition(":")[0],
            )
    except BaseException:
        keeper.release()
        raise


def _pruned(
    name: str, worker: str, trial: Trial, reports: TrialReports, err: Any, duration: float, v: Any
) -> tuple[None, float, Any]:
    """The report recording a pruned trial; raises `err` when it was an enclosing trial's."""
    if err.name == name and err.tid == trial.tid:
        return None, duration, prune_report(worker, trial.tid, err.step, err.value, duration)
    # The objective reported from a forked child: its last report is in the log.
    last = reports.last or last_report(v.refresh(), trial.tid, trial.attempt)
    step, loss = last if last is not None else (None, None)
    logger.info("trial %s of %s stops: the enclosing trial %s of %s was pruned", trial.tid, name, err.tid, err.name)
    try:
        claim_and_report(
            name, worker, prune_report(worker, trial.tid, step, loss, duration), trial.tid, trial.attempt, claim=False
        )
    except LeaseLost as lost:
        logger.warning("%s", lost)
    raise err
