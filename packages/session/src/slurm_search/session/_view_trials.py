"""A view's `hyperopt.Trials`, for `tpe` and `anneal`, synced from the tids events touched.

One `TrialsCache` per `View` (its `hyperopt`). Replaying records notes the
trials they touched (`dirty`), or that every trial may have changed
(`all_dirty`: a restart, a new session); `trials` then updates the Trials in
place (a new document per new trial, the changed fields of the others)
instead of rebuilding it from every trial per claim.
"""

from __future__ import annotations

from typing import Any

from ._model import SessionState


class TrialsCache:
    """A `hyperopt.Trials` kept in step with the session's state."""

    def __init__(self) -> None:
        self.dirty: set[int] = set()
        self.all_dirty = True
        self._trials: Any = None  # hyperopt.Trials
        self._docs: dict[int, dict] = {}

    def forget(self) -> None:
        """Drop the Trials: the next `trials` builds it from every trial."""
        self.dirty = set()
        self.all_dirty = True
        self._trials = None
        self._docs = {}

    def trials(self, st: SessionState) -> Any:
        """A `hyperopt.Trials` holding the trials of `st` (the caller holds the view's mutex)."""
        from hyperopt import Trials

        from ._space import trial_doc

        if self._trials is None or self.all_dirty:
            self._trials = Trials()
            self._docs = {}
            dirty: Any = list(st.trials)
        else:
            dirty = self.dirty
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
        self.dirty = set()
        self.all_dirty = False
        self._trials.refresh()
        return self._trials
