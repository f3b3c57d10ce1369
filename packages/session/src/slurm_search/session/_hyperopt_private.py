"""Every use of hyperopt's private names and internals, in one place.

What slurm-search relies on that hyperopt does not promise (each checked
against the oldest and the newest hyperopt our pin allows by
tests/session/test_private_names.py, through `PRIVATE_NAMES`):

* ``hyperopt.pyll.base.scope._impls``: the implementation of a pyll
  function by name (`scope_impl`; `_fast_eval` runs a space's graph itself).
* ``hyperopt.pyll.base.Literal._obj``: a literal's value (`literal_value`).
* ``hyperopt.tpe._default_prior_weight``, ``_default_n_startup_jobs``,
  ``_default_n_EI_candidates``, ``_default_gamma``: TPE's defaults
  (`tpe_defaults`; `_fast_eval.tpe_vals` suggests as ``tpe.suggest`` does,
  and `_suggesting.TPE_STARTUP` is the startup count).
* ``hyperopt.tpe.build_posterior_wrapper``: TPE's posterior graph.
* The modules ``hyperopt.atpe`` and ``hyperopt.tpe`` and hyperopt's
  ``__init__`` importing them with ``from . import atpe, tpe``
  (`defer_optimisers`, below).

Importing this module does not import hyperopt (it must run first).

Importing hyperopt without paying for the optimisers a process does not run.

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

__all__ = ["DEFERRED", "PRIVATE_NAMES", "defer_optimisers", "literal_value", "scope_impl", "tpe_defaults"]

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


# (module, attribute path) of every private name above, for the test over hyperopt's versions.
PRIVATE_NAMES = (
    ("hyperopt.pyll.base", "scope._impls"),
    ("hyperopt.pyll.base", "Literal"),
    ("hyperopt.tpe", "_default_prior_weight"),
    ("hyperopt.tpe", "_default_n_startup_jobs"),
    ("hyperopt.tpe", "_default_n_EI_candidates"),
    ("hyperopt.tpe", "_default_gamma"),
    ("hyperopt.tpe", "build_posterior_wrapper"),
    ("hyperopt.atpe", "suggest"),
)


def scope_impl(name: str) -> Any:
    """The Python function behind pyll function `name` (``scope._impls``); None if there is none."""
    from hyperopt.pyll.base import scope

    return scope._impls.get(name)


def literal_value(literal: Any) -> Any:
    """The value a pyll ``Literal`` stands for (its ``_obj``)."""
    return literal._obj


def tpe_defaults() -> dict[str, Any]:
    """``tpe.suggest``'s defaults: prior_weight, n_startup_jobs, n_EI_candidates, gamma."""
    from hyperopt import tpe

    return {
        "prior_weight": tpe._default_prior_weight,
        "n_startup_jobs": tpe._default_n_startup_jobs,
        "n_EI_candidates": tpe._default_n_EI_candidates,
        "gamma": tpe._default_gamma,
    }
