"""How long each running trial's lease has left, on this process's own clock.

One `LeaseClock` per `View` (its `leases`): it notes, on this process's
monotonic clock, when it first saw each lease change (a claim or renewal in
the log, a beat mark in the session's `beats/` folder: see _beats), and a
lease runs out when it has seen no change for `lease_seconds`. So a taker
never relies on the holder's clock agreeing with its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

from ._beats import heard_in
from ._model import SessionState


class LeaseClock:
    """When this process last saw each running trial's lease change."""

    def __init__(self, name: str, mutex: threading.RLock) -> None:
        self.name = name
        self.mutex = mutex  # the view's
        # tid -> (what its lease last looked like, when this process first saw that)
        self._beats: dict[int, tuple[tuple[Any, ...], float]] = {}
        # (tid, attempt) -> counter of its beat mark (see _beats), as last listed
        self._heard: dict[tuple[int, int], int] = {}
        self._listened = float("-inf")

    def left(self, st: SessionState, now: float | None = None) -> dict[int, float]:
        """Seconds left, on this process's own clock, of each running trial's lease.

        A trial's lease is renewed when its log shows a new claim or renewal
        of it (a new attempt, a new `lease_until`): the values in the events
        are the holder's and only tell that something changed. A process
        that just started waits a full lease before taking a trial over.
        Call it after a refresh, and often (each claim and each idle poll
        do), so that no change goes unseen for long.

        Args:
            st: the session's state, fresh.
            now: `time.monotonic()` (default: now).
        """
        now = time.monotonic() if now is None else now
        self.note(st, st.running, now)
        lease = st.spec.lease_seconds
        left = {tid: self._beats[tid][1] + lease - now for tid in st.running}
        # Holders renew by beating marks, not in the log: look at them when a
        # lease looks a third gone, at most six times a lease (see _beats).
        if left and now - self._listened >= lease / 6 and min(left.values()) < lease * 2 / 3:
            self.listen(st, now)
            self.note(st, st.running, now)
            left = {tid: self._beats[tid][1] + lease - now for tid in st.running}
        if len(self._beats) > len(left):
            for tid in [t for t in self._beats if t not in left]:
                del self._beats[tid]
        return left

    def listen(self, st: SessionState, now: float) -> None:
        """List the session's beat marks afresh (see _beats); `now` is `time.monotonic()`."""
        with self.mutex:
            self._heard = heard_in(self.name, st.spec.uid)
            self._listened = now

    def heard_of(self, tid: int, attempt: int) -> int | None:
        """The counter of the beat mark of attempt `attempt` of trial `tid`, as last listed."""
        return self._heard.get((tid, attempt))

    def note_heard(
        self, st: SessionState | None, tid: int, attempt: int, n: int | None, force: bool = False
    ) -> None:
        """Note a beat of trial `tid` now (this process's own, or one a seize ran into).

        `st` is the state as far as read (None: not read yet).
        """
        with self.mutex:
            if n is not None:
                self._heard[(tid, attempt)] = n
            if force:
                self._beats.pop(tid, None)
            if st is not None:
                self.note(st, [tid], time.monotonic())

    def note(self, st: SessionState, tids: Iterable[int | None], now: float) -> None:
        """Note when (`now`) this process saw the running trials among `tids` claimed or renewed anew."""
        for tid in tids:
            if tid is None or tid not in st.running:
                continue
            trial = st.trials[tid]
            key = (trial.attempt, trial.lease_until, trial.refresh_time, self._heard.get((tid, trial.attempt)))
            seen = self._beats.get(tid)
            if seen is None or seen[0] != key:
                self._beats[tid] = (key, now)
