"""Reading stored pickles without the code of the classes they name.

A record may hold an instance of a class from the user's own module (an
objective's result). A process that cannot import that module (``ssearch
list`` run anywhere but where the objective lives, a dashboard) must still
read the record: its loss, its times and its state do not need the class.
`loads` unpickles as `pickle.loads` does, and, only when a module or name
does not import here, unpickles again with a stand-in for each missing
class: an instance of a subclass of `NotLoaded` that keeps what the pickle
gave it (its arguments, its state) and says what it stands for.

A stand-in refuses to be pickled: whatever would store it again (a
checkpoint, a compaction) fails instead of replacing the user's object with
a stand-in for good. A checkpoint that cannot be written is only a cache
(`save_checkpoint`'s callers ignore the failure).
"""

from __future__ import annotations

import io
import logging
import pickle
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["NotLoaded", "loads"]


class NotLoaded:
    """Stands for an object whose class (or function) did not import where it was read.

    Attributes (class attributes of each stand-in class):
        not_loaded_module: the module the pickle names.
        not_loaded_name: the class's qualified name.
        not_loaded_reason: why it did not import (one line).

    An instance keeps the arguments it was built with
    (``not_loaded_args``), its pickled state as attributes when the state
    is a dict (else as ``not_loaded_state``), and any items or elements
    the pickle added (``not_loaded_items``).
    """

    not_loaded_module = ""
    not_loaded_name = ""
    not_loaded_reason = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> NotLoaded:
        self = object.__new__(cls)
        self.__dict__["not_loaded_args"] = args
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        slots = None
        if isinstance(state, tuple) and len(state) == 2 and (state[0] is None or isinstance(state[0], dict)):
            state, slots = state  # (dict state, slots state), as pickle gives it
        if isinstance(state, dict):
            self.__dict__.update({str(k): v for k, v in state.items()})
        elif state is not None:
            self.__dict__["not_loaded_state"] = state
        if isinstance(slots, dict):
            self.__dict__.update({str(k): v for k, v in slots.items()})

    def __setitem__(self, key: Any, value: Any) -> None:  # a dict subclass's items
        self.__dict__.setdefault("not_loaded_items", {})[key] = value

    def append(self, value: Any) -> None:  # a list subclass's elements
        self.__dict__.setdefault("not_loaded_items", []).append(value)

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Storing a stand-in would lose the user's object for good.
        raise pickle.PicklingError(
            f"{self.not_loaded_module}.{self.not_loaded_name} was read without its code "
            f"({self.not_loaded_reason}): a stand-in cannot be stored; do this where "
            f"{self.not_loaded_module} imports"
        )

    def __repr__(self) -> str:
        return f"<{self.not_loaded_module}.{self.not_loaded_name}, not loaded: {self.not_loaded_reason}>"


_classes: dict[tuple[str, str], type] = {}


def _stand_in(module: str, name: str, reason: str) -> type:
    found = _classes.get((module, name))
    if found is None:
        logger.info("%s.%s does not import here (%s): read as a stand-in", module, name, reason)
        found = type(
            name.rpartition(".")[2] or "NotLoaded",
            (NotLoaded,),
            {"not_loaded_module": module, "not_loaded_name": name, "not_loaded_reason": reason,
             "__module__": __name__},
        )
        _classes[(module, name)] = found
    return found


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError) as err:
            reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            return _stand_in(module, name, reason)


def loads(data: bytes) -> Any:
    """Unpickle `data`; a class or function that does not import here becomes a `NotLoaded` stand-in.

    As fast as `pickle.loads` when everything imports (the stand-ins are
    only tried after it failed).

    Raises:
        Exception: what unpickling raises for any other reason (damaged
            bytes, a class whose code raises while it is rebuilt).
    """
    try:
        return pickle.loads(data)
    except (ImportError, AttributeError):
        return _Unpickler(io.BytesIO(data)).load()
