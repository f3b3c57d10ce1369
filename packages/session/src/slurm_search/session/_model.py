"""The session model: the state that a session's log of events stands for.

`apply(state, event)` is the one transition function: it takes the state
after some prefix of the log and the next record, and gives the state after
it. It reads no clock and touches no file, so the same log always gives the
same state on every host. It updates `state` in place and returns it (a
process keeps one state per session and feeds it only the new records; a
copy per event would make every claim cost O(trials)). Events that do not fit
the state (a result from a worker that no longer owns the trial, a claim of a
finished trial) change nothing: writers check before appending, and the
reducer stays safe if two raced.

`status` and `pick` are the pure decisions built on the state: what the
session is doing, and which trial a worker should get at time `now`.

Trial statuses: `new` (waiting for an attempt: a failed attempt with tries
left, or a restarted trial), `running` (claimed; its lease may have run out),
`ok`, `failed` (out of attempts), `pruned` (stopped early: _pruners.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeGuard

from slurm_search.state import UnreadableRecord

from ._events import (
    Annotate,
    Checkpoint,
    Claim,
    Created,
    Delete,
    Expire,
    Exploit,
    Failure,
    Renew,
    Result,
    Snapshot,
    Spec,
    Status,
    Suspend,
)
from ._pbt import apply_exploit
from ._pruners import PRUNING_EVENTS, apply_pruning, carry_reports

logger = logging.getLogger(__name__)

TRIAL_STATUSES = ("new", "running", "ok", "failed", "pruned")


class TrialState(NamedTuple):
    """One trial as the log tells it.

    Attributes:
        tid: the trial id (0, 1, 2, ... in claim order; never reused).
        vals: hyperopt's `misc["vals"]`: label -> [value] or [] if inactive.
        status: `new`, `running`, `ok`, `failed` or `pruned`.
        owner: the worker of the current or last attempt.
        attempt: how many times the trial was claimed (never goes down).
        tries: attempts since the trial was created or restarted; the trial
            fails when an attempt fails with `tries >= max_attempts`.
        lease_until: when the current claim runs out (running trials).
        book_time: when the trial was first claimed.
        refresh_time: the time of its last event.
        result: the objective's result dict (ok trials).
        duration: seconds the objective took (ok and failed trials).
        traceback: the last failure's traceback, if any.
        errors: attempts that ended in a Failure (the objective raised,
            returned what cannot be stored, or timed out).
        checkpoint: `(attempt, seq, step)` of the trial's newest checkpoint
            (see _trial_checkpoints), or None.
    """

    tid: int
    vals: dict
    status: str
    owner: str | None
    attempt: int
    tries: int
    lease_until: float
    book_time: float
    refresh_time: float
    result: dict | None = None
    duration: float | None = None
    traceback: str | None = None
    errors: int = 0
    checkpoint: tuple | None = None


def resumable(trial: TrialState) -> bool:
    """Whether the trial's current attempt saved a checkpoint.

    Such an attempt, when it is cut (its lease runs out, or its worker is told
    to leave), does not use up one of `max_attempts`: the next one continues
    from its checkpoint, and nothing it did is lost.
    """
    return trial.checkpoint is not None and trial.checkpoint[0] == trial.attempt


@dataclass
class SessionState:
    """Everything the log says about one session.

    Besides the trials, it keeps the indexes that make the decisions O(1) or
    O(workers): counts by status, the running trials' leases, the tids waiting
    for an attempt.
    """

    spec: Spec
    trials: dict[int, TrialState] = field(default_factory=dict)
    next_tid: int = 0
    stopped: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRIAL_STATUSES, 0))
    running: dict[int, float] = field(default_factory=dict)
    waiting: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    annotations: dict[str, Any] = field(default_factory=dict)
    last_traceback: str | None = None
    last_failed_tid: int | None = None
    duration_sum: float = 0.0
    duration_count: int = 0
    events: int = 0
    unreadable: int = 0
    pruning: Any = None  # _pruners.PruningState, from the first report on
    pbt: Any = None  # _pbt.PbtState (the lineage), from the first exploit on

    @property
    def mean_duration(self) -> float | None:
        """Mean seconds of the ok trials' objective calls (None before any)."""
        if not self.duration_count:
            return None
        return self.duration_sum / self.duration_count


