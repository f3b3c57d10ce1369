"""What an ALL agent learned, as plain state dicts: saved in a trial's
checkpoint, loaded into a freshly built agent when the trial resumes.

An agent is a small graph of ALL objects (agent, Approximations, target
networks, policies, schedules, replay buffers). The graph is walked the same
way on the agent that is saved and on the fresh one, from the agent through
the attributes of ALL's objects, and each slot is named by its path
(``agent.v._optimizer``):

* every torch module (models, target networks), optimiser and learning-rate
  schedule: its ``state_dict``;
* every number held by an ALL object: update counters, exploration
  schedules' steps, SAC's temperature, hyperparameters;
* with ``replay=True``, the replay buffers (``ExperienceReplayBuffer`` and
  its kin): their transitions and positions.

Left out, on purpose: what describes the rollout in progress (the last
state and action, an A2C/PPO n-step buffer, VPG's trajectories, the frame
stacks of Atari bodies), since a resumed run restarts its environments'
episodes; loggers and environments. Without the replay buffer, a DQN-like
agent's frame counter is not restored either: it refills its buffer for
``replay_start_size`` frames before it trains again (it would otherwise
sample an empty buffer).

This module imports torch: only `_training` imports it.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from ._errors import CheckpointMismatch

__all__ = ["agent_state", "load_agent_state", "load_rng_state", "rng_state"]

# The rollout in progress: restarted with the episodes, never restored.
TRANSIENT = frozenset({
    "_state", "_action", "_states", "_actions", "_buffer", "_features", "_distribution",
    "_trajectories", "_log_pis", "_rewards", "_current_batch_size", "_cache", "_noise",
})
_SKIPPED_PACKAGES = ("all.logging", "all.environments")
_PLAIN = (bool, int, float, np.integer, np.floating)


def _package(obj: Any) -> str:
    return type(obj).__module__ or ""


def _is_all(obj: Any) -> bool:
    package = _package(obj)
    return package == "all" or package.startswith("all.")


def _replay_buffer(obj: Any) -> bool:
    from all.memory import ReplayBuffer

    return isinstance(obj, ReplayBuffer)


def _slots(root: Any, replay: bool) -> Iterator[tuple[str, str, Any, str | None]]:
    """(path, kind, object, attribute) of every slot, in a fixed order.

    kind: ``module``, ``optimizer``, ``lr_scheduler`` (the object has a
    state_dict), ``value`` (``object.attribute`` is a number), ``replay``.
    """
    seen: set[int] = set()

    def walk(obj: Any, path: str) -> Iterator[tuple[str, str, Any, str | None]]:
        if id(obj) in seen:
            return
        if isinstance(obj, torch.nn.Module):
            seen.add(id(obj))
            yield path, "module", obj, None
            return
        if isinstance(obj, torch.optim.Optimizer):
            seen.add(id(obj))
            yield path, "optimizer", obj, None
            return
        if isinstance(obj, torch.optim.lr_scheduler.LRScheduler):
            seen.add(id(obj))
            yield path, "lr_scheduler", obj, None
            return
        if isinstance(obj, (list, tuple)):
            for index, item in enumerate(obj):
                yield from walk(item, f"{path}[{index}]")
            return
        if isinstance(obj, dict) and not _is_all(obj):
            for key, item in obj.items():
                yield from walk(item, f"{path}[{key!r}]")
            return
        if not _is_all(obj) or _package(obj).startswith(_SKIPPED_PACKAGES):
            return
        seen.add(id(obj))
        if _replay_buffer(obj):
            if replay:
                yield path, "replay", obj, None
            return
        if _package(obj).startswith("all.memory"):
            return  # an n-step rollout buffer: the rollout in progress
        attributes = vars(obj)  # never getattr: a Schedulable's schedule would step
        if _package(obj).startswith("all.bodies"):
            attributes = {"_agent": attributes["_agent"]} if "_agent" in attributes else {}
        for name, value in attributes.items():
            if name in TRANSIENT:
                continue
            if name == "_frames_seen" and not replay and "replay_buffer" in attributes:
                continue
            if isinstance(value, _PLAIN):
                yield f"{path}.{name}", "value", obj, name
            else:
                yield from walk(value, f"{path}.{name}")

    yield from walk(root, "agent")


def _replay_contents(buffer: Any) -> dict[str, Any]:
    """A replay buffer's transitions and counters (not its devices, schedules or logger)."""
    from all.optim.scheduler import Scheduler

    out: dict[str, Any] = {}
    for name, value in vars(buffer).items():
        if name in ("device", "store_device") or name in TRANSIENT or isinstance(value, Scheduler):
            continue
        if _replay_buffer(value):
            out[name] = {"__replay__": _replay_contents(value)}
        elif not _is_all(value) or _package(value).startswith("all.memory") or _package(value) == "all.core.state":
            out[name] = value
    return out


