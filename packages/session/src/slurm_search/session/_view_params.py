"""What a view builds from its session's spec, once per process: space, context, parameters.

One `SpecCache` per `View` (its `derived`): the compiled space (cached per
process by the session's uid, see `_space.domain_for`), the unpickled context
object, and each trial's parameters (`space_eval` of its vals). Replaying a
new `Created` or `Snapshot` forgets them; a PBT `Exploit` forgets its
trial's parameters.
"""

from __future__ import annotations

import logging
import pickle
import threading
import traceback
from typing import Any

from ._model import SessionState
from ._space_eval import SpaceEvalFailure, import_space_modules

logger = logging.getLogger(__name__)


class SpecCache:
    """The session's space, context and trials' parameters, built on first use."""

    def __init__(self, mutex: threading.RLock) -> None:
        self.mutex = mutex  # the view's
        self.params_of: dict[int, Any] = {}  # tid -> its parameters
        self._context: Any = None
        self._context_loaded = False

    def forget(self) -> None:
        """Forget everything built (a new session, or one read afresh)."""
        self.params_of = {}
        self._context = None
        self._context_loaded = False

    def space_and_domain(self, st: SessionState) -> tuple[Any, Any]:
        """The session's space and compiled hyperopt Domain (cached per process)."""
        from ._space import domain_for

        return domain_for(st.spec.uid, st.spec.space)

    def context(self, st: SessionState) -> Any:
        """The session's context object, unpickled once."""
        with self.mutex:
            if not self._context_loaded:
                self._context = pickle.loads(st.spec.context)
                self._context_loaded = True
            return self._context

    def params(self, st: SessionState, tid: int) -> Any:
        """The objective's parameters for trial `tid` (`space_eval` of its vals)."""
        from ._space import params

        with self.mutex:
            cached = self.params_of.get(tid)
            if cached is not None:
                return cached
            trial = st.trials[tid]
            space, _ = self.space_and_domain(st)
            # issue 12: modules whose import defines what the space calls (scope functions).
            try:
                import_space_modules(st.spec.metadata)
            except ImportError as err:
                # A reader without the user's code (a listing elsewhere) needs them
                # only if the space calls them: then it is their error that tells why.
                try:
                    value = params(space, trial.vals)
                except Exception:
                    raise err from None
            else:
                value = params(space, trial.vals)
            self.params_of[tid] = value
            return value


def trial_params(cache: SpecCache, st: SessionState, tid: int) -> Any:
    """The parameters of trial ``tid`` of ``st`` (from a view's `derived`), or a
    ``SpaceEvalFailure`` holding the traceback of what went wrong."""
    try:
        return cache.params(st, tid)
    except Exception:  # the space's own code, or a module that does not import here
        text = traceback.format_exc()
        logger.warning("trial %s: its space did not evaluate:\n%s", tid, text)
        return SpaceEvalFailure(text)
