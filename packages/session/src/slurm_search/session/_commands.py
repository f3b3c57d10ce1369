"""Commands on a whole session: stop, enable, restart, delete a trial, annotate, compact, salvage."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from typing import Any

from slurm_search import state as store
from slurm_search.locking import lock

from ._claims import commit
from ._errors import SessionError, UnknownTrial
from ._events import Annotate, Delete, Snapshot, Status
from ._model import SessionState
from ._names import session_name
from ._view import View, forget, view


def _command(name: str, event_for: Callable[[View], Any]) -> None:
    name = session_name(name)
    v = view(name)
    with lock(name), v.mutex:
        v.refresh()
        event = event_for(v)
        v.apply_all([event])
        commit(v, [event])


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
    # Checked before the event is applied: the session's view would else
    # hold an annotation its log refused.
    try:
        pickle.dumps(value)
    except Exception as err:  # pickling user objects raises many types
        where = f"{session_name(name)} (annotation {key!r})"
        raise store.Unpicklable(where, type(value).__name__, f"{type(err).__name__}: {err}") from None
    _command(name, lambda v: Annotate(key, value, time.time()))


def compact_session(name: str) -> None:
    """Replace a session's log by one snapshot of its state (smaller, faster to read).

    Readers notice (`LogCompacted`) and read the snapshot instead.
    """
    name = session_name(name)
    v = view(name)
    with lock(name), v.mutex:
        v.refresh()
        v.position = store.compact(name, Snapshot(v.state), upto=v.position)


def salvage_session(name: str, timeout: float | None = 60.0) -> store.SalvageReport:
    """Rewrite a session's damaged log with every record that can still be read.

    As `slurm_search.state.salvage`, which keeps the damaged log aside, and
    with the session's checkpoint: where the log lost records the checkpoint
    stands for (it was cut, or damaged before the checkpoint's position),
    the new log starts with a `Snapshot` of the checkpoint's state, then every
    readable record after it. A log without damage is left as it is.

    Returns:
        The store's report (`.damaged` False: nothing changed).

    Raises:
        UnknownSession: the session has no log.
        LockTimeout, StateError: from the store.
    """
    from ._errors import UnknownSession
    from ._view import close_names

    full = session_name(name)

    def snapshot(value: Any) -> Snapshot | None:
        return Snapshot(value) if isinstance(value, SessionState) else None

    try:
        report = store.salvage(full, timeout=timeout, snapshot=snapshot)
    except store.NotFound:
        raise UnknownSession(full, close_names(full)) from None
    forget(full)
    return report
