"""hyperopt's suggestions and `space_eval`, computed faster, value for value.

hyperopt evaluates every graph with `pyll.rec_eval`, a generic interpreter
that walks the graph again on each call: a dfs, a stack of nodes, a garbage
collector for its memo; `hyperopt.space_eval` adds a networkx toposort, and
`tpe.suggest` rebuilds its posterior graph each time. Per trial, that is
most of a session's CPU.

`evaluate` gives what `rec_eval(expr, memo=memo)` gives, calling the same
functions on the same arguments in the same order (the order matters: the
stochastic nodes draw from one shared numpy Generator). Which functions
rec_eval calls, and in which order, depends only on the graph, on which of
its nodes the initial memo holds and on the values of the `switch` indices
the memo holds (a switch evaluates only its chosen branch). So the walk is
done once, without calling anything, and kept as a flat program keyed by
those; afterwards a call just runs the program. A graph whose walk depends
on a value computed inside it (a switch on a computed index) goes to
rec_eval itself.

On top of it: `space_eval` (the toposort and the label -> node list cached
per space), `rand_vals` and `tpe_vals` (`rand.suggest` and `tpe.suggest`
for one new tid, returning the new trial's `misc["vals"]`; tpe's posterior
graph is built once per Domain, its observed data being placeholders that
the memo fills). Nothing here changes a value: the tests compare them with
hyperopt's for many spaces, tids, seeds and histories.

Importing this module imports hyperopt; only `_space` imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hyperopt import pyll
from hyperopt.base import miscs_to_idxs_vals
from hyperopt.pyll.base import DEFAULT_MAX_PROGRAM_LEN, Apply, Literal

from ._hyperopt_private import literal_value, scope_impl, tpe_defaults

__all__ = ["evaluate", "rand_vals", "space_eval", "tpe_vals"]

# Bounds of the caches (a process holds a few spaces; each entry keeps its graph alive).
_MAX_GRAPHS = 64
_MAX_PROGRAMS = 512


class _Untraceable(Exception):
    """The walk depends on a computed value, or would fail: rec_eval does it.

    `cache` says whether that holds for good (the graph's shape) or may
    change (a function the space calls is not defined yet).
    """

    def __init__(self, cache: bool = True) -> None:
        super().__init__()
        self.cache = cache


class _Graph:
    """A graph's nodes with their inputs (rec_eval's dfs, done once)."""

    __slots__ = ("expr", "inputs", "switches")

    def __init__(self, expr: Apply) -> None:
        self.expr = expr
        self.inputs: dict[Apply, list[Apply]] = {}
        pyll.dfs(expr, [], self.inputs)
        self.switches = [node for node in self.inputs if node.name == "switch"]


# One op: (node, function, positional input nodes, named input nodes, alias).
# A switch whose branch is known is an alias: its value is its branch's.
_Op = tuple[Apply, Any, tuple, tuple, Any]


class _Program:
    __slots__ = ("expr", "literals", "ops")

    def __init__(self, expr: Apply, literals: list[Literal], ops: list[_Op] | None) -> None:
        self.expr = expr  # kept alive: the cache keys hold its id
        self.literals = literals
        self.ops = ops  # None: rec_eval evaluates this graph with this memo


_graphs: dict[int, _Graph] = {}
_programs: dict[tuple, _Program] = {}


def _graph(expr: Apply) -> _Graph:
    graph = _graphs.get(id(expr))
    if graph is None or graph.expr is not expr:
        if len(_graphs) >= _MAX_GRAPHS:
            _graphs.clear()
        graph = _graphs[id(expr)] = _Graph(expr)
    return graph


def _switch_index(value: Any) -> int | None:
    """rec_eval's reading of a switch index; None where rec_eval raises."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.item()
    if not isinstance(value, (int, np.integer)) or value != int(value) or int(value) < 0:
        return None
    return int(value)


