"""Session names (`type:name`, default type `search`) and objective paths."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

from ._errors import MAX_NAME_BYTES, InvalidObjective, InvalidSessionName
from ._words import random_phrase

DEFAULT_TYPE = "search"

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def session_name(name: object) -> str:
    """`name` as a full `type:name`: a bare `name` is of type `search`.

    Raises:
        InvalidSessionName: not `name` or `type:name` with valid parts.
    """
    if not isinstance(name, str):
        raise InvalidSessionName(name)
    parts = name.split(":")
    if len(parts) == 1:
        parts = [DEFAULT_TYPE, parts[0]]
    if len(parts) != 2 or not all(_PART.fullmatch(p) for p in parts):
        raise InvalidSessionName(name)
    full = f"{parts[0]}:{parts[1]}"
    # Each name is also a lock and a folder: the lock layer refuses '..' and
    # names over 200 bytes; say so here, as a session error.
    if ".." in full:
        raise InvalidSessionName(name, "it contains '..'")
    size = len(full.encode())
    if size > MAX_NAME_BYTES:
        raise InvalidSessionName(name, f"it is {size} bytes long")
    return full


def fresh_name(taken: Callable[[str], bool], type_: str = DEFAULT_TYPE) -> str:
    """A random `type:adjective_adjective_adjective_noun` for which `taken` is false."""
    while True:
        name = f"{type_}:{random_phrase()}"
        if not taken(name):
            return name


def objective_path(objective: object) -> str:
    """The import path of an objective given as a path or as a module-level function.

    Raises:
        InvalidObjective: neither a `module:function` string nor an importable function.
    """
    if isinstance(objective, str):
        return objective
    module = getattr(objective, "__module__", None)
    qualname = getattr(objective, "__qualname__", None)
    if not callable(objective) or not module or not qualname or "<" in qualname:
        raise InvalidObjective(
            objective, "workers import the objective by its path, so it must be a module-level function"
        )
    path = f"{module}:{qualname}"
    if resolve_objective(path) is not objective:
        raise InvalidObjective(objective, f"{path} names another object")
    return path


_objectives: dict[str, Callable[..., Any]] = {}


def resolve_objective(path: str) -> Callable[..., Any]:
    """Import the callable at `package.module:function` (cached per process).

    Raises:
        InvalidObjective: the path is malformed, does not import, or names
            something that is not callable.
    """
    found = _objectives.get(path)
    if found is not None:
        return found
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise InvalidObjective(path, "expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # any error while importing user code: say which
        raise InvalidObjective(path, f"cannot import {module_name} ({type(err).__name__}: {err})") from err
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidObjective(path, f"{module_name} has no attribute {attr!r}") from None
    if not callable(obj):
        raise InvalidObjective(path, f"{attr} is a {type(obj).__name__}, not a function")
    _objectives[path] = obj
    return obj
