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

import importlib
import inspect
import logging
import math
import os
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


def is_objective_ref(text: str) -> bool:
    """``mymod:objective``, not a registered type: ``ssearch start`` runs the user's own objective."""
    return ":" in text and text not in session_types()


def describe_types() -> list[tuple[str, str]]:
    """Each registered type with its docstring's summary and parameters, for ``--help``.

    A type that does not load is listed with why, never a reason to fail the help.
    """
    described = []
    for name, ep in sorted(session_types().items()):
        try:
            doc = inspect.getdoc(ep.load()) or ""
        except Exception as err:  # a broken plug-in must not break --help
            doc = f"(does not load: {type(err).__name__}: {err})"
        described.append((name, _summary_and_parameters(doc)))
    return described


def _summary_and_parameters(doc: str) -> str:
    """The first line of a docstring and its ``Parameters:`` section, unwrapped."""
    lines = doc.replace("``", "").splitlines()
    summary = lines[0].strip() if lines else ""
    params: list[str] = []
    inside = False
    for line in lines[1:]:
        stripped = line.strip()
        if not line.startswith(" ") and stripped.endswith(":"):
            if params:
                break  # the next section (Returns:, Raises:)
            inside = stripped.startswith(("Parameters", "Args"))
            continue
        if inside:
            if not stripped:
                continue
            if line.startswith("        ") and params:
                params[-1] += " " + stripped
            else:
                params.append(stripped)
    if params:
        summary += " Parameters: " + "; ".join(param.rstrip(".") for param in params) + "."
    return summary


def objective_arguments(ref: str, params: Mapping[str, Any], folder: str) -> dict[str, Any]:
    """`create_session` arguments for the user's own ``MODULE:FUNCTION``.

    The module is imported from ``folder`` (the current one) when it is
    there, and the folder is recorded so every worker finds it. The space is
    the ``space=MODULE:NAME`` parameter, else the attribute ``space`` beside
    the objective: a hyperopt space, or a function that returns one. Every
    other parameter goes into the context (a dict the objective gets as its
    second argument). 50 trials unless ``max_evals`` says otherwise.

    Raises:
        BadSessionParameters: no space, or one that does not import.
        InvalidObjective: the objective does not import.
    """
    from slurm_search.session import use_folder

    params = dict(params)
    module = ref.partition(":")[0]
    here = use_folder(folder, module)
    try:
        imported = importlib.import_module(module)
    except Exception as err:  # any error while importing user code: say which
        where = "" if here else f" (there is no {module.split('.')[0]}.py in {folder})"
        raise BadSessionParameters(
            ref,
            f"cannot import {module}{where}: {type(err).__name__}: {err}; run `ssearch start MODULE:FUNCTION` "
            f"in the folder that holds MODULE.py, or put its folder on PYTHONPATH",
        ) from None
    space_ref = params.pop("space", None)
    if space_ref is None:
        found = getattr(imported, "space", None)
        if found is None:
            raise BadSessionParameters(
                ref,
                f"no search space: define `space` (a hyperopt space, or a function returning one) beside "
                f"the objective in {module}, or give space=MODULE:NAME",
            )
        space_ref = f"{module}:space"
    if not isinstance(space_ref, str) or ":" not in space_ref:
        raise BadSessionParameters(ref, f"space={space_ref!r}: give the space as space=MODULE:NAME")
    space = _load_space(ref, space_ref, folder)
    metadata: dict[str, Any] = {"session_type": ref, "type_parameters": {"space": space_ref, **params}}
    if here:
        metadata["folder"] = os.path.abspath(folder)
    return {"objective": ref, "space": space, "context": params or None, "max_evals": 50, "metadata": metadata}


def _load_space(ref: str, space_ref: str, folder: str) -> Any:
    from slurm_search.session import use_folder

    module_name, _, attr = space_ref.partition(":")
    use_folder(folder, module_name)
    try:
        found: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            found = getattr(found, part)
    except Exception as err:  # any error while importing user code: say which
        raise BadSessionParameters(
            ref, f"space={space_ref} does not import ({type(err).__name__}: {err}); give space=MODULE:NAME"
        ) from None
    if callable(found) and not hasattr(found, "pos_args"):  # a function, not a hyperopt expression
        try:
            found = found()
        except Exception as err:  # user code: say which
            raise BadSessionParameters(ref, f"space {space_ref}() raised {type(err).__name__}: {err}") from None
    return found


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
        steps: report intermediate values at that many steps (default 0:
            none), for a session with a pruner (``pruner=asha``).

    Returns:
        `create_session` arguments (rand search, 50 evaluations by default).
    """
    from hyperopt import hp

    params = dict(params)
    sleep = params.pop("sleep", 0.0)
    steps = params.pop("steps", 0)
    if params:
        raise ValueError(f"unknown parameter {', '.join(sorted(params))}; demo takes: sleep, steps")
    if isinstance(sleep, bool) or not isinstance(sleep, (int, float)) or not 0 <= sleep < math.inf:
        raise ValueError(f"sleep must be a finite number of seconds >= 0, not {sleep!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 0 <= steps <= 1_000_000:
        raise ValueError(f"steps must be a whole number from 0 to 1000000, not {steps!r}")
    return {
        "objective": "slurm_search.session.demo:objective",
        "space": {"x": hp.uniform("x", -2, 2), "y": hp.uniform("y", -2, 2)},
        "context": {"sleep": float(sleep), **({"steps": steps} if steps else {})},
        "algo": "rand",
        "max_evals": 50,
    }
