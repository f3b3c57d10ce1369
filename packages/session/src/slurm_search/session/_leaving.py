"""A worker told to leave: Slurm's warning signal, preemption, `scancel`, its own deadline.

A Slurm job is cut at its time limit and may be preempted; either way the
worker gets a signal first (the warning signal that the batch script asks
for with `--signal`, SIGTERM from a preemption within `GraceTime` or from
`scancel`). The worker then asks to leave: `should_stop()` becomes true, the
objective saves a checkpoint and calls `suspend()`, and the worker hands the
trial back at once (a `Suspend` record: no lease to wait out, not a
failure), claims nothing more, and ends. The trial's next attempt, on any
node, continues from its checkpoint.

An objective that never looks at `should_stop()` still has its trial handed
back: `LEAVE_GRACE` seconds after the request a watchdog writes the
`Suspend` itself (fenced: only if the worker still holds that attempt), and
the worker process ends (the objective's later report would be refused).

The request is process-wide (a signal is), so nested sessions evaluated
inline all see it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

from . import settings
from ._current import current_trial
from ._errors import NotInTrial, Suspended

__all__ = [
    "LEAVE_SIGNALS",
    "leave_grace",
    "leave_on_signals",
    "leave_reason",
    "request_leave",
    "reset_leave",
    "should_stop",
    "suspend",
]

logger = logging.getLogger(__name__)

def leave_grace() -> float:
    """Seconds an objective has to return or suspend once its worker is told to
    leave (`SLURM_SEARCH_LEAVE_GRACE`, default 10; a Slurm task takes the
    smaller of this and part of its margin: see workers/_slurm.py)."""
    return settings.leave_grace()

# SIGUSR1: Slurm's warning signal (our batch script's default `--signal`);
# SIGTERM: preemption, `scancel`, the time limit itself; SIGUSR2 is free for
# `scancel --signal=USR2` by hand.
LEAVE_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM)

_requested = threading.Event()
_reason: list[str] = []


def request_leave(reason: str) -> None:
    """Ask this process's workers to hand back their trials and leave (idempotent)."""
    if not _requested.is_set():
        _reason[:] = [reason]
        _requested.set()
        logger.warning("asked to leave (%s): the running trial is handed back at its next checkpoint", reason)


def should_stop() -> bool:
    """True once this worker was told to leave: save a checkpoint, then call `suspend()`.

    Outside a worker it is always False unless `request_leave` was called.
    """
    return _requested.is_set()


def leave_reason() -> str | None:
    """Why the worker was told to leave, or None."""
    return _reason[0] if _requested.is_set() and _reason else None


def reset_leave() -> None:
    """Forget a request to leave (a worker that starts afresh in this process)."""
    _requested.clear()
    _reason.clear()


def suspend(reason: str | None = None) -> NoReturn:
    """Hand the current trial back, to be continued from its newest checkpoint.

    Call it from the objective after `save_checkpoint`, typically when
    `should_stop()` is true; it raises `Suspended`, which must leave the
    objective.

    Raises:
        Suspended: always (inside a trial).
        NotInTrial: no trial is being evaluated here.
    """
    trial = current_trial()
    if trial is None:
        raise NotInTrial("suspend()")
    raise Suspended(trial.session, trial.tid, trial.attempt, reason or leave_reason() or "suspended by the objective")


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


_WHY: dict[int, str] = {
    signal.SIGUSR1: "Slurm's warning signal: the job's time limit is near",
    signal.SIGTERM: "SIGTERM: the job is preempted, cancelled or at its time limit",
}


@contextlib.contextmanager
def leave_on_signals(signals: tuple[int, ...] = LEAVE_SIGNALS) -> Iterator[None]:
    """While the block runs, these signals ask the worker to leave instead of killing it.

    Handlers can only be set in the main thread; elsewhere this does nothing.
    The previous handlers are restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, _frame: Any) -> None:
        request_leave(_WHY.get(signum, f"{_signal_name(signum)} received"))

    for signum in signals:
        previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
