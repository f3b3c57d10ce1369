"""A process's cached view of a session: its log position and reduced state.

Each process keeps one `View` per session it touches. `refresh` reads only
the records appended since its position and feeds them to `_model.apply`, so
a claim costs O(new records), however many trials the session holds. When
the log was compacted or recreated (`LogCompacted`), the view starts over
from the beginning.

What the process derives from the state is kept by one collaborator per
concern, which the view owns and feeds as it replays: lease timing
(_view_leases), the `hyperopt.Trials` of tpe and anneal (_view_trials),
space, context and parameters (_view_params), checkpoint timing
(_snapshots.CheckpointTiming).

Locking: writers hold the session's store lock (`slurm_search.locking.lock`)
and then the view's `mutex`; readers take only the `mutex`. The mutex guards
the view against the other threads of this process (a worker's lease-renewing
thread, a progress poller).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from slurm_search import state as store

from ._errors import CorruptSession, UnknownSession, UnsupportedFormat, damaged_log
from ._events import Created, Exploit, Snapshot, Status
from ._format import check as check_format
from ._model import SessionState, apply
from ._snapshots import CheckpointTiming, no_gc
from ._snapshots import load as load_checkpoint
from ._view_leases import LeaseClock
from ._view_params import SpecCache
from ._view_trials import TrialsCache

logger = logging.getLogger(__name__)


class _ReadOnFirstUse:
    """`View.state` while the log is unread (or forgotten): reads it.

    A non-data descriptor: once a refresh has set the view's own `state`,
    reading it finds that at no cost (no call), and `reset` deletes it.
    """

    def __get__(self, v: View | None, owner: type | None = None) -> Any:
        if v is None:
            return self
        return v.refresh()


class View:
    """The state of one session as far as this process has read its log.

    What this process derives from that state lives in collaborators, one per
    concern: `leases` (when each running trial's lease was last seen renewed,
    _view_leases), `hyperopt` (the `hyperopt.Trials` of tpe and anneal,
    _view_trials), `derived` (space, context and trials' parameters,
    _view_params) and `checkpoint` (whether a checkpoint is due, _snapshots).

    Attributes:
        name: the session's `type:name`.
        state: the reduced state; reading it before the first refresh
            refreshes (UnknownSession if the log holds nothing).
        position: where the next refresh reads from.
        mutex: guards the view against this process's other threads.
        read_at: `time.monotonic()` of the last refresh.
    """

    if TYPE_CHECKING:
        state: SessionState
    else:
        state = _ReadOnFirstUse()

    def __init__(self, name: str) -> None:
        self.name = name
        self.position: Any = 0
        self.mutex = threading.RLock()
        self.read_at = float("-inf")
        self.leases = LeaseClock(name, self.mutex)
        self.hyperopt = TrialsCache()
        self.derived = SpecCache(self.mutex)
        self.checkpoint = CheckpointTiming()

    def peek(self) -> SessionState | None:
        """The state as far as read, without reading (None before the first refresh)."""
        return self.__dict__.get("state")

    # -- reading the log -------------------------------------------------

    def reset(self) -> None:
        """Forget everything: the next refresh replays the whole log."""
        self.__dict__.pop("state", None)
        self.position = 0
        self._forget_caches()

    def _forget_caches(self) -> None:
        self.hyperopt.forget()
        self.derived.forget()

    def refresh(self) -> SessionState:
        """Read and apply the records appended since the last refresh.

        Returns:
            The session's state.

        Raises:
            UnknownSession: the log holds nothing.
            CorruptSession: the log does not start with a session, or is
                damaged (also where its checkpoint says so: issue 21).
            UnsupportedFormat: the session's format is not one this code reads.
            UnsafeState: from the store.
        """
        with self.mutex:
            if self.position == 0 and "state" not in self.__dict__:
                load_checkpoint(self)  # then only the records after it are read
            start = time.perf_counter()
            with no_gc():
                try:
                    try:
                        recs, pos = store.records(self.name, self.position)
                    except store.LogCompacted:
                        logger.debug("log of %s was compacted: replaying it", self.name)
                        self.reset()
                        recs, pos = store.records(self.name, 0)
                except store.CorruptState as err:
                    # Nothing of a damaged log is used, nor appended after.
                    self.reset()
                    where = f" at byte {err.offset}" if err.offset is not None else ""
                    raise damaged_log(self.name, f"its log is corrupt{where}: {err.reason}") from err
                if recs:
                    self.apply_all(recs)
                self.checkpoint.replayed(time.perf_counter() - start, len(recs))
            self.position = pos
            self.read_at = time.monotonic()
            st = self.peek()
            if st is None:
                raise UnknownSession(self.name, close_names(self.name))
            return st

    def apply_all(self, records: list[Any]) -> None:
        """Apply records in log order, noting which trials they touched."""
        current = self.peek()
        dirty = self.hyperopt.dirty
        for rec in records:
            if isinstance(rec, (Created, Snapshot)):
                spec = rec.spec if isinstance(rec, Created) else getattr(rec.state, "spec", None)
                try:
                    check_format(self.name, spec)  # before anything is decided on what follows
                except UnsupportedFormat:
                    self.reset()
                    raise
                if isinstance(rec, Created) and current is not None and rec.spec.uid != current.spec.uid:
                    logger.info("session %s was recreated", self.name)
                self._forget_caches()
                dirty = self.hyperopt.dirty
            try:
                current = apply(current, rec)
            except ValueError as err:
                self.reset()
                raise CorruptSession(self.name, str(err)) from err
            tid = getattr(rec, "tid", None)
            if tid is not None:
                dirty.add(tid)
                if isinstance(rec, Exploit):  # a PBT member's vals changed
                    self.derived.params_of.pop(tid, None)
            elif isinstance(rec, Status) and rec.action == "restart":
                self.hyperopt.all_dirty = True
        if current is None:
            return
        self.state = current
        if current.running:
            self.leases.note(current, [getattr(r, "tid", None) for r in records], time.monotonic())

    def invalidate(self) -> None:
        """After a failed write: the state may hold events the log lacks."""
        with self.mutex:
            self.reset()


_views: dict[str, View] = {}
_views_mutex = threading.Lock()


def view(name: str) -> View:
    """This process's view of session `name` (created empty on first use)."""
    with _views_mutex:
        found = _views.get(name)
        if found is None:
            found = _views[name] = View(name)
        return found


def forget(name: str) -> None:
    """Drop this process's view of `name` (after deleting the session)."""
    with _views_mutex:
        _views.pop(name, None)


def close_names(name: str, limit: int = 3) -> list[str]:
    """Stored names that look like `name`, for an UnknownSession message."""
    import difflib

    try:
        candidates = store.names()
    except store.StateError:
        return []
    return difflib.get_close_matches(name, candidates, n=limit, cutoff=0.6)
