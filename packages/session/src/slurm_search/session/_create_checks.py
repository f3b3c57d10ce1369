"""Checks of `create_session`'s settings beyond their types.

Called first thing by `create_session`, so a value that would only break a
worker later (a lease its renewing thread cannot wait for, a context the
objective cannot use) is refused before anything is stored.

An objective may carry a ``check_context`` attribute: a function called with
the session's context that raises ``ValueError`` (or ``TypeError``) naming
what is wrong. `slurm_search.session.demo.objective` has one; any objective
of a higher package can have its own, without this package knowing it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ._errors import InvalidObjective, InvalidSetting
from ._names import objective_path, resolve_objective

# The renewing thread waits lease_seconds / 3 at a time; Python's waits
# overflow past threading.TIMEOUT_MAX (about 292 years). A billion seconds
# (about 31 years) is as long as any lease needs to be.
MAX_LEASE_SECONDS = 1e9
# The most trials one session has. Every trial is a record in the session's
# log and an entry of its state in memory: ten million is about what one
# log holds and a worker reads back; a count past it (a typo, 1e26) never
# finishes, so it is refused, not started.
MAX_TRIALS = 10**7


def check_settings(objective: Any, *, context: Any, lease_seconds: Any, interruptible: Any) -> None:
    """Refuse settings that pass their type test but cannot work.

    Raises:
        InvalidSetting: ``lease_seconds`` not a finite number of seconds in
            (0, MAX_LEASE_SECONDS]; ``interruptible`` not a bool; a context
            that the objective's ``check_context`` refuses.
    """
    if (
        isinstance(lease_seconds, bool)
        or not isinstance(lease_seconds, numbers.Real)
        or not math.isfinite(lease_seconds)
        or not 0 < float(lease_seconds) <= MAX_LEASE_SECONDS
    ):
        raise InvalidSetting(
            "lease_seconds", lease_seconds, f"a finite number of seconds > 0 and <= {MAX_LEASE_SECONDS:.0e}"
        )
    if not isinstance(interruptible, bool):
        raise InvalidSetting("interruptible", interruptible, "true or false")
    _check_context(objective, context)


def _check_context(objective: Any, context: Any) -> None:
    try:
        function = resolve_objective(objective_path(objective))
    except InvalidObjective:
        return  # create_session raises it, in its own order
    check = getattr(function, "check_context", None)
    if not callable(check):
        return
    try:
        check(context)
    except (ValueError, TypeError) as err:
        raise InvalidSetting("context", context, f"a context the objective accepts ({err})") from err
