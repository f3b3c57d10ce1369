"""The one flattener of parameter trees (trial tables, ``ssearch show``, the DSL's overrides).

``{"a": {"b": 1, "c": {}}, "d": [1, 2]}`` -> ``{"a:b": 1, "a:c": {}, "d": [1, 2]}``.
A non-empty dict whose keys are all strings is a branch; anything else is a
leaf: an empty dict (so a parameter whose value is ``{}`` shows, and comes
back as ``{}``), a list, a dict with other keys (``{0: 0.1, 100: 0.01}`` is
a value: flattening it would turn its keys into strings).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten_params(params: Any, sep: str = ":") -> dict[str, Any]:
    """A parameter tree as one level, the keys of a path joined with `sep`.

    Args:
        params: the parameters; a value that is not a dict is ``{"value": params}``.
        sep: what joins the keys of a path (``:`` as on the command line).

    Returns:
        The leaves by path, in the tree's order.
    """
    if not _is_branch(params):
        return {"value": params} if not isinstance(params, Mapping) else dict(params)
    flat: dict[str, Any] = {}
    _walk(params, "", sep, flat)
    return flat


def _is_branch(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value) and all(isinstance(k, str) for k in value)


def _walk(node: Mapping[str, Any], prefix: str, sep: str, flat: dict[str, Any]) -> None:
    for key, value in node.items():
        path = f"{prefix}{sep}{key}" if prefix else key
        if _is_branch(value):
            _walk(value, path, sep, flat)
        else:
            flat[path] = value
