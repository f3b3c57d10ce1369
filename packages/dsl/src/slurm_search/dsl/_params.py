"""Experiment parameters: nested dicts addressed by ``a:b`` paths.

Pure functions only: lookup, functional update, flattening, merging, the
parsing of command-line values, comparison for resume, and seed derivation.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

from slurm_search.session import flatten_params, format_value, parse_value

from ._errors import BadValue, UnknownParameter
from ._text import shorten

__all__ = [
    "MISSING",
    "get_param",
    "has_param",
    "with_param",
    "flatten",
    "merged",
    "parse_value",
    "format_value",
    "check_overrides",
    "differences",
    "canonical",
    "derive_seed",
    "point_key",
]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def get_param(params: Mapping[str, Any] | None, path: str, default: Any = MISSING) -> Any:
    """The value at ``a:b:c`` in nested ``params``; ``default`` if absent."""
    node: Any = params or {}
    for part in path.split(":"):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def has_param(params: Mapping[str, Any] | None, path: str) -> bool:
    """True if ``params`` holds a value at ``path``."""
    return get_param(params, path) is not MISSING


def with_param(params: Mapping[str, Any] | None, path: str, value: Any) -> dict[str, Any]:
    """A copy of ``params`` with ``path`` set to ``value`` (inner dicts copied, leaves shared)."""
    head, _, rest = path.partition(":")
    out = dict(params or {})
    if rest:
        inner = out.get(head)
        out[head] = with_param(inner if isinstance(inner, Mapping) else {}, rest, value)
    else:
        out[head] = value
    return out


def flatten(params: Mapping[str, Any]) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a:b": 1}``; empty dicts are kept as leaves (session's `flatten_params`)."""
    return flatten_params(params)


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: ``overrides`` (nested or flat ``a:b`` keys) over a deep copy of ``base``."""
    out = copy.deepcopy(dict(base))
    for path, value in flatten(overrides).items():
        out = with_param(out, path, copy.deepcopy(value))
    return out


def _kind_ok(default: Any, value: Any) -> tuple[bool, Any, str]:
    """Check ``value`` against the type of ``default``; return (ok, value to use, expected)."""
    if default is None or default is MISSING:
        return True, value, ""
    if isinstance(default, bool):
        return isinstance(value, bool), value, "true or false"
    if isinstance(default, numbers.Integral):
        if isinstance(value, bool):
            return False, value, "an integer"
        if isinstance(value, numbers.Integral):
            return True, value, ""
        if isinstance(value, float) and math.isinf(value):
            return True, value, ""
        return False, value, "an integer"
    if isinstance(default, numbers.Real):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            # inf only where the default is infinite too (train_episodes=inf):
            # 1e999 reads as inf, and inf seconds or an inf noise break a run.
            if math.isfinite(default) and not math.isfinite(value):
                return False, value, "a finite number"
            return True, float(value), ""
        return False, value, "a number"
    if isinstance(default, str):
        if isinstance(value, list):
            return False, value, "a single word, not a list"
        return True, value if isinstance(value, str) else format_value(value), ""
    if isinstance(default, (list, tuple)):
        return True, value if isinstance(value, list) else [value], ""
    if isinstance(default, Mapping):
        return False, value, f"one of its keys, e.g. --KEY:{next(iter(default), 'x')}=..."
    # A hyperopt space or another object: any value replaces it.
    return True, value, ""


def check_overrides(params: Mapping[str, Any], overrides: Mapping[str, Any], allow_new: bool = False) -> dict[str, Any]:
    """Validate flat ``overrides`` against ``params``; return them with values coerced.

    Raises:
        UnknownParameter: a path names no parameter (unless ``allow_new``),
            with the closest existing paths.
        BadValue: a value does not fit the kind of the parameter's default.
    """
    flat = flatten(params)
    known = set(flat) | _prefixes(flat)
    out: dict[str, Any] = {}
    for path, value in overrides.items():
        if path not in known and not allow_new:
            raise UnknownParameter(path, difflib.get_close_matches(path, sorted(known), n=3, cutoff=0.5))
        ok, coerced, expected = _kind_ok(get_param(params, path), value)
        if not ok:
            raise BadValue(
                f"--{path}", format_value(value), f"{expected} (default {format_value(get_param(params, path))})"
            )
        out[path] = coerced
    return out


def _prefixes(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        parts = path.split(":")
        out.update(":".join(parts[:i]) for i in range(1, len(parts)))
    return out


def canonical(value: Any) -> str:
    """A deterministic text for comparing values (hyperopt spaces included)."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k!r}: {canonical(value[k])}" for k in sorted(value, key=repr))
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(canonical(v) for v in value)
        return ("[" + inner + "]") if isinstance(value, list) else ("(" + inner + ")")
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, (str, int, bool)) or value is None:
        return repr(value)
    # hyperopt's pyll graphs print as a deterministic tree.
    return " ".join(str(value).split())


def differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(path, stored, given)`` for each parameter that differs (``-`` for absent)."""
    old, new = flatten(stored), flatten(given)
    out = []
    for path in sorted(set(old) | set(new)):
        a = canonical(old[path]) if path in old else "-"
        b = canonical(new[path]) if path in new else "-"
        if a != b:
            out.append((path, _short(old.get(path, "-")), _short(new.get(path, "-"))))
    return out


def _short(value: Any) -> str:
    text = format_value(value) if not isinstance(value, Mapping) else canonical(value)
    text = " ".join(text.split())
    return shorten(text, 60)


def derive_seed(seed: int, *parts: Any) -> int:
    """A seed in [0, 2**31) from ``seed`` and a path: the same inputs, the same seed, anywhere."""
    text = "\x1f".join([str(int(seed)), *(str(p) for p in parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") % (2**31 - 1)


def point_key(value: Any) -> str:
    """A short stable name for a sampled value, used as a segment of AST paths."""
    return hashlib.sha1(canonical(value).encode()).hexdigest()[:12]
