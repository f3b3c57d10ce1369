"""Hyperparameters as a search hands them out, made into what a preset takes.

hyperopt gives floats for integer spaces (``quniform`` yields ``32.0``) and
numpy scalars; ALL's presets want ``int`` for ``n_envs``, ``n_steps``,
``minibatch_size``, ``update_frequency`` and the like, and fail deep inside
torch otherwise. The type of each preset default decides: an integer default
makes the value an integer (rounded), a float default a float.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from ._errors import UnknownHyperparameter

__all__ = ["coerce_hyperparameters"]


def _plain(value: Any) -> Any:
    # numpy scalars -> Python scalars, without importing numpy.
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        return item()
    return value


def coerce_hyperparameters(agent: str, hp: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``hp`` against a preset's defaults and coerce the numbers.

    Args:
        agent: the agent name, for the error message.
        hp: the hyperparameters to apply (``None``: none).
        defaults: the preset's default hyperparameters.

    Returns:
        A new dict with integer hyperparameters as ``int`` and float ones as ``float``.

    Raises:
        UnknownHyperparameter: ``hp`` names a hyperparameter the preset does not take.
    """
    hp = dict(hp or {})
    unknown = sorted(name for name in hp if name not in defaults)
    if unknown:
        raise UnknownHyperparameter(agent, unknown, sorted(defaults))
    coerced = {}
    for name, value in hp.items():
        value = _plain(value)
        default = defaults[name]
        if isinstance(default, bool) or isinstance(value, bool):
            coerced[name] = value
        elif isinstance(default, numbers.Integral) and isinstance(value, numbers.Real):
            coerced[name] = int(round(value))
        elif isinstance(default, float) and isinstance(value, numbers.Real):
            coerced[name] = float(value)
        else:
            coerced[name] = value
    return coerced
