"""Checking an RL experiment's parameters before anything runs.

A typo in ``--agent`` or a hyperparameter the preset does not take would
otherwise surface as failed trials on the workers, minutes or hours later.
The experiment functions call ``check_params()`` first: it runs when
``run_exp`` builds the experiment, and raises the DSL's ``BadValue``, which
``run_exp`` prints as one line (exit status 1). It needs neither torch nor
ALL's import (preset names and hyperparameters are read from its sources).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slurm_search.dsl import BadValue, param

from ._errors import BadRunParams, UnknownAgent, UnknownEnvironment
from ._legacy import modern_hyperparameters
from ._names import AgentName, parse_agent, parse_env, parse_run_params, preset_hyperparameter_names

__all__ = ["check_params"]


def _values(single: str, many: str) -> list[tuple[str, Any]]:
    """``[(option, value), …]`` of a parameter or of the list that is enumerated instead."""
    values = param(many)
    if isinstance(values, (list, tuple)):
        return [(f"--{many}", value) for value in values]
    value = param(single)
    return [] if value is None else [(f"--{single}", value)]


def _spaces() -> list[tuple[str, Mapping[str, Any]]]:
    spaces = []
    if isinstance(param("hp_space"), Mapping):
        spaces.append(("--hp_space", param("hp_space")))
    for name, space in (param("hp_spaces") or {}).items():
        if isinstance(space, Mapping):
            spaces.append((f"--hp_spaces:{name}", space))
    return spaces


def check_params() -> list[AgentName]:
    """Check the agents, environments, hyperparameter spaces and run
    parameters in effect.

    Returns:
        The parsed agents.

    Raises:
        BadValue: naming the parameter, the value and the valid choices.
    """
    agents = []
    for option, value in _values("agent", "agent_space"):
        try:
            agents.append(parse_agent(value))
        except UnknownAgent as err:
            raise BadValue(option, value, f"one of {', '.join(err.choices)}") from None
    real = [agent for agent in agents if not agent.is_debug]
    for option, value in _values("env", "env_space"):
        try:
            # Checked for debug agents too: they name it in results and plots.
            parse_env(value, installed_only=not real)
        except UnknownEnvironment as err:
            raise BadValue(option, value, f"one of {', '.join(err.choices)}") from None
    for agent in real:
        takes = preset_hyperparameter_names(agent)
        for option, space in _spaces():
            unknown = sorted(set(modern_hyperparameters(str(agent), dict.fromkeys(space), takes)) - set(takes))
            if unknown:
                raise BadValue(
                    option, ",".join(unknown), f"hyperparameters that {agent} takes: {', '.join(takes)}"
                )
    # The original's experiments name them run_params, ours run.
    key = "run_params" if param("run_params") is not None else "run"
    try:
        parse_run_params(param(key))
    except BadRunParams as err:
        raise BadValue(f"--{key}:{err.key}", err.value, err.expected) from None
    return agents


def check_agent_space(agent: str, space_param: str) -> None:
    """Check that the agent takes every hyperparameter of the space
    ``space_param`` (an agent with its own space, as in gen_benchmark).

    Raises:
        BadValue: naming the space, the hyperparameters and the ones the agent takes.
    """
    try:
        parsed = parse_agent(agent)
    except UnknownAgent as err:
        raise BadValue("--benchmark_agents", agent, f"one of {', '.join(err.choices)}") from None
    space = param(space_param)
    if parsed.is_debug or not isinstance(space, Mapping):
        return
    takes = preset_hyperparameter_names(parsed)
    unknown = sorted(set(modern_hyperparameters(str(parsed), dict.fromkeys(space), takes)) - set(takes))
    if unknown:
        raise BadValue(f"--{space_param}", ",".join(unknown), f"hyperparameters that {agent} takes: {', '.join(takes)}")
