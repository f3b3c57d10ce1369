"""What is being evaluated right now: the run, the parameters in effect, and
the memo of nodes already evaluated under those parameters.

Held in context variables, so ``param()`` works anywhere below an evaluation
and threads started by the evaluation do not see a half-set state.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import dataclasses
import types
from collections.abc import Iterator, Mapping
from typing import Any

from ._params import MISSING, get_param

__all__ = ["Run", "current_run", "current_params", "param", "params", "evaluation", "memo", "setting", "settings"]


@dataclasses.dataclass(frozen=True)
class Run:
    """The experiment run that sampling nodes register their sessions in.

    Attributes:
        name: ``exp:NAME`` in the store.
        spec_ref: how a worker process finds the spec again (entry-point
            name or ``package.module:attribute``).
        seed: the run's seed, from which every session seed derives.
        top_params: the run's parameters (the experiment is built under them).
    """

    name: str
    spec_ref: str
    seed: int
    top_params: Mapping[str, Any]


_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("slurm_search_dsl_run", default=None)
_params: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "slurm_search_dsl_params", default=types.MappingProxyType({})
)
# id(node) -> (node, result): nodes reached twice under the same parameters
# are evaluated once, at the first path that reached them.
# (var, value) of each enclosing sampling node's trial, outermost first: what
# a progress line names instead of the AST path's ``@<hash>`` segments.
_settings: contextvars.ContextVar[tuple[tuple[str, Any], ...]] = contextvars.ContextVar(
    "slurm_search_dsl_settings", default=()
)
_memo: contextvars.ContextVar[dict[int, tuple[Any, Any]] | None] = contextvars.ContextVar(
    "slurm_search_dsl_memo", default=None
)


def current_run() -> Run | None:
    """The run being evaluated, or None outside ``run_experiment``."""
    return _run.get()


def current_params() -> Mapping[str, Any]:
    """The parameters in effect (not a copy: do not mutate)."""
    return _params.get()


def param(name: str) -> Any:
    """The value of parameter ``name`` (``a:b`` paths) while evaluating; None if unset."""
    value = get_param(_params.get(), name)
    return None if value is MISSING else copy.deepcopy(value)


def params() -> dict[str, Any]:
    """A copy of all parameters in effect while evaluating."""
    return copy.deepcopy(dict(_params.get()))


def memo() -> dict[int, tuple[Any, Any]]:
    """The memo of the current parameter scope."""
    table = _memo.get()
    if table is None:
        table = {}
        _memo.set(table)
    return table


@contextlib.contextmanager
def evaluation(params: Mapping[str, Any], run: Run | None | object = MISSING) -> Iterator[None]:
    """Evaluate under ``params`` (a new memo scope), and under ``run`` if given."""
    tokens = [(_params, _params.set(params)), (_memo, _memo.set({}))]
    if run is not MISSING:
        tokens.append((_run, _run.set(run)))  # type: ignore[arg-type]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


@contextlib.contextmanager
def setting(var: str, value: Any) -> Iterator[None]:
    """Evaluate inside the trial of a sampling node that drew ``var = value``."""
    token = _settings.set((*_settings.get(), (var, value)))
    try:
        yield
    finally:
        _settings.reset(token)


def settings() -> tuple[tuple[str, Any], ...]:
    """The enclosing sampling nodes' ``(var, value)``, outermost first."""
    return _settings.get()