def new_state(spec: Spec) -> SessionState:
    """The state of a session whose log holds only `Created(spec)`."""
    return SessionState(spec=spec, events=1)


def _put(state: SessionState, old: TrialState | None, new: TrialState | None) -> None:
    """Replace trial `old` by `new` (either may be None) and keep the indexes."""
    if old is not None:
        state.counts[old.status] -= 1
        if old.status == "running":
            del state.running[old.tid]
        elif old.status == "new":
            state.waiting.discard(old.tid)
        elif old.status == "ok" and old.duration is not None:
            state.duration_sum -= old.duration
            state.duration_count -= 1
    if new is None:
        if old is not None:
            del state.trials[old.tid]
        return
    state.trials[new.tid] = new
    state.counts[new.status] += 1
    if new.status == "running":
        state.running[new.tid] = new.lease_until
    elif new.status == "new":
        state.waiting.add(new.tid)
    elif new.status == "ok" and new.duration is not None:
        state.duration_sum += new.duration
        state.duration_count += 1


def _owned(trial: TrialState | None, worker: str, attempt: int) -> TypeGuard[TrialState]:
    return (
        trial is not None
        and trial.status == "running"
        and trial.owner == worker
        and trial.attempt == attempt
    )


def apply(state: SessionState | None, event: Any) -> SessionState:
    """The state after `event`.

    Args:
        state: the state so far; None before the first record.
        event: the next record of the log.

    Returns:
        The new state (`state` itself, updated, except for `Created` and
        `Snapshot`, which start a new one).

    Raises:
        ValueError: the log does not start with `Created` or `Snapshot`, or
            holds a record that is not an event.
    """
    if isinstance(event, Created):
        return new_state(event.spec)
    if isinstance(event, Snapshot):
        return event.state
    if state is None:
        raise ValueError(f"a session log starts with Created, not {type(event).__name__}")
    state.events += 1
    kind = type(event)
    if kind is Claim:
        _claim(state, event)
    elif kind is Renew:
        trial = state.trials.get(event.tid)
        if _owned(trial, event.worker, event.attempt):
            _put(state, trial, trial._replace(lease_until=event.lease_until, refresh_time=event.time))
    elif kind is Result:
        trial = state.trials.get(event.tid)
        if _owned(trial, event.worker, event.attempt):
            _put(
                state,
                trial,
                trial._replace(
                    status="ok", result=event.result, duration=event.duration, refresh_time=event.time
                ),
            )
    elif kind is Failure:
        trial = state.trials.get(event.tid)
        if _owned(trial, event.worker, event.attempt):
            errors = trial.errors + 1
            failed = trial.tries >= state.spec.max_attempts or errors >= state.spec.error_attempts
            _put(
                state,
                trial,
                trial._replace(
                    status="failed" if failed else "new",
                    traceback=event.traceback,
                    duration=event.duration,
                    refresh_time=event.time,
                    errors=errors,
                ),
            )
            state.last_traceback = event.traceback
            state.last_failed_tid = event.tid
    elif kind is Checkpoint:
        trial = state.trials.get(event.tid)
        if _owned(trial, event.worker, event.attempt):
            newest = (event.attempt, event.seq, event.step)
            _put(state, trial, trial._replace(checkpoint=newest, refresh_time=event.time))
    elif kind is Exploit:
        apply_exploit(state, event, _put)
    elif kind is Suspend:
        trial = state.trials.get(event.tid)
        if _owned(trial, event.worker, event.attempt):
            _suspend(state, trial, event)
    elif kind is Expire:
        trial = state.trials.get(event.tid)
        if trial is not None and trial.status == "running" and trial.attempt == event.attempt:
            text = (
                f"trial {event.tid}: attempt {event.attempt} of {trial.owner} lost its lease "
                "(the worker stopped renewing it: killed, out of memory, or hung), "
                "and no attempt is left"
            )
            _put(state, trial, trial._replace(status="failed", traceback=text, refresh_time=event.time))
            state.last_traceback = text
            state.last_failed_tid = event.tid
    elif kind is Status:
        if event.action == "stop":
            state.stopped = True
        elif event.action == "enable":
            state.stopped = False
        elif event.action == "restart":
            state.stopped = False
            for tid in [t for t, tr in state.trials.items() if tr.status == "failed"]:
                trial = state.trials[tid]
                _put(state, trial, trial._replace(status="new", tries=0, refresh_time=event.time))
    elif kind is Delete:
        trial = state.trials.get(event.tid)
        if trial is not None:
            _put(state, trial, None)
        state.deleted.add(event.tid)
        state.next_tid = max(state.next_tid, event.tid + 1)
    elif kind is Annotate:
        state.annotations[event.key] = event.value
    elif kind in PRUNING_EVENTS:
        apply_pruning(state, event, _put)
    elif kind is UnreadableRecord:
        # Written before results were checked: its trial stays running until
        # its lease runs out, and is then run again.
        state.unreadable += 1
        state.last_traceback = (
            f"a record at byte {event.offset} of the session's log does not load "
            f"({event.reason}): skipped"
        )
    else:
        raise ValueError(f"not a session event: {event!r}")
    return state


