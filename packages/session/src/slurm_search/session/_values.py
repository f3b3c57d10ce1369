"""The one reading of a value written on a command line (``ssearch start k=v``, ``run_exp --a:b=v``).

Grammar, tried in this order (case does not matter for the words):

- ``true`` / ``false``                 -> bool
- ``none`` / ``null``                  -> None
- ``inf`` / ``+inf`` / ``-inf``        -> float infinity
- an integer, a float                  -> int, float (``nan`` stays the string ``"nan"``)
- ``[...]``, ``(...)``, ``{...}``      -> a Python literal (list, tuple, dict); malformed: `InvalidValue`
- text with a comma: ``1,2,x``         -> a list of the parts, each read as above (``5,`` is ``[5]``)
- anything else                        -> the string itself

`format_value` writes the text that `parse_value` reads back as the same value.
"""

from __future__ import annotations

import ast
import math
from typing import Any

from ._errors import SessionError

__all__ = ["InvalidValue", "format_value", "parse_value"]


class InvalidValue(SessionError, ValueError):
    """A value that looks like a Python literal but is not one."""

    def __init__(self, text: str, why: str) -> None:
        super().__init__(f"cannot read the value {text!r}: {why}; write a Python literal such as [1, 2] or {{'a': 1}}")
        self.text = text


_WORDS: dict[str, Any] = {"true": True, "false": False, "none": None, "null": None,
                          "inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def _scalar(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in _WORDS:
        return _WORDS[lowered]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return text
    return text if math.isnan(value) else value  # "nan" is never a useful parameter


def parse_value(text: str) -> Any:
    """The value ``text`` means (see the module's grammar).

    Raises:
        InvalidValue: text that starts like a list, tuple or dict but is not one.
    """
    if text[:1] in "[({":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError) as err:
            raise InvalidValue(text, str(err).split("\n")[0] or type(err).__name__) from None
    if "," in text:
        return [_scalar(part) for part in text.split(",") if part != ""]
    return _scalar(text)


def format_value(value: Any) -> str:
    """The command-line text that `parse_value` reads back as ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, list) and all(not isinstance(v, (list, tuple, dict)) for v in value):
        # A one-element list needs a trailing comma to stay a list.
        text = ",".join(format_value(v) for v in value)
        return text + "," if len(value) == 1 else text
    if isinstance(value, (list, tuple, dict)):
        return repr(value)
    return str(value)
