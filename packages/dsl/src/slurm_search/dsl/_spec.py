"""Experiment specs and where they come from.

A spec has ``config`` (default parameters), ``debug_overrides``,
``display_func(session_name, params, results)`` and ``experiment_func()``
(returns a dict of nodes and values). A plain dict with these keys is a spec.

Specs are found by reference, so a worker process can find the same one: an
entry-point name in the ``slurm_search.experiments`` group (any installed
package can add its own), or ``package.module:attribute``.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import logging
import os
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from ._errors import SpecError, UnknownExperiment

__all__ = [
    "Spec",
    "ENTRY_POINT_GROUP",
    "registered",
    "load_spec",
    "load_spec_once",
    "as_spec",
    "register_local",
    "spec_modules",
    "describe",
    "use_current_folder",
]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "slurm_search.experiments"

# Specs handed to run_experiment as objects, for inline runs in this process.
_LOCAL: dict[str, Spec] = {}


@dataclasses.dataclass(frozen=True)
class Spec:
    """An experiment.

    Attributes:
        config: default parameters (nested dicts; hyperopt spaces allowed).
        experiment_func: builds the result tree of nodes, called under the
            parameters (so it may call ``param()``).
        debug_overrides: parameters that ``--debug=true`` applies.
        display_func: ``display_func(session_name, params, results)``, or None.
        ref: the reference that finds this spec again in another process.
        description: one line saying what the experiment does (``run_exp``'s
            listing); default: the first line of ``experiment_func``'s docstring.
    """

    config: Mapping[str, Any]
    experiment_func: Callable[[], Any]
    debug_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    display_func: Callable[[str, Any, Any], Any] | None = None
    ref: str = ""
    description: str = ""


def describe(spec: Spec) -> str:
    """The spec's one-line description."""
    if spec.description:
        return spec.description
    func = spec.experiment_func
    while isinstance(func, functools.partial):
        func = func.func
    doc = (getattr(func, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


_MISSING = object()


def registered() -> dict[str, str]:
    """Registered experiment names -> their ``module:attribute`` (nothing is imported)."""
    found = metadata.entry_points(group=ENTRY_POINT_GROUP)
    return {ep.name: ep.value for ep in sorted(found, key=lambda ep: ep.name)}


def as_spec(obj: Any, ref: str) -> Spec:
    """A ``Spec`` from a ``Spec``, a dict with the spec keys, or an object with those attributes.

    Raises:
        SpecError: ``experiment_func`` or ``config`` is missing or of the wrong kind.
    """
    if isinstance(obj, Spec):
        return dataclasses.replace(obj, ref=ref or obj.ref)
    if isinstance(obj, Mapping):
        get = obj.get
    else:

        def get(key: str, default: Any = None) -> Any:
            return getattr(obj, key, default)

    func = get("experiment_func")
    config = get("config", {})
    if not callable(func):
        raise SpecError(ref, "it needs an experiment_func (a function returning a dict of nodes)")
    if not isinstance(config, Mapping):
        raise SpecError(ref, "its config must be a dict of parameters")
    debug = get("debug_overrides", None) or {}
    if not isinstance(debug, Mapping):
        raise SpecError(ref, "its debug_overrides must be a dict of parameters")
    display = get("display_func", None)
    if display is not None and not callable(display):
        raise SpecError(ref, "its display_func must be callable")
    description = get("description", None) or ""
    if not isinstance(description, str):
        raise SpecError(ref, "its description must be a string")
    return Spec(
        config=config,
        experiment_func=func,
        debug_overrides=debug,
        display_func=display,
        ref=ref,
        description=description,
    )


def register_local(spec: Any, ref: str | None = None) -> Spec:
    """Make a spec object findable in this process by a reference (its own if it has one)."""
    ref = ref or getattr(spec, "ref", "") or f"local:spec{len(_LOCAL)}"
    result = as_spec(spec, ref)
    _LOCAL[ref] = result
    return result


def load_spec(ref: str) -> Spec:
    """The spec that ``ref`` names: a registered name, or ``package.module:attribute``.

    Raises:
        UnknownExperiment: no such registered name, or the module or attribute
            is not importable (the message lists the registered names).
        SpecError: the object found is not a spec.
    """
    if ref in _LOCAL:
        return _LOCAL[ref]
    names = registered()
    if ref in names:
        target = names[ref]
    elif ":" in ref:
        target = ref
    else:
        raise UnknownExperiment(ref, list(names), difflib.get_close_matches(ref, list(names), n=2, cutoff=0.5))
    module_name, _, attribute = target.partition(":")
    if not _dotted(module_name) or (attribute and not _dotted(attribute)):
        # importlib would raise ValueError ("Empty module name") or TypeError
        # (a relative import such as "..x" or ".foo").
        raise UnknownExperiment(
            ref, list(names), [], reason=f"{target!r} is not package.module:attribute (dotted Python names)"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise UnknownExperiment(ref, list(names), [], reason=f"no module named {err.name!r}") from None
    except Exception as err:  # user code runs on import: any error, said in one line
        raise SpecError(
            ref,
            f"importing {module_name} raised {_one_line(err)}; see the traceback of `python -c 'import {module_name}'`",
        ) from None
    obj: Any = module
    for part in attribute.split(".") if attribute else []:
        # One getattr: a module's __getattr__ may build the spec when asked.
        try:
            obj = getattr(obj, part, _MISSING)
        except Exception as err:  # a module's __getattr__ is user code too
            raise SpecError(ref, f"getting {attribute} from {module_name} raised {_one_line(err)}") from None
        if obj is _MISSING:
            raise UnknownExperiment(ref, list(names), [], reason=f"{module_name} has no attribute {attribute!r}")
    return as_spec(obj, ref)


def _dotted(text: str) -> bool:
    """True for ``a.b.c`` made of Python identifiers."""
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def _one_line(err: BaseException) -> str:
    text = " ".join(f"{type(err).__name__}: {err}".split())
    return text if len(text) <= 200 else text[:197] + "..."


def spec_modules(ref: str) -> list[str]:
    """The modules that define the spec ``ref`` names: the module of its
    reference and of its functions (through ``functools.partial``), which a
    worker imports before it evaluates a space the experiment built."""
    if ref in _LOCAL:
        # An object handed over in this process (it may be registered again):
        # only its functions' modules.
        return _function_modules(_LOCAL[ref])
    return list(_named_spec_modules(ref))


@functools.cache
def _named_spec_modules(ref: str) -> tuple[str, ...]:
    # Once per process: every sampling session of a run asks.
    modules = []
    names = registered()
    if ref in names:
        modules.append(names[ref].partition(":")[0])
    elif ":" in ref and _dotted(ref.partition(":")[0]):
        modules.append(ref.partition(":")[0])
    modules += _function_modules(load_spec_once(ref))
    return tuple(dict.fromkeys(modules))


def _function_modules(spec: Spec) -> list[str]:
    modules = []
    for func in (spec.experiment_func, spec.display_func):
        while isinstance(func, functools.partial):
            func = func.func
        module = getattr(func, "__module__", None)
        if isinstance(module, str) and module != "__main__":
            modules.append(module)
    return list(dict.fromkeys(modules))


_loaded: dict[str, Spec] = {}


def load_spec_once(ref: str) -> Spec:
    """``load_spec(ref)``, imported once per process: a worker evaluates many
    trials of one spec. (Specs registered in this process are looked up each
    time: registering again replaces them.)"""
    if ref in _LOCAL:
        return _LOCAL[ref]
    spec = _loaded.get(ref)
    if spec is None:
        spec = _loaded[ref] = load_spec(ref)
    return spec


def use_current_folder(ref: str) -> None:
    """Let ``run_exp mymodule:spec`` find ``mymodule.py`` in the current folder,
    as ``python -m`` would; its workers (forked, spawned, Slurm tasks: they
    inherit the environment) find it through ``PYTHONPATH``."""
    if ":" not in ref or ref in registered():
        return
    from slurm_search.session import use_folder  # the one place that extends PYTHONPATH

    use_folder(os.getcwd(), ref.partition(":")[0])