def _suspend(state: SessionState, trial: TrialState, event: Suspend) -> None:
    """The holder handed the trial back: it waits for its next attempt at once.

    An attempt that saved a checkpoint gives its try back; one that saved
    nothing used it up, and with no try left the trial fails.
    """
    if resumable(trial):
        _put(state, trial, trial._replace(status="new", tries=trial.tries - 1, refresh_time=event.time))
        return
    if trial.tries >= state.spec.max_attempts:
        text = (
            f"trial {event.tid}: attempt {event.attempt} of {event.worker} was cut ({event.reason}) "
            "with no checkpoint saved, and no attempt is left: save checkpoints "
            "(session.save_checkpoint) to continue a trial across cuts"
        )
        _put(state, trial, trial._replace(status="failed", traceback=text, refresh_time=event.time))
        state.last_traceback = text
        state.last_failed_tid = event.tid
        return
    _put(state, trial, trial._replace(status="new", refresh_time=event.time))


def _claim(state: SessionState, event: Claim) -> None:
    trial = state.trials.get(event.tid)
    if trial is None:
        if event.tid in state.deleted or event.vals is None:
            return
        new = TrialState(
            tid=event.tid,
            vals=event.vals,
            status="running",
            owner=event.worker,
            attempt=event.attempt,
            tries=1,
            lease_until=event.lease_until,
            book_time=event.time,
            refresh_time=event.time,
        )
        _put(state, None, new)
        state.next_tid = max(state.next_tid, event.tid + 1)
        return
    # A retry (status new) or a take-over of a running trial whose lease ran
    # out: always a higher attempt, so the old owner's reports are refused.
    if trial.status in ("new", "running") and event.attempt > trial.attempt:
        # A take-over of an attempt that saved a checkpoint gives its try back.
        forgiven = trial.status == "running" and resumable(trial)
        if trial.checkpoint is not None:
            carry_reports(state, trial.tid, event.attempt, trial.checkpoint[2])
        _put(
            state,
            trial,
            trial._replace(
                status="running",
                owner=event.worker,
                attempt=event.attempt,
                tries=trial.tries + (0 if forgiven else 1),
                lease_until=event.lease_until,
                refresh_time=event.time,
            ),
        )


def replay(events: Any, state: SessionState | None = None) -> SessionState:
    """Fold `apply` over `events`, starting from `state` (None: the log's start)."""
    for event in events:
        state = apply(state, event)
    if state is None:
        raise ValueError("an empty log holds no session")
    return state


