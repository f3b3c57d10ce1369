"""Importing hyperopt without paying for the optimisers a process does not run.

``import hyperopt`` executes ``hyperopt/__init__.py``, which imports every
optimiser: ATPE imports ``scipy.stats`` (about 0.8 s here: scipy 1.17 parses
hundreds of docstrings at import) and TPE ``scipy.special`` (about 0.2 s),
out of the 1.1 to 1.4 s that ``import hyperopt`` takes. Every ``run_exp``
and every worker imports hyperopt, so that time is on the critical path of
every experiment, while sessions never run ATPE and a rand session never
runs TPE.

`defer_optimisers()` puts a placeholder module at ``sys.modules`` for
``hyperopt.atpe`` and ``hyperopt.tpe`` before hyperopt is first imported.
``from . import atpe, tpe`` in hyperopt's ``__init__`` then binds the
placeholders instead of executing those modules; the first use of one of a
placeholder's attributes (``hyperopt.tpe.suggest``) imports the real module,
and from then on the placeholder hands everything over to it. So the
deferral changes nothing a user can see but when the time is paid.

``importlib.util.LazyLoader`` cannot do this: Python's import machinery reads
the module's ``__spec__`` as soon as it finds it in ``sys.modules``, and that
read makes a lazy module load.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
import types
from typing import Any

__all__ = ["DEFERRED", "defer_optimisers"]

DEFERRED = ("hyperopt.atpe", "hyperopt.tpe")


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is used."""

    def __getattr__(self, attr: str) -> Any:
        # Only called for what the placeholder itself lacks: everything but
        # the few attributes set in defer_optimisers(). A module is not a
        # package: asking for __path__ must not import it (pkgutil and
        # importlib ask every module in sys.modules).
        if attr == "__path__" and "_deferred_module" not in self.__dict__:
            raise AttributeError(attr)
        return getattr(self._load(), attr)

    def __dir__(self) -> list[str]:
        return dir(self._load())

    def _load(self) -> types.ModuleType:
        loaded = self.__dict__.get("_deferred_module")
        if loaded is None:
            name = self.__name__
            if sys.modules.get(name) is self:
                del sys.modules[name]
            loaded = importlib.import_module(name)
            self.__dict__["_deferred_module"] = loaded
            parent_name, _, attr = name.rpartition(".")
            parent = sys.modules.get(parent_name)
            if parent is not None and getattr(parent, attr, None) is self:
                setattr(parent, attr, loaded)
        return loaded


def defer_optimisers() -> None:
    """Defer hyperopt's ATPE and TPE modules to their first use.

    Does nothing once hyperopt is imported, or when it is not installed.
    """
    if "hyperopt" in sys.modules or any(name in sys.modules for name in DEFERRED):
        return
    try:
        found = importlib.machinery.PathFinder.find_spec("hyperopt")
    except (ImportError, ValueError):
        return
    if found is None:
        return
    folder = os.path.dirname(found.origin or "")
    for name in DEFERRED:
        placeholder = _Deferred(name, f"{name}, imported on first use")
        # What is read of every module in sys.modules without using it: the
        # import system reads __spec__ (one without `_initializing` reads as
        # fully imported), inspect.getmodule() reads __file__ (torch's import
        # calls it).
        placeholder.__spec__ = importlib.machinery.ModuleSpec(name, None)
        placeholder.__file__ = os.path.join(folder, name.rpartition(".")[2] + ".py")
        placeholder.__loader__ = None
        placeholder.__package__ = "hyperopt"
        sys.modules[name] = placeholder
