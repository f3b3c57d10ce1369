"""The values a sampling node's settings take, checked by their role.

A sampling node has a sample count, a method and a number of threads, each
given as a value or as the name of a parameter (``"tune:settings"``). Which
parameter is a count is known only from the node that reads it, so the
checks are by role, here, and used twice: by `SamplingNode.bind` when the
node runs, and by `_precheck.check_tree` on the whole tree before a run is
stored (so ``--tune:settings=0`` leaves nothing behind). No I/O, but not
self-contained: the bounds, the pruner and the PBT checks are the session's
(imported where used, so importing this module stays cheap).
"""

from __future__ import annotations

from typing import Any

from ._errors import BadValue
from ._params import MISSING

__all__ = [
    "GOALS", "PRUNER_VALUES", "check_count", "check_goal", "check_method", "check_pruner", "check_threads",
    "check_timeout", "methods",
]

PRUNER_VALUES = ("none", "median", "asha")
#: The words of a goal (a direction) and the strategy each names. Exactly
#: these: ``MIN`` or ``maximum`` would otherwise read as one or the other.
GOALS = {"min": "minimize", "max": "maximize", "minimize": "minimize", "maximize": "maximize"}


def _whole_number(value: Any) -> bool:
    # int only: inf, nan, 2.5 and true are not counts (1e999 reads as inf).
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def check_count(option: str, value: Any) -> int:
    """A sample count: an integer from 1 to the session's bound (`slurm_search.session.MAX_TRIALS`).

    Raises:
        BadValue: ``option=value is not valid: expected a whole number >= 1 and <= ...``.
    """
    from slurm_search.session import MAX_TRIALS

    if not _whole_number(value) or value > MAX_TRIALS:
        raise BadValue(option, value, f"a whole number >= 1 and <= {MAX_TRIALS:,} (the number of samples)")
    return value


def methods() -> tuple[str, ...]:
    """The launch methods' words: the session's executors (`slurm_search.session.workers.methods`)."""
    from slurm_search.session.workers import methods as executor_methods

    return executor_methods()


def check_method(option: str, value: Any) -> str:
    """A method: ``inline``, ``cpu``, ``slurm`` or a registered executor's word.

    Raises:
        BadValue: naming the methods.
    """
    known = methods()
    if not isinstance(value, str) or value not in known:
        raise BadValue(option, value, " or ".join(known))
    return value


def check_goal(option: str, value: Any) -> str:
    """A goal (which way to optimise): ``min`` or ``max``, or ``minimize`` / ``maximize``.

    Returns:
        ``"minimize"`` or ``"maximize"`` (the strategy of the sampling node).

    Raises:
        BadValue: any other value (``MIN``, ``maximum``, ``1``), naming the words.
    """
    if not isinstance(value, str) or value not in GOALS:
        raise BadValue(option, value, "min or max (or minimize, maximize)")
    return GOALS[value]


def check_threads(option: str, value: Any) -> int:
    """A number of workers: an integer from 1 to ``MAX_WORKERS`` (1000) of `slurm_search.session.workers`.

    Raises:
        BadValue: ``option=value is not valid: expected a whole number >= 1 ...``.
    """
    from slurm_search.session.workers import MAX_WORKERS

    if not _whole_number(value) or value > MAX_WORKERS:
        raise BadValue(option, value, f"a whole number >= 1 and <= {MAX_WORKERS:,} (the number of workers)")
    return value


def check_timeout(option: str, value: Any) -> float | None:
    """A trial timeout: a finite number of seconds > 0, or None (no limit).

    Raises:
        BadValue: anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise BadValue(option, value, "a finite number of seconds > 0, or none")
    return float(value)


def check_pruner(
    option: str, strategy: str, pruner: Any, options: Any, options_option: str | None = None
) -> tuple[str | None, dict | None]:
    """A pruner (``none``, ``median``, ``asha``) and its options, checked as the session checks them.

    ``options`` is the pruner's options, or a dict of them by pruner name
    (``{"asha": {...}, "median": {...}}``: one parameter serves both).

    ``option`` names the pruner setting in messages (``--tune:pruner``),
    ``options_option`` its options (default: ``option`` with ``pruner_options``).

    Raises:
        BadValue: an unknown pruner, a pruner on a node that optimises
            nothing (random, enumeration), options the pruner does not take.
    """
    from slurm_search import session

    if pruner is None or pruner == "none":
        return None, None
    if pruner not in PRUNER_VALUES:
        raise BadValue(option, pruner, " or ".join(PRUNER_VALUES))
    if strategy not in ("minimize", "maximize"):
        raise BadValue(option, pruner, "none: a pruner needs a goal (minimizing_sampling or maximizing_sampling)")
    if options is MISSING:  # a parameter the run does not have: the defaults
        options = None
    if isinstance(options, dict) and set(options) & set(PRUNER_VALUES):
        options = options.get(pruner)
    try:
        return session.check_pruner(pruner, dict(options or {}) if isinstance(options, dict) else options)
    except session.InvalidSetting as err:
        where = options_option or option.replace("pruner", "pruner_options")
        raise BadValue(f"{where} {err.setting}", err.value, str(err).split("expected ", 1)[-1]) from None


def check_pbt(
    where: str, strategy: str, algo: Any, options: Any, count: Any, pruner: Any
) -> dict | None:
    """A sampling node's `algo="pbt"` and its `pbt_options`, checked as the session checks them.

    Returns:
        The PBT options with defaults filled in (population: the node's
        sample_count), or None for the strategy's own algorithm.

    Raises:
        BadValue: another algo word, PBT on a node that optimises nothing or
            with a pruner, options that PBT does not take.
    """
    if algo is None:
        if options:
            raise BadValue(f"{where} pbt_options", options, 'nothing unless algo="pbt"')
        return None
    if algo != "pbt":
        raise BadValue(f"{where} algo", algo, "pbt (or leave it out: the strategy's own algorithm)")
    if strategy not in ("minimize", "maximize"):
        raise BadValue(f"{where} algo", algo, "left out: PBT needs a goal (minimizing_sampling or maximizing_sampling)")
    if pruner not in (None, (None, None)):
        raise BadValue(f"{where} pruner", pruner[0] if isinstance(pruner, tuple) else pruner, "none with algo pbt")
    if options is MISSING:
        options = None
    from slurm_search import session

    try:
        return session.check_pbt_options(dict(options or {}) if isinstance(options, dict) else options, count)
    except session.InvalidSetting as err:
        raise BadValue(f"{where} {err.setting}", err.value, str(err).split("expected ", 1)[-1]) from None
