"""Checking a run's sampling settings before the run is stored.

A sampling node reads its sample count, method, threads and Slurm options
from parameters only when it runs, which for a nested node is inside every
trial of the node around it, after the run and its sessions were stored.
`check_tree` walks the tree the experiment function built and checks, under
the run's parameters, each setting by its role (`_settings`), and the Slurm
options through the session package's own check. A setting that names a
parameter the run does not have (one that `use(...)` sets on the way down)
is left to the node.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import UnusedParameter
from ._nodes import Node, SamplingNode, children
from ._params import MISSING, get_param
from ._settings import PRUNER_VALUES, check_count, check_method, check_pruner, check_threads, check_timeout
from ._settings import methods as method_words

__all__ = ["check_tree", "check_slurm_used"]

_ROLES = (
    ("sample_count", check_count),
    ("method", check_method),
    ("threads", check_threads),
    ("trial_timeout", check_timeout),
)


def sampling_nodes(tree: Any) -> list[SamplingNode]:
    """Every sampling node of a result tree, once each, outside in."""
    found: list[SamplingNode] = []
    seen: set[int] = set()
    stack = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, Node):
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, SamplingNode):
                found.append(item)
        elif not isinstance(item, (Mapping, list, tuple)):
            continue
        stack.extend(child for _, child in reversed(children(item)))
    return found


def check_tree(tree: Any, params: Mapping[str, Any]) -> None:
    """Refuse a run whose sampling settings cannot work, before it is stored.

    Raises:
        BadValue: a count or a number of threads that is not an integer >= 1
            (``--tune:settings=0``, ``inf``), an unknown method; named after
            the parameter (``--tune:settings``) or the node.
        SessionError: Slurm options that `slurm_search.session` refuses
            (an unknown name, a value that is not one word).
    """
    for node in sampling_nodes(tree):
        where = f"{node.function}({node.var!r})"
        for role, check in _ROLES:
            if role == "sample_count" and node.strategy == "enumeration":
                continue  # the size of the list
            value = getattr(node, role)
            if role == "trial_timeout" and value is None:
                continue
            if isinstance(value, str) and not (role == "method" and value in method_words()):
                found = get_param(params, value)
                if found is MISSING or found is None:
                    continue  # set by use(...) on the way down, or a placeholder: the node checks it
                check(f"--{value}", found)
            else:
                check(f"{where} {role}", value)
        _check_slurm(node, params)
        _check_pruner(node, params, where)


def _check_pruner(node: SamplingNode, params: Mapping[str, Any], where: str) -> None:
    pruner, options = node.pruner, node.pruner_options
    option, options_option = f"{where} pruner", f"{where} pruner_options"
    if isinstance(pruner, str) and pruner not in PRUNER_VALUES:
        option, pruner = f"--{pruner}", get_param(params, pruner)
        if pruner is MISSING:
            return  # set by use(...) on the way down: the node checks it
    if isinstance(options, str):
        options_option, options = f"--{options}", get_param(params, options)
        if options is MISSING:
            return
    check_pruner(option, node.strategy, pruner, options, options_option)


def _check_slurm(node: SamplingNode, params: Mapping[str, Any]) -> None:
    options = node.slurm
    if isinstance(options, str):
        options = get_param(params, options)
        if options is MISSING or options is None:
            return
    from slurm_search.session import workers

    workers.check_slurm_options(options)


def check_slurm_used(tree: Any, params: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse Slurm options given on the command line that no sampling node uses.

    A node reads its Slurm options (the parameter ``slurm``, by default)
    only when its method is ``slurm``; ``--slurm:partition=debug`` with
    every method inline would be ignored without a word.

    Args:
        given: the overrides the user gave, flat (``{"slurm:partition": "debug"}``).

    Raises:
        UnusedParameter: an override under a node's Slurm parameter, when no node
            reading that parameter runs on Slurm.
    """
    used: dict[str, bool] = {}
    known = method_words()
    methods: list[str] = []
    for node in sampling_nodes(tree):
        if not isinstance(node.slurm, str):
            continue
        method = node.method
        if isinstance(method, str) and method not in known:
            methods.append(f"--{method}=slurm")
            method = get_param(params, method)
            if method is MISSING or method is None:
                method = "slurm"  # set by use(...) on the way down: it may be slurm
        used[node.slurm] = used.get(node.slurm, False) or method == "slurm"
    for path, value in given.items():
        for slurm_param, on_slurm in used.items():
            if not on_slurm and (path == slurm_param or path.startswith(slurm_param + ":")):
                how = " or ".join(dict.fromkeys(methods)) or "a sampling method slurm"
                raise UnusedParameter(
                    f"--{path}", value, f"no sampling runs on Slurm here: set {how}, or leave it out"
                )