def _trace(graph: _Graph, memo: dict, branches: dict[Apply, int]) -> _Program:
    """rec_eval's walk of the graph from this memo, calling nothing."""
    known = {node for node in graph.inputs if node in memo}
    inputs = graph.inputs
    literals: list[Literal] = []
    ops: list[_Op] = []
    todo = [graph.expr]
    while todo:
        if len(todo) > DEFAULT_MAX_PROGRAM_LEN:
            raise _Untraceable()  # rec_eval raises "Probably infinite loop"
        node = todo.pop()
        if node in known:
            continue
        if node.name == "switch":
            index_node = node.pos_args[0]
            if index_node in known:
                if node not in branches:
                    raise _Untraceable()  # a computed index: its value decides the walk
                position = branches[node] + 1
                if position >= len(node.pos_args):
                    raise _Untraceable()  # rec_eval raises IndexError
                branch = node.pos_args[position]
                if branch in known:
                    ops.append((node, None, (), (), branch))
                    known.add(node)
                    continue
                waiting = [branch]
            else:
                waiting = [index_node]
        elif isinstance(node, Literal):
            literals.append(node)
            known.add(node)
            continue
        else:
            waiting = [v for v in inputs[node] if v not in known]
        if waiting:
            todo.append(node)
            todo.extend(waiting)
        else:
            impl = scope_impl(node.name)
            if impl is None:
                raise _Untraceable(cache=False)  # rec_eval raises its KeyError
            named = tuple((k, v) for k, v in node.named_args)
            ops.append((node, impl, tuple(node.pos_args), named, None))
            known.add(node)
    return _Program(graph.expr, literals, ops)


def _program(expr: Apply, memo: dict) -> _Program:
    graph = _graph(expr)
    branches: dict[Apply, int] = {}
    for switch in graph.switches:
        index_node = switch.pos_args[0]
        if index_node in memo:
            index = _switch_index(memo[index_node])
            if index is None:
                return _Program(expr, [], None)
            branches[switch] = index
    key = (id(expr), frozenset(map(id, memo)), tuple(branches.values()))
    program = _programs.get(key)
    if program is not None and program.expr is expr:
        return program
    try:
        program = _trace(graph, memo, branches)
    except _Untraceable as err:
        program = _Program(expr, [], None)
        if not err.cache:
            return program
    if len(_programs) >= _MAX_PROGRAMS:
        _programs.clear()
    _programs[key] = program
    return program


def evaluate(expr: Any, memo: dict) -> Any:
    """`pyll.rec_eval(expr, memo=memo, print_node_on_error=False)`, faster.

    Exceptions of the graph's functions propagate as from rec_eval.
    """
    if not isinstance(expr, Apply):
        expr = pyll.as_apply(expr)
    program = _program(expr, memo)
    if program.ops is None:
        return pyll.rec_eval(expr, memo=memo, print_node_on_error=False)
    values = dict(memo)
    for literal in program.literals:
        values[literal] = literal_value(literal)
    for node, impl, pos, named, alias in program.ops:
        if impl is None:
            values[node] = values[alias]
            continue
        if named:
            rval = impl(*[values[v] for v in pos], **{k: values[v] for k, v in named})
        else:
            rval = impl(*[values[v] for v in pos])
        if isinstance(rval, Apply):
            # A function returning a graph (a Lambda): rec_eval evaluates it
            # with its memo so far, as rec_eval does.
            rval = pyll.rec_eval(rval, False, values, memo_gc=False)
        values[node] = rval
    return values[expr]


# -- space_eval ---------------------------------------------------------------

_spaces: dict[int, tuple[Any, Apply, list[tuple[Any, Apply]]]] = {}


def space_eval(space: Any, hp_assignment: dict) -> Any:
    """`hyperopt.space_eval(space, hp_assignment)`, faster.

    The space's graph and its labelled nodes are cached per space object:
    the space must not change once given here (the session's never does).
    """
    entry = _spaces.get(id(space))
    if entry is None or entry[0] is not space:
        expr = pyll.as_apply(space)
        labelled = [
            (node.arg["label"].eval(), node)
            for node in pyll.toposort(expr)
            if node.name == "hyperopt_param"
        ]
        if len(_spaces) >= _MAX_GRAPHS:
            _spaces.clear()
        entry = _spaces[id(space)] = (space, expr, labelled)
    _, expr, labelled = entry
    memo = {node: hp_assignment[label] for label, node in labelled if label in hp_assignment}
    return evaluate(expr, memo)


# -- suggestions ----------------------------------------------------------------


def _new_vals(
    idxs: dict, vals: dict, tid: int, idxs_map: dict | None = None, assert_all_vals_used: bool = True
) -> dict:
    """`miscs_update_idxs_vals` for the one new trial `tid`: its misc["vals"]."""
    idxs_map = idxs_map or {}
    assert set(idxs.keys()) == set(vals.keys())
    new: dict[Any, list] = {key: [] for key in idxs}
    for key in idxs:
        assert len(idxs[key]) == len(vals[key])
        for i, val in zip(idxs[key], vals[key]):
            i = idxs_map.get(i, i)
            if i == tid:
                new[key] = [val]
            elif assert_all_vals_used:
                raise KeyError(i)  # hyperopt's misc_by_id[i]
    return new


