"""Session types: named recipes for sessions, found through entry points.

A session type is a callable registered in the entry-point group
``slurm_search.session_types``. It takes the type's parameters (a dict, from
``ssearch start TYPE key=value...``) and returns the keyword arguments of
`create_session` (``objective``, ``space``, and optionally ``context``,
``algo``, ``max_evals``, ``metadata``...). It raises ``ValueError`` (or
``TypeError``/``KeyError``) naming the parameter when the parameters are wrong.

This package ships ``demo``; higher layers (the rl package's ``ale``) register
their own, so this package never imports them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any

from ._errors import BadSessionParameters, UnknownSessionType

logger = logging.getLogger(__name__)

GROUP = "slurm_search.session_types"

SessionType = Callable[[dict], Mapping[str, Any]]


def session_types() -> dict[str, Any]:
    """The registered session types: name -> entry point (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(type_name: str) -> SessionType:
    """The session type of that name.

    Raises:
        UnknownSessionType: none of that name; the message lists the valid ones.
    """
    types = session_types()
    if type_name not in types:
        raise UnknownSessionType(type_name, sorted(types))
    return types[type_name].load()


def session_arguments(type_name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """`create_session` keyword arguments for a type and its parameters.

    Raises:
        UnknownSessionType: no such type.
        BadSessionParameters: the type refused the parameters.
    """
    make = load(type_name)
    try:
        args = dict(make(dict(params)))
    except (ValueError, TypeError, KeyError) as err:
        raise BadSessionParameters(type_name, str(err).strip("'\"")) from err
    missing = [key for key in ("objective", "space") if key not in args]
    if missing:
        raise BadSessionParameters(type_name, f"its recipe gave no {' and '.join(missing)} (a bug in the type)")
    metadata = dict(args.get("metadata") or {})
    metadata.setdefault("session_type", type_name)
    metadata.setdefault("type_parameters", dict(params))
    args["metadata"] = metadata
    return args


def demo(params: dict) -> dict[str, Any]:
    """The ``demo`` session type: minimise x² + y² on [-2, 2]².

    Parameters:
        sleep: seconds each evaluation sleeps (default 0), to make workers
            and time limits observable.

    Returns:
        `create_session` arguments (rand search, 50 evaluations by default).
    """
    from hyperopt import hp

    params = dict(params)
    sleep = params.pop("sleep", 0.0)
    if params:
        raise ValueError(f"unknown parameter {', '.join(sorted(params))}; demo takes: sleep")
    if isinstance(sleep, bool) or not isinstance(sleep, (int, float)) or not 0 <= sleep < math.inf:
        raise ValueError(f"sleep must be a finite number of seconds >= 0, not {sleep!r}")
    return {
        "objective": "slurm_search.session.demo:objective",
        "space": {"x": hp.uniform("x", -2, 2), "y": hp.uniform("y", -2, 2)},
        "context": {"sleep": float(sleep)},
        "algo": "rand",
        "max_evals": 50,
    }
