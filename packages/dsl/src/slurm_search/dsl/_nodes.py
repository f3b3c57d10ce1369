"""The AST of the experiment language.

Building an experiment calls functions that return nodes instead of running;
evaluating the tree walks it with an AST path (a list of segments naming each
child on the way down). A sampling node keys its search session by that path,
which is what lets a resumed run, or a worker process that rebuilt the tree,
find the same session and the same node again. ``navigate`` follows a path
back to its node; the segment names are the children's names below.

Segments: a result key; a call argument's name; ``use_arg`` / ``use_val``;
a measure path (``argmax:mean``) for the node it measures; ``@<key>`` for a
sampling node's inner expression at the sampled point ``<key>``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import _display, _runtime
from ._context import STRATEGIES
from ._errors import BadValue, SpecError
from ._measures import select, split_path
from ._params import MISSING, get_param, has_param, with_param
from ._sampling import run_sampling
from ._settings import (
    PRUNER_VALUES,
    check_count,
    check_method,
    check_pbt,
    check_pruner,
    check_threads,
    check_timeout,
    methods,
)
from ._typos import near_parameters

__all__ = [
    "Node",
    "CallNode",
    "UseNode",
    "MeasureNode",
    "SamplingNode",
    "accepts_param_names",
    "use",
    "random_sampling",
    "enumeration_sampling",
    "minimizing_sampling",
    "maximizing_sampling",
    "evaluate_tree",
    "navigate",
    "children",
]


class Node:
    """A node of the experiment's AST. ``node[measure_path]`` measures its result.

    ``str(node)`` is its expression and ``node.abstract()`` its equation
    (both drawn by `_display`, which knows a node by its ``kind``).
    """

    kind = "node"

    def evaluate(self, path: Sequence[str]) -> Any:
        """The node's value under the parameters in effect (memoised per scope)."""
        table = _runtime.memo()
        hit = table.get(id(self))
        if hit is not None:
            return hit[1]
        value = self._evaluate(list(path))
        table[id(self)] = (self, value)
        return value

    def _evaluate(self, path: list[str]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def child(self, segment: str) -> Any:
        """The child that ``segment`` names (``KeyError`` if none)."""
        for name, value in self.children():
            if name == segment:
                return value
        raise KeyError(segment)

    def children(self) -> list[tuple[str, Any]]:
        """``(segment, child)`` pairs, nodes and plain values alike."""
        return []

    def __getitem__(self, measure: str | tuple[str]) -> MeasureNode:
        if isinstance(measure, tuple):
            (measure,) = measure
        return MeasureNode(self, measure)

    def __str__(self) -> str:
        return _display.expression(self)

    def abstract(self, measure: list[str] | None = None) -> str:
        """The node as an equation; ``measure`` is the measure path applied to it."""
        return _display.equation(self, measure)


class CallNode(Node):
    """A call of an ``@accepts_param_names`` function, made at evaluation."""

    kind = "call"

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.func = func
        try:
            self.arguments = dict(inspect.signature(func).bind(*args, **kwargs).arguments)
        except TypeError as err:
            raise SpecError(getattr(func, "__qualname__", repr(func)), f"bad arguments: {err}") from None
        self.args = args
        self.kwargs = kwargs

    def children(self) -> list[tuple[str, Any]]:
        return list(self.arguments.items())

    def _evaluate(self, path: list[str]) -> Any:
        bound = {}
        current = _runtime.current_params()
        for name, value in self.arguments.items():
            if isinstance(value, Node):
                value = value.evaluate(path + [name])
            elif isinstance(value, str):
                value = _param_or_self(current, value)
            bound[name] = value
        try:
            return self.func(**bound)
        except Exception as err:
            # A string left as itself one edit away from a parameter is
            # probably a misspelt parameter name: say so in the traceback.
            for note in near_parameters(current, self.arguments.values()):
                err.add_note(note)
            raise

    @property
    def name(self) -> str:
        return getattr(self.func, "__name__", "call")


def _param_or_self(current: Mapping[str, Any], text: str) -> Any:
    """A string argument: the parameter it names, else ``<stem>`` for ``<stem>_params``, else itself."""
    value = get_param(current, text)
    if value is MISSING and text.endswith("_params"):
        value = get_param(current, text[: -len("_params")])
    return text if value is MISSING else value


def accepts_param_names(func: Callable[..., Any]) -> Callable[..., CallNode]:
    """Make ``func`` build a node: at evaluation, string arguments naming a
    parameter are replaced by its value and node arguments are evaluated first."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> CallNode:
        return CallNode(func, args, kwargs)

    return wrapper


class UseNode(Node):
    """``use(param, value)[expr]``: ``expr`` with one parameter overridden."""

    kind = "use"

    def __init__(self, param: str, value: Any, expr: Any = None) -> None:
        self.param = param
        self.value = value
        self.expr = expr

    def __getitem__(self, arg: Any) -> Any:  # this node, once its expression is given
        if self.expr is None:
            self.expr = arg
            return self
        # A measure of the whole use(...)[...] rather than a new use node
        # around a measure of its body: the body is evaluated (and its
        # sessions created) once, however many measures are taken of it.
        return MeasureNode(self, arg)

    def children(self) -> list[tuple[str, Any]]:
        return [("use_arg", self.value), ("use_val", self.expr)]

    def _evaluate(self, path: list[str]) -> Any:
        if self.expr is None:
            raise SpecError(f"use({self.param!r}, ...)", "no expression: write use(param, value)[expression]")
        value = self.value.evaluate(path + ["use_arg"]) if isinstance(self.value, Node) else self.value
        new_params = with_param(_runtime.current_params(), self.param, value)
        with _runtime.evaluation(new_params):
            return evaluate_tree(self.expr, path + ["use_val"])


def use(param: str, value: Any) -> UseNode:
    """``use(param, value)[expr]`` evaluates ``expr`` with ``param`` set to ``value`` (maybe a node)."""
    return UseNode(param, value)


class MeasureNode(Node):
    """``node["argmax:mean"]``: a measure path applied to a node's sampling results."""

    kind = "measure"

    def __init__(self, expr: Node, measure: str) -> None:
        self.expr = expr
        self.measure = split_path(measure)

    @property
    def text(self) -> str:
        return ":".join(self.measure)

    def children(self) -> list[tuple[str, Any]]:
        return [(self.text, self.expr)]

    def _evaluate(self, path: list[str]) -> Any:
        return select(self.expr.evaluate(path + [self.text]), self.measure)


class SamplingNode(Node):
    """Sample a variable from its space, evaluate ``expr`` at each sample
    through a search session, and give the ``SamplingResults``."""

    kind = "sampling"

    def __init__(
        self,
        var_space: str | tuple[str, Any],
        expr: Any,
        strategy: str,
        sample_count: int | str | None = None,
        method: str = "inline",
        threads: int | str = 1,
        measure: str | None = None,
        slurm: str | Mapping[str, Any] = "slurm",
        trial_timeout: float | str | None = None,
        pruner: str | None = None,
        pruner_options: str | Mapping[str, Any] | None = None,
        algo: str | None = None,
        pbt_options: str | Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(var_space, tuple):
            self.var, self.space = var_space
        else:
            self.var, self.space = var_space, f"{var_space}_space"
        if not isinstance(self.var, str):
            raise SpecError(repr(var_space), "the sampled variable must be a parameter name")
        self.expr = expr
        self.strategy = strategy
        self.sample_count = sample_count
        self.method = method
        self.threads = threads
        self.measure = split_path(measure) if measure else None
        self.slurm = slurm
        self.trial_timeout = trial_timeout
        self.pruner = pruner
        self.pruner_options = pruner_options
        self.algo = algo
        self.pbt_options = pbt_options

    @property
    def function(self) -> str:
        return STRATEGIES[self.strategy][0]

    def children(self) -> list[tuple[str, Any]]:
        return [("@", self.expr)]

    def child(self, segment: str) -> Any:
        if segment.startswith("@"):
            return self.expr
        raise KeyError(segment)

    def bind(self) -> dict[str, Any]:
        """The node's settings with parameter names replaced by their values.

        Raises:
            BadValue: a setting names no parameter or has the wrong kind.
        """
        current = _runtime.current_params()
        where = f"{self.function}({self.var!r})"

        def lookup(value: Any, what: str) -> Any:
            words = methods() if what == "method" else {"pruner": PRUNER_VALUES}.get(what, ())
            if isinstance(value, str) and value not in words:
                found = get_param(current, value)
                if found is MISSING:
                    raise BadValue(
                        f"{where} {what}",
                        value,
                        f"{ {'pruner': 'none, median, asha'}.get(what, 'a value') } or the name of a parameter",
                    )
                return found
            return value

        space = lookup(self.space, "space")
        if self.strategy == "enumeration":
            if not isinstance(space, (list, tuple)) or not space:
                raise BadValue(f"{where} space", space, "a non-empty list to enumerate")
            count: Any = len(space)
        else:
            count = lookup(self.sample_count, "sample_count")
        check_count(f"{where} sample_count", count)
        method = check_method(f"{where} method", lookup(self.method, "method"))
        threads = check_threads(f"{where} threads", lookup(self.threads, "threads"))
        timeout = check_timeout(
            f"{where} trial_timeout",
            None if self.trial_timeout is None else lookup(self.trial_timeout, "trial_timeout"),
        )
        options = (
            get_param(current, self.pruner_options) if isinstance(self.pruner_options, str) else self.pruner_options
        )
        pruner = check_pruner(f"{where} pruner", self.strategy, lookup(self.pruner, "pruner"), options)
        algo = getattr(self, "algo", None)  # (nodes pickled before PBT have none)
        pbt_options = getattr(self, "pbt_options", None)
        if isinstance(pbt_options, str):
            pbt_options = get_param(current, pbt_options)
        pbt = check_pbt(where, self.strategy, algo, pbt_options, count, pruner)
        slurm = self.slurm
        if isinstance(slurm, str):
            slurm = get_param(current, slurm) if has_param(current, slurm) else {}
        return {
            "space": space,
            "sample_count": count,
            "method": method,
            "threads": threads,
            "slurm": dict(slurm or {}),
            "trial_timeout": timeout,
            "pruner_and_options": pruner,  # (name or None, options or None)
            "pbt": pbt,
        }

    def _evaluate(self, path: list[str]) -> Any:
        return run_sampling(self, self.bind(), path)


def _sampling(strategy: str) -> Callable[..., SamplingNode]:
    def build(
        var_space: str | tuple[str, Any],
        expr: Any,
        sample_count: int | str | None = None,
        method: str = "inline",
        threads: int | str = 1,
        slurm: str | Mapping[str, Any] = "slurm",
        trial_timeout: float | str | None = None,
        pruner: str | None = None,
        pruner_options: str | Mapping[str, Any] | None = None,
        algo: str | None = None,
        pbt_options: str | Mapping[str, Any] | None = None,
        **measure: str,
    ) -> SamplingNode:
        keyword = {"minimize": "minimize_measure", "maximize": "maximize_measure"}.get(strategy)
        unknown = set(measure) - ({keyword} if keyword else set())
        if unknown:
            raise SpecError(STRATEGIES[strategy][0], f"unexpected argument(s) {', '.join(sorted(unknown))}")
        return SamplingNode(
            var_space,
            expr,
            strategy,
            sample_count=sample_count,
            method=method,
            threads=threads,
            measure=measure.get(keyword) if keyword else None,
            slurm=slurm,
            trial_timeout=trial_timeout,
            pruner=pruner,
            pruner_options=pruner_options,
            algo=algo,
            pbt_options=pbt_options,
        )

    build.__name__ = STRATEGIES[strategy][0]
    build.__doc__ = (
        f"``{STRATEGIES[strategy][0]}(var_or_(var, space_param), expr, sample_count=, method=, threads=, "
        "trial_timeout=, pruner=, pruner_options=, algo=, pbt_options=)``: "
        f"sample ``var`` ({strategy}) from its space (default: parameter ``<var>_space``) and "
        "evaluate ``expr`` at each sample through a search session."
    )
    return build


random_sampling = _sampling("random")
enumeration_sampling = _sampling("enumeration")
minimizing_sampling = _sampling("minimize")
maximizing_sampling = _sampling("maximize")


def evaluate_tree(tree: Any, path: Sequence[str]) -> Any:
    """Evaluate nodes inside ``tree`` (a node, or dicts/lists of nodes and values)."""
    path = list(path)
    if isinstance(tree, Node):
        return tree.evaluate(path)
    if isinstance(tree, Mapping):
        return {key: evaluate_tree(value, path + [str(key)]) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(evaluate_tree(value, path + [str(i)]) for i, value in enumerate(tree))
    return tree


def children(tree: Any) -> list[tuple[str, Any]]:
    """``(segment, child)`` pairs of a node or of a dict/list of the result tree."""
    if isinstance(tree, Node):
        return tree.children()
    if isinstance(tree, Mapping):
        return [(str(k), v) for k, v in tree.items()]
    if isinstance(tree, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(tree)]
    return []


def navigate(tree: Any, path: Sequence[str]) -> Any:
    """The node that ``path`` reaches from the root ``tree``.

    Raises:
        KeyError: the path leads nowhere in this tree (the experiment changed).
    """
    node = tree
    for segment in path:
        if isinstance(node, Node):
            node = node.child(segment)
        else:
            node = dict(children(node))[segment]
    return node