def _load_replay(buffer: Any, contents: dict[str, Any]) -> None:
    attributes = vars(buffer)
    for name, value in contents.items():
        if isinstance(value, dict) and "__replay__" in value:
            _load_replay(attributes[name], value["__replay__"])
        else:
            attributes[name] = value


def agent_state(agent: Any, replay: bool = False) -> dict[str, dict[str, Any]]:
    """The agent's learned state: ``{kind: {path: state}}`` (see the module's docstring)."""
    state: dict[str, dict[str, Any]] = {"module": {}, "optimizer": {}, "lr_scheduler": {}, "value": {}, "replay": {}}
    for path, kind, obj, attribute in _slots(agent, replay):
        if kind == "value":
            state[kind][path] = vars(obj)[attribute]
        elif kind == "replay":
            state[kind][path] = _replay_contents(obj)
        else:
            state[kind][path] = obj.state_dict()
    return state


def load_agent_state(agent: Any, state: dict[str, dict[str, Any]]) -> None:
    """Load `agent_state`'s result into an agent built the same way.

    Raises:
        CheckpointMismatch: a saved slot has no counterpart here, or a state dict does not fit.
    """
    replay = bool(state.get("replay"))
    slots = {path: (kind, obj, attribute) for path, kind, obj, attribute in _slots(agent, replay)}
    for kind, saved in state.items():
        for path, value in saved.items():
            found = slots.get(path)
            if found is None or found[0] != kind:
                raise CheckpointMismatch(f"the checkpoint's {kind} {path} has no counterpart in this agent")
            _, obj, attribute = found
            try:
                if kind == "value":
                    vars(obj)[attribute] = value
                elif kind == "replay":
                    _load_replay(obj, value)
                else:
                    obj.load_state_dict(value)
            except (RuntimeError, ValueError, KeyError) as err:
                raise CheckpointMismatch(f"the checkpoint's {kind} {path} does not fit: {err}") from err


def rng_state(envs: list[Any]) -> dict[str, Any]:
    """The random states a training draws from: Python's, numpy's, torch's (and
    CUDA's), and each environment copy's generators (gymnasium's ``np_random``
    and its action space's)."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "envs": [(env.env.unwrapped.np_random, env.env.action_space.np_random) for env in envs],
    }


def load_rng_state(state: dict[str, Any], envs: list[Any]) -> None:
    """Set the random states `rng_state` saved (the environments' when their count matches)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    saved = state.get("envs") or []
    if len(saved) == len(envs):
        for env, (generator, action_generator) in zip(envs, saved):
            env.env.unwrapped.np_random = generator
            env.env.action_space._np_random = action_generator


def hyperparameter_slots(agent: Any, names: Iterable[str]) -> dict[str, Any]:
    """The agent's own values of the hyperparameters ``names``, to put back
    (`restore_hyperparameters`) after loading another agent's state: a PBT
    member that takes a better member's checkpoint keeps its new
    hyperparameters. ``lr``: every optimiser's learning rate (and a
    scheduler's base rates); any other name: the plain values of ALL's
    objects stored under that attribute name (``entropy_loss_scaling``,
    ``_clip_grad``)."""
    wanted = set(names)
    kept: dict[str, Any] = {}
    for path, kind, obj, attribute in _slots(agent, replay=False):
        if kind == "value" and attribute is not None and attribute.lstrip("_") in wanted:
            kept[path] = vars(obj)[attribute]
        elif kind == "optimizer" and "lr" in wanted:
            kept[path] = [(group.get("lr"), group.get("initial_lr")) for group in obj.param_groups]
        elif kind == "lr_scheduler" and "lr" in wanted:
            kept[path] = list(obj.base_lrs)
    return kept


def restore_hyperparameters(agent: Any, kept: dict[str, Any]) -> None:
    """Put back what `hyperparameter_slots` took."""
    for path, kind, obj, attribute in _slots(agent, replay=False):
        if path not in kept:
            continue
        if kind == "value" and attribute is not None:
            vars(obj)[attribute] = kept[path]
        elif kind == "optimizer":
            for group, (lr, initial) in zip(obj.param_groups, kept[path]):
                if lr is not None:
                    group["lr"] = lr
                if initial is not None:
                    group["initial_lr"] = initial
        elif kind == "lr_scheduler":
            obj.base_lrs = list(kept[path])
