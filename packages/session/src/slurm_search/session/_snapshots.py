"""Checkpoints of a session's state, written automatically beside its log.

A fresh process reads a session by replaying its log: 2.7 s for 100,000
trials here. A checkpoint (`slurm_search.state.save_checkpoint`) holds the
state at a log position; a fresh view loads it and replays only the records
after it (`View.refresh`). It equals a full replay (tested), so nothing
depends on whether one exists, how old it is, or who wrote it.

Written, outside the session's lock and after the write that triggered it:

  * by the worker whose claim or report took the session's event count past
    a multiple of `EVERY` (exactly one process crosses each multiple, so
    workers never write the same checkpoint twice);
  * by a process whose view had to replay for more than `SLOW` seconds (a
    fresh `ssearch progress` on a big session without a checkpoint), unless
    another process is writing one at that moment.

The head of the file carries the session's summary at that position
(`summary`), so `list_sessions` reads a session whose log has not grown
since without loading its state.

Loading and replaying run with the cyclic garbage collector paused: a state
of 100,000 trials is a million small objects, and the collector would scan
them over and over while they are made (it made replaying 3x slower).
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import pickle
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from slurm_search import state as store
from slurm_search.locking import LockTimeout, lock

from ._errors import damaged_log
from ._format import FORMAT_VERSION, READS
from ._format import check as check_format
from ._model import SessionState, status

logger = logging.getLogger(__name__)

EVERY = 5_000  # events between two checkpoints written by workers
SLOW = 0.2  # seconds of replay after which a process writes one


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting goes on)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_FINISHED = ("ok", "failed", "pruned")
_loading = threading.Lock()  # one thread unpickles a LazyTrials' finished trials


def _rebuild(unfinished: dict, finished: bytes, count: int, below: int) -> LazyTrials:
    trials = LazyTrials(unfinished)
    trials._finished, trials._count, trials._below = finished, count, below
    return trials


class LazyTrials(dict):
    """A checkpoint's trials, the finished ones left pickled until something reads them.

    A claim needs only the running and waiting trials (and how many there
    are): a fresh process that claims on a session of 100,000 finished
    trials then unpickles a handful, not a million objects (the finished
    ones are 11 MB of pickle, 0.14 s). Whatever asks for a finished trial,
    or for all of them (a listing, tpe's history, equality), loads them
    first, in tid order as a replay holds them; from then on this is a
    plain dict. Every finished trial has a tid below `_below` (the next tid
    when the checkpoint was written): a lookup of a tid at or above it
    needs nothing loaded.
    """

    __slots__ = ("_finished", "_count", "_below")

    @classmethod
    def split(cls, trials: dict) -> LazyTrials:
        """`trials` for a checkpoint: the finished ones pickled apart."""
        unfinished = {tid: t for tid, t in trials.items() if t.status not in _FINISHED}
        finished = {tid: t for tid, t in trials.items() if t.status in _FINISHED}
        below = max(trials, default=-1) + 1
        return _rebuild(unfinished, pickle.dumps(finished, protocol=pickle.HIGHEST_PROTOCOL), len(finished), below)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._finished: bytes | None = None
        self._count = 0
        self._below = 0

    def _load(self) -> None:
        """Unpickle the finished trials and insert them, in tid order."""
        if self._finished is None:
            return
        with _loading:
            data = self._finished
            if data is None:  # another thread loaded them meanwhile
                return
            with no_gc():
                # (a class of the user's that does not import here is read as a stand-in)
                merged = {**store.loads_stored(data), **dict(dict.items(self))}
                dict.clear(self)
                dict.update(self, sorted(merged.items()))
                gc.freeze()
            self._finished = None

    def _maybe_finished(self, tid: Any) -> bool:
        """Whether `tid` may be one of the finished trials still pickled."""
        return (
            self._finished is not None
            and not dict.__contains__(self, tid)
            and (not isinstance(tid, int) or tid < self._below)
        )

    def __getitem__(self, tid: Any) -> Any:
        if self._maybe_finished(tid):
            self._load()
        return dict.__getitem__(self, tid)

    def get(self, tid: Any, default: Any = None) -> Any:
        if self._maybe_finished(tid):
            self._load()
        return dict.get(self, tid, default)

    def __contains__(self, tid: object) -> bool:
        if self._maybe_finished(tid):
            self._load()
        return dict.__contains__(self, tid)

    def __setitem__(self, tid: Any, trial: Any) -> None:
        if self._maybe_finished(tid):
            self._load()
        dict.__setitem__(self, tid, trial)

    def __delitem__(self, tid: Any) -> None:
        if self._maybe_finished(tid):
            self._load()
        dict.__delitem__(self, tid)

    def __len__(self) -> int:
        return dict.__len__(self) + (self._count if self._finished is not None else 0)

    def __reduce__(self) -> tuple:
        if self._finished is None:
            return dict, (dict(dict.items(self)),)
        return _rebuild, (dict(dict.items(self)), self._finished, self._count, self._below)

    def __repr__(self) -> str:
        self._load()
        return dict.__repr__(self)

    def __eq__(self, other: object) -> bool:
        self._load()
        if isinstance(other, LazyTrials):
            other._load()
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]  # (as a dict's)


def _loading_first(name: str) -> Any:
    def method(self: LazyTrials, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return getattr(dict, name)(self, *args, **kwargs)

    method.__name__ = name
    return method


# Everything else reads or changes the whole mapping: load first, then as a dict.
for _name in ("__iter__", "__reversed__", "__or__", "__ior__", "__ror__", "keys", "values",
              "items", "pop", "popitem", "setdefault", "update", "copy", "clear"):
    setattr(LazyTrials, _name, _loading_first(_name))


def load(v: Any) -> bool:
    """Start view `v` from the session's checkpoint, if it has a sound one.

    The store checks the log against the checkpoint first (issue 21: a
    checkpoint never vouches for damage): a log shorter than the checkpoint,
    or whose first bytes changed since it was written, raises CorruptSession
    (naming salvage) instead of being read as a shorter session. A
    checkpoint of a format this process does not read is ignored (the log's
    spec then says what to do).

    Raises:
        CorruptSession: the log does not match its checkpoint.
    """
    try:
        with no_gc():
            found = store.load_checkpoint(v.name)
            if found is None or not isinstance(found[0], SessionState):
                return False
            written_in = found[2].get("format", 1) if isinstance(found[2], dict) else 1
            if written_in not in READS:
                logger.warning("ignoring the checkpoint of %s: written in format %s", v.name, written_in)
                return False
            # A million objects that live as long as the view: keep the
            # collector from scanning them (and again when it promotes
            # them) as soon as it runs again. Before it runs again.
            gc.freeze()
    except store.CorruptState as err:
        where = f" at byte {err.offset}" if err.offset is not None else ""
        raise damaged_log(v.name, f"its log is corrupt{where}: {err.reason}") from err
    except store.StateError as err:
        logger.warning("ignoring the checkpoint of %s: %s", v.name, err)
        return False
    check_format(v.name, found[0].spec)
    v.state, v.position = found[0], found[1]
    return True


def summary(st: SessionState) -> dict[str, Any]:
    """What `list_sessions` shows of a session."""
    return {
        "status": status(st),
        "algo": st.spec.algo,
        "running": st.counts["running"],
        "completed": st.counts["ok"],
        "failed": st.counts["failed"],
        "max_evals": st.spec.max_evals,
        "created": st.spec.created,
        "pruned": st.counts.get("pruned", 0),
        "format": FORMAT_VERSION,
    }


def crossed(before: int, after: int) -> bool:
    """Whether the event count went past a multiple of EVERY."""
    return before // EVERY != after // EVERY


def _share_strings(st: SessionState) -> None:
    """Make equal strings of the trials one object: the pickle then names each once.

    (Owners and labels come from separate records, one string object each;
    shared, the checkpoint is 20% smaller and loads 20% faster.)
    """
    seen: dict[str, str] = {}
    share = seen.setdefault
    trials = st.trials
    for tid, trial in trials.items():
        owner = trial.owner
        vals = trial.vals
        result = trial.result
        new_vals = {share(k, k): x for k, x in vals.items()}
        new_result = result and {share(k, k): (share(x, x) if type(x) is str else x) for k, x in result.items()}
        trials[tid] = trial._replace(
            owner=owner if owner is None else share(owner, owner),
            status=share(trial.status, trial.status),
            vals=new_vals,
            result=new_result,
        )


def write(v: Any, wait: bool = False) -> bool:
    """Write the checkpoint of view `v`'s state as it is now.

    Args:
        wait: wait for another process writing one (default: leave it to it).

    Returns:
        Whether it was written.
    """
    try:
        with lock(f"{v.name}.checkpoint", timeout=None if wait else 0):
            with v.mutex:
                st = v.peek()
                if st is None:
                    return False
                _share_strings(st)
                light = dataclasses.replace(st, trials=LazyTrials.split(st.trials))
                store.save_checkpoint(v.name, light, v.position, info=summary(st))
    except LockTimeout:
        return False
    # A cache: a store that cannot take it (read-only, full, another
    # user's) costs a replay, never the caller's work.
    except Exception as err:  # noqa: BLE001 - OSError, StateError, LockError: never the caller's problem
        logger.info("could not write a checkpoint of %s: %s", v.name, err)
        return False
    v.checkpoint.due = False
    logger.debug("wrote a checkpoint of %s at %s", v.name, v.position)
    return True


def maybe_write(v: Any) -> None:
    """Write a checkpoint if view `v` found replaying slow."""
    if v.checkpoint.due:
        write(v)


class CheckpointTiming:
    """Whether a view's session is due a checkpoint (one per `View`: its `checkpoint`).

    A replay found slow makes one due; so does a write that crosses a
    multiple of EVERY events or changes the session's status (_claims);
    writing one (`write`) clears it.
    """

    def __init__(self) -> None:
        self.due = False

    def replayed(self, took: float, records: int) -> None:
        """Note how long a refresh took; a slow one makes a checkpoint due.

        Called with the collector paused (see `load`).
        """
        if took > SLOW and records:
            self.due = True
            if records > EVERY:
                # What was just loaded lives as long as the view: keep the
                # collector from scanning it again and again.
                gc.freeze()


def summary_at_end(name: str) -> dict[str, Any] | None:
    """The summary in the checkpoint's head, if the log has not grown since it."""
    try:
        found = store.checkpoint_info(name)  # checks the log against it
    except store.CorruptState as err:
        where = f" at byte {err.offset}" if err.offset is not None else ""
        raise damaged_log(name, f"its log is corrupt{where}: {err.reason}") from err
    if found is None or not isinstance(found[1], dict) or found[1].get("format", 1) not in READS:
        return None
    position, info = found
    end = store.log_end(name)
    return info if end is not None and tuple(end) == tuple(position) else None
