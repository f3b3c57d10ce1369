"""The original slurm-search's parameter helpers, under their names, so an
experiment file written for it runs with only its import lines changed.

Parameters are nested dicts; a flattened form joins the keys of a path
(``{"search": {"method": "cpu"}}`` <-> ``{"search:method": "cpu"}``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pprint import pformat
from typing import Any

from slurm_search.session import flatten_params

__all__ = [
    "flattened_params",
    "mapped_params",
    "params_equal",
    "params_str",
    "unflattened_params",
    "unwrapped_settings",
    "updated_params",
]


def unwrapped_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """hyperopt's ``misc["vals"]`` (``label -> [value]``) as ``label -> value``.

    A label with no value (inactive in a ``hp.choice`` branch) is left out,
    which is what ``space_eval`` wants (the original indexed it and failed).
    """
    unwrapped = {}
    for key, value in settings.items():
        if isinstance(value, list):
            if value:
                unwrapped[key] = value[0]
        else:
            unwrapped[key] = value
    return unwrapped


def mapped_params(mapper_func: Callable[[Any, list], Any], data: Any, prefix: list | None = None) -> Any:
    """``data`` with every leaf replaced by ``mapper_func(leaf, path)``.

    Dicts (keys sorted), lists and tuples are walked; a leaf's path is the
    list of keys and indexes that lead to it.
    """
    prefix = prefix or []
    if isinstance(data, dict):
        return {key: mapped_params(mapper_func, value, prefix + [key]) for key, value in sorted(data.items())}
    if isinstance(data, list):
        return [mapped_params(mapper_func, value, prefix + [index]) for index, value in enumerate(data)]
    if isinstance(data, tuple):
        return tuple(mapped_params(mapper_func, value, prefix + [index]) for index, value in enumerate(data))
    return mapper_func(data, prefix)


def flattened_params(params: Any, delim: str = "/") -> Any:
    """``{"a": {"b": 1}}`` -> ``{"a/b": 1}`` (anything but a dict as it is)."""
    if not isinstance(params, dict):
        return params
    return flatten_params(params, sep=delim)


def unflattened_params(flat: Mapping[str, Any], delim: str = ":") -> dict[str, Any]:
    """``{"a:b": 1}`` -> ``{"a": {"b": 1}}``."""
    result: dict[str, Any] = {}
    for path, value in flat.items():
        node = result
        *heads, last = path.split(delim)
        for head in heads:
            node = node.setdefault(head, {})
        node[last] = value
    return result


def updated_params(base: Mapping[str, Any], additions: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``additions`` merged in, nested dicts merged key by key."""
    params = dict(base)
    for key, value in additions.items():
        if isinstance(value, dict):
            old = params.get(key, {})
            value = updated_params(old if isinstance(old, Mapping) else {}, value)
        params[key] = value
    return params


def params_str(params: Any) -> str:
    """A stable text of parameters (the flattened dict, pretty-printed)."""
    return pformat(flattened_params(params))


def params_equal(params: Any, other_params: Any) -> bool:
    """Whether two parameter trees have the same keys and values; hyperopt
    spaces (which do not compare by value) count as equal."""
    from hyperopt.pyll.base import Apply

    a, b = flattened_params(params), flattened_params(other_params)
    if not isinstance(a, dict) or not isinstance(b, dict):
        return a == b
    return a.keys() == b.keys() and all(isinstance(a[key], Apply) or a[key] == b[key] for key in a)