def rand_vals(domain: Any, tid: int, seed: int) -> dict:
    """`rand.suggest([tid], domain, trials, seed)[0]["misc"]["vals"]`."""
    rng = np.random.default_rng(seed)
    idxs, vals = evaluate(domain.s_idxs_vals, {domain.s_new_ids: [tid], domain.s_rng: rng})
    return _new_vals(idxs, vals, tid)


def _idxs_vals(miscs: list[dict], keys: list) -> tuple[dict, dict]:
    """`miscs_to_idxs_vals(miscs, keys=keys)`, label by label (the same lists, faster)."""
    idxs: dict[Any, list] = {}
    vals: dict[Any, list] = {}
    for key in keys:
        key_idxs: list = []
        key_vals: list = []
        for misc in miscs:
            t_idxs = misc["idxs"][key]
            t_vals = misc["vals"][key]
            if t_idxs:
                if len(t_idxs) != 1 or len(t_vals) != 1 or t_idxs[0] != misc["tid"]:
                    return miscs_to_idxs_vals(miscs, keys=keys)  # raises its AssertionError
                key_idxs.append(t_idxs[0])
                key_vals.append(t_vals[0])
            elif t_vals:
                return miscs_to_idxs_vals(miscs, keys=keys)
        idxs[key] = key_idxs
        vals[key] = key_vals
    return idxs, vals


# Domain id -> (domain, observed, observed_loss, posterior graph).
_posteriors: dict[int, tuple[Any, dict, dict, Apply]] = {}


def _posterior(domain: Any, prior_weight: float, gamma: float) -> tuple[dict, dict, Apply]:
    from hyperopt import tpe

    key = id(domain)
    entry = _posteriors.get(key)
    if entry is None or entry[0] is not domain:
        observed, observed_loss, posterior = tpe.build_posterior_wrapper(domain, prior_weight, gamma)
        if len(_posteriors) >= _MAX_GRAPHS:
            _posteriors.clear()
        entry = _posteriors[key] = (domain, observed, observed_loss, pyll.as_apply(posterior))
    return entry[1], entry[2], entry[3]


def tpe_vals(domain: Any, trials: Any, tid: int, seed: int) -> dict:
    """`tpe.suggest([tid], domain, trials, seed)[0]["misc"]["vals"]`, hyperopt's defaults."""
    defaults = tpe_defaults()
    prior_weight = defaults["prior_weight"]
    n_startup_jobs = defaults["n_startup_jobs"]
    n_EI_candidates = defaults["n_EI_candidates"]
    gamma = defaults["gamma"]

    best_docs: dict = {}
    best_docs_loss: dict = {}
    for doc in trials.trials:
        doc_tid = doc["misc"].get("from_tid", doc["tid"])
        loss = doc["result"].get("loss")
        loss = float("inf") if loss is None else float(loss)
        best_docs_loss.setdefault(doc_tid, loss)
        if loss <= best_docs_loss[doc_tid]:
            best_docs_loss[doc_tid] = loss
            best_docs[doc_tid] = doc
    tid_docs = sorted(best_docs.items())
    losses = [best_docs_loss[t] for t, _ in tid_docs]
    tids, docs = list(zip(*tid_docs)) if tid_docs else ([], [])

    if len(docs) < n_startup_jobs:
        return rand_vals(domain, tid, seed)

    observed, observed_loss, posterior = _posterior(domain, prior_weight, gamma)
    if tids:
        fake_id_0 = max(max(tids), tid) + 2
    else:
        assert n_startup_jobs <= 0
        fake_id_0 = tid + 2
    fake_ids = list(range(fake_id_0, fake_id_0 + n_EI_candidates))

    memo = {domain.s_new_ids: fake_ids, domain.s_rng: np.random.default_rng(seed)}
    memo[observed_loss["idxs"]] = tids
    memo[observed_loss["vals"]] = losses
    observed_idxs, observed_vals = _idxs_vals([doc["misc"] for doc in docs], list(domain.params.keys()))
    memo[observed["idxs"]] = observed_idxs
    memo[observed["vals"]] = observed_vals
    idxs, vals = evaluate(posterior, memo)

    for label, param in domain.params.items():
        if param.name == "randint" and len(param.pos_args) == 2:
            offset = param.pos_args[0].obj
            vals[label] = [val + offset for val in vals[label]]
    return _new_vals(idxs, vals, tid, {fake_ids[0]: tid}, assert_all_vals_used=False)
