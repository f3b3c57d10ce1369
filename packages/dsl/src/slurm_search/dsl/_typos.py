"""Misspelt parameter names: a string argument that names no parameter is
passed as itself, so ``f("sede")`` fails inside a trial far from the typo.
When the call fails, the notes here name it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._params import MISSING, flatten, get_param

__all__ = ["near_parameters"]


def _names_parameter(current: Mapping[str, Any], text: str) -> bool:
    if get_param(current, text) is not MISSING:
        return True
    return text.endswith("_params") and get_param(current, text[: -len("_params")]) is not MISSING


def near_parameters(current: Mapping[str, Any], arguments: Iterable[Any]) -> list[str]:
    """Notes for string arguments that name no parameter but are one edit
    (insertion, deletion, substitution or transposition) from one."""
    names: set[str] = set()
    for path in flatten(dict(current)):
        parts = path.split(":")
        names.update(":".join(parts[: i + 1]) for i in range(len(parts)))
    notes = []
    for text in arguments:
        if not isinstance(text, str) or _names_parameter(current, text):
            continue
        close = sorted(name for name in names if _one_edit(text, name))
        if close:
            notes.append(
                f"{text!r} is not a parameter; did you mean {close[0]!r}? it was passed as the string {text!r}"
            )
    return notes


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one edit (a swap of neighbours counts as one)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
