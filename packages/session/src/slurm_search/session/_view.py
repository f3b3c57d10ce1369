"""A process's cached view of a session: its log position and reduced state.

Each process keeps one `View` per session it touches. `refresh` reads only
the records appended since its position and feeds them to `_model.apply`, so
a claim costs O(new records), however many trials the session holds. When
the log was compacted or recreated (`LogCompacted`), the view starts over
from the beginning.

For `tpe` and `anneal` the view also keeps a `hyperopt.Trials`, updated in
place from the tids that events touched since the last suggestion (a new
document per new trial, the changed fields of the others), instead of being
rebuilt from every trial per claim.

Locking: writers hold the session's store lock (`slurm_search.locking.lock`)
and then the view's `mutex`; readers take only the `mutex`. The mutex guards
the view against the other threads of this process (a worker's lease-renewing
thread, a progress poller).
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from typing import Any

from slurm_search import state as store

from ._errors import CorruptSession, UnknownSession, UnsupportedFormat, damaged_log
from ._events import Created, Exploit, Snapshot, Status
from ._format import check as check_format
from ._model import SessionState, apply
from ._snapshots import load as load_checkpoint
from ._snapshots import no_gc, timed_replay

logger = logging.getLogger(__name__)


class View:
    """The state of one session as far as this process has read its log.

    Attributes:
        name: the session's `type:name`.
        state: the reduced state (None until a refresh finds the session).
        position: where the next refresh reads from.
        mutex: guards the view against this process's other threads.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.state: SessionState | None = None
        self.position: Any = 0
        self.mutex = threading.RLock()
        self._dirty: set[int] = set()
        self._all_dirty = True
        self._trials: Any = None  # hyperopt.Trials, for tpe and anneal
        self._docs: dict[int, dict] = {}
        self._params: dict[int, Any] = {}
        self._space: Any = None
        self._context: Any = None
        self._context_loaded = False
        # tid -> (what its lease last looked like, when this process first saw that)
        self._beats: dict[int, tuple[tuple[Any, ...], float]] = {}
        # (tid, attempt) -> counter of its beat mark (see _beats), as last listed
        self._heard: dict[tuple[int, int], int] = {}
        self._listened = float("-inf")
        self.checkpoint_due = False  # see _snapshots
        self.read_at = float("-inf")  # time.monotonic() of the last refresh

    # -- leases, as this process measures them ---------------------------

    def lease_left(self, now: float | None = None) -> dict[int, float]:
        """Seconds left, on this process's own clock, of each running trial's lease.

        A trial's lease is renewed when its log shows a new claim or renewal
        of it (a new attempt, a new `lease_until`): the values in the events
        are the holder's and only tell that something changed. This process
        notes, on its monotonic clock, when it first saw each change; a lease
        runs out when it has seen no change for `lease_seconds`. So a taker
        never relies on the holder's clock agreeing with its own, and a
        process that just started waits a full lease before taking a trial
        over. Call it after a refresh, and often (each claim and each idle
        poll do), so that no change goes unseen for long.

        Args:
            now: `time.monotonic()` (default: now).
        """
        st = self._require_state()
        now = time.monotonic() if now is None else now
        self._note_beats(st, st.running, now)
        lease = st.spec.lease_seconds
        left = {tid: self._beats[tid][1] + lease - now for tid in st.running}
        # Holders renew by beating marks, not in the log: look at them when a
        # lease looks a third gone, at most six times a lease (see _beats).
        if left and now - self._listened >= lease / 6 and min(left.values()) < lease * 2 / 3:
            self.listen(now)
            self._note_beats(st, st.running, now)
            left = {tid: self._beats[tid][1] + lease - now for tid in st.running}
        if len(self._beats) > len(left):
            for tid in [t for t in self._beats if t not in left]:
                del self._beats[tid]
        return left

    def listen(self, now: float) -> None:
        """List the session's beat marks afresh (see _beats); `now` is `time.monotonic()`."""
        from ._beats import heard

        with self.mutex:
            self._heard = heard(self)
            self._listened = now

    def heard_of(self, tid: int, attempt: int) -> int | None:
        """The counter of the beat mark of attempt `attempt` of trial `tid`, as last listed."""
        return self._heard.get((tid, attempt))

    def note_heard(self, tid: int, attempt: int, n: int | None, force: bool = False) -> None:
        """Note a beat of trial `tid` now (this process's own, or one a seize ran into)."""
        with self.mutex:
            if n is not None:
                self._heard[(tid, attempt)] = n
            if force:
                self._beats.pop(tid, None)
            if self.state is not None:
                self._note_beats(self.state, [tid], time.monotonic())

    # -- reading the log -------------------------------------------------

    def reset(self) -> None:
        """Forget everything: the next refresh replays the whole log."""
        self.state = None
        self.position = 0
        self._forget_caches()

    def _forget_caches(self) -> None:
        self._dirty = set()
        self._all_dirty = True
        self._trials = None
        self._docs = {}
        self._params = {}
        self._space = None
        self._context = None
        self._context_loaded = False

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
            if self.state is None and self.position == 0:
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
                timed_replay(self, time.perf_counter() - start, len(recs))
            self.position = pos
            self.read_at = time.monotonic()
            if self.state is None:
                raise UnknownSession(self.name, close_names(self.name))
            return self.state

    def apply_all(self, records: list[Any]) -> None:
        """Apply records in log order, noting which trials they touched."""
        current = self.state
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
            try:
                current = apply(current, rec)
            except ValueError as err:
                self.reset()
                raise CorruptSession(self.name, str(err)) from err
            tid = getattr(rec, "tid", None)
            if tid is not None:
                self._dirty.add(tid)
                if isinstance(rec, Exploit):  # a PBT member's vals changed
                    self._params.pop(tid, None)
            elif isinstance(rec, Status) and rec.action == "restart":
                self._all_dirty = True
        self.state = current
        if current is not None and current.running:
            self._note_beats(current, [getattr(r, "tid", None) for r in records], time.monotonic())

    def _note_beats(self, st: SessionState, tids: Any, now: float) -> None:
        """Note when (`now`) this process saw the running trials among `tids` claimed or renewed anew."""
        for tid in tids:
            if tid is None or tid not in st.running:
                continue
            trial = st.trials[tid]
            key = (trial.attempt, trial.lease_until, trial.refresh_time, self._heard.get((tid, trial.attempt)))
            seen = self._beats.get(tid)
            if seen is None or seen[0] != key:
                self._beats[tid] = (key, now)

    def invalidate(self) -> None:
        """After a failed write: the state may hold events the log lacks."""
        with self.mutex:
            self.reset()

    # -- things built from the spec ----------------------------------------

    def space_and_domain(self) -> tuple[Any, Any]:
        """The session's space and compiled hyperopt Domain (cached per process)."""
        from ._space import domain_for

        spec = self._spec()
        return domain_for(spec.uid, spec.space)

    def context(self) -> Any:
        """The session's context object, unpickled once."""
        with self.mutex:
            if not self._context_loaded:
                self._context = pickle.loads(self._spec().context)
                self._context_loaded = True
            return self._context

    def params(self, tid: int) -> Any:
        """The objective's parameters for trial `tid` (`space_eval` of its vals)."""
        from ._space import params
        from ._space_eval import import_space_modules

        with self.mutex:
            cached = self._params.get(tid)
            if cached is not None:
                return cached
            trial = self._require_state().trials[tid]
            space, _ = self.space_and_domain()
            # issue 12: modules whose import defines what the space calls (scope functions).
            try:
                import_space_modules(self._spec().metadata)
            except ImportError as err:
                # A reader without the user's code (a listing elsewhere) needs them
                # only if the space calls them: then it is their error that tells why.
                try:
                    value = params(space, trial.vals)
                except Exception:
                    raise err from None
            else:
                value = params(space, trial.vals)
            self._params[tid] = value
            return value

    def hyperopt_trials(self) -> Any:
        """A `hyperopt.Trials` holding the session's trials, synced incrementally."""
        from hyperopt import Trials

        from ._space import trial_doc

        with self.mutex:
            st = self._require_state()
            if self._trials is None or self._all_dirty:
                self._trials = Trials()
                self._docs = {}
                dirty: Any = list(st.trials)
            else:
                dirty = self._dirty
            dynamic = self._trials._dynamic_trials
            for tid in sorted(dirty):
                trial = st.trials.get(tid)
                old = self._docs.get(tid)
                if trial is None:
                    if old is not None:
                        del self._docs[tid]
                        index = next(i for i, d in enumerate(dynamic) if d is old)
                        del dynamic[index]
                    continue
                doc = trial_doc(trial)
                if old is None:
                    dynamic.append(doc)
                    self._docs[tid] = doc
                else:
                    old.clear()
                    old.update(doc)
            self._dirty = set()
            self._all_dirty = False
            self._trials.refresh()
            return self._trials

    def _spec(self) -> Any:
        return self._require_state().spec

    def _require_state(self) -> SessionState:
        if self.state is None:
            return self.refresh()
        return self.state


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