def status(state: SessionState) -> str:
    """`failed`, `done`, `stopped` or `running`, in that order of precedence.

    A session is failed when more trials failed than `max_failures`, or when
    every trial finished and none is ok; done when `max_evals` trials exist
    and every one is ok or failed.
    """
    counts = state.counts
    if counts["failed"] > state.spec.max_failures:
        return "failed"
    if (
        len(state.trials) >= state.spec.max_evals
        and counts["new"] == 0
        and counts["running"] == 0
    ):
        return "failed" if counts["failed"] and not counts["ok"] else "done"
    if state.stopped:
        return "stopped"
    return "running"


class Pick(NamedTuple):
    """What a worker asking for a trial at some time should get.

    Attributes:
        action: `new` (suggest trial `tid`), `retry` (claim trial `tid`
            again: it waits for an attempt or its lease ran out), `expire`
            (trial `tid`'s lease ran out on its last attempt: fail it, then
            pick again), or `none`.
        tid: the trial, for every action but `none`.
        reason: for `none`: `done`, `stopped`, `failed` or `busy`.
        retry_at: for `busy`: when the first lease runs out.
    """

    action: str
    tid: int | None = None
    reason: str | None = None
    retry_at: float | None = None


def pick(
    state: SessionState,
    now: float,
    lease_left: dict[int, float] | None = None,
    resumable_only: bool = False,
) -> Pick:
    """Which trial a worker should claim at `now`.

    Order: a trial waiting for an attempt (lowest tid), a running trial whose
    lease ran out (lowest tid), a new trial while fewer than `max_evals`
    exist. Costs O(running + waiting), not O(trials).

    Args:
        state: the session's state.
        now: `time.time()`, for `retry_at`.
        lease_left: seconds left of each running trial's lease as the caller
            measures them (`LeaseClock.left`: on its own clock, so that hosts'
            clocks need not agree). None: compare the `lease_until` of the
            events with `now` (one clock; for tests and tools).
        resumable_only: only trials with a checkpoint to continue from (a
            worker whose job has too little time left for a whole trial);
            `none` with reason `deadline` when there is none.
    """
    current = status(state)
    if current != "running":
        return Pick("none", reason=current)
    waiting = state.waiting
    if resumable_only:
        waiting = {tid for tid in waiting if state.trials[tid].checkpoint is not None}
    if waiting:
        return Pick("retry", min(waiting))
    if lease_left is None:
        # One clock: the holder's lease_until against `now`.
        lease_left = {tid: until - now for tid, until in state.running.items()}
    expired = [tid for tid in state.running if lease_left.get(tid, 1.0) <= 0]
    if resumable_only:
        expired = [tid for tid in expired if state.trials[tid].checkpoint is not None]
    if expired:
        tid = min(expired)
        trial = state.trials[tid]
        if trial.tries >= state.spec.max_attempts and not resumable(trial):
            return Pick("expire", tid)
        return Pick("retry", tid)
    if resumable_only:
        return Pick("none", reason="deadline")
    if len(state.trials) < state.spec.max_evals:
        return Pick("new", state.next_tid)
    soonest = min((lease_left.get(tid, 0.0) for tid in state.running), default=0.0)
    return Pick("none", reason="busy", retry_at=now + max(0.0, soonest))


def keep_claiming(
    now: float,
    deadline: float | None,
    mean_duration: float | None,
    interruptible: bool,
) -> bool:
    """Whether a worker with `deadline` should claim another trial at `now`.

    Without a deadline, always. Past it, never. Before it, an interruptible
    session claims on (a trial cut off by the deadline is re-run by another
    worker); otherwise a worker claims only while a trial of mean duration
    (over the session's ok trials; unknown before the first) still fits.
    """
    if deadline is None:
        return True
    left = deadline - now
    if left <= 0:
        return False
    if interruptible or mean_duration is None:
        return True
    return mean_duration <= left
