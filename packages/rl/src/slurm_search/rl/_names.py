"""Agent and environment names (``classic:a2c``, ``atari:Breakout``, ``debug2``)
and the run parameters, parsed and checked without importing torch.

An agent is ``<family>:<preset>`` where the family picks one of ALL's preset
modules, or a debug agent ``debug``, ``debug1``, ``debug2``, …  An environment
is ``classic:<gymnasium id>``, ``continuous:<gymnasium id>`` or
``atari:<game>`` (ALE's ``<game>NoFrameskip-v4``).
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.util
import logging
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ._errors import BadRunParams, UnknownAgent, UnknownEnvironment

__all__ = [
    "AGENT_FAMILIES",
    "ENV_FAMILIES",
    "AgentName",
    "EnvName",
    "RunParams",
    "parse_agent",
    "parse_env",
    "parse_run_params",
    "preset_hyperparameter_defaults",
    "preset_hyperparameter_names",
    "preset_names",
    "run_seed",
]

logger = logging.getLogger(__name__)

# Family prefix -> ALL's preset module (all.presets.<module>).
AGENT_FAMILIES = {"classic": "classic_control", "atari": "atari", "continuous": "continuous"}
ENV_FAMILIES = ("classic", "atari", "continuous")
_DEBUG_AGENT = re.compile(r"debug[0-9]*")
_ENV_FORMS = ["classic:<gymnasium id>", "atari:<game>", "continuous:<gymnasium id>"]
RUN_PARAM_KEYS = (
    "train_frames",
    "train_episodes",
    "test_episodes",
    "device",
    "delay",
    "logdir",
    "threads",
    "report_every",
    "checkpoint_every",
    "checkpoint_replay_buffer",
)


@dataclass(frozen=True)
class AgentName:
    """A parsed agent name: ``family`` is ``debug`` for the debug agents."""

    family: str
    preset: str

    @property
    def is_debug(self) -> bool:
        return self.family == "debug"

    def __str__(self) -> str:
        return self.preset if self.is_debug else f"{self.family}:{self.preset}"


@dataclass(frozen=True)
class EnvName:
    """A parsed environment name."""

    family: str
    name: str

    def __str__(self) -> str:
        return f"{self.family}:{self.name}"


@dataclass(frozen=True)
class RunParams:
    """The run parameters with their defaults filled in.

    ``device=None`` (or ``"auto"``) means cuda when available, else cpu (decided where torch
    is loaded).
    """

    train_frames: float = math.inf
    train_episodes: float = math.inf
    test_episodes: int = 100
    device: str | None = None
    delay: float = 0.0
    logdir: str | None = None
    threads: int = 1
    report_every: int = 0  # frames between intermediate reports (0: none)
    checkpoint_every: int = 0  # frames between a trial's checkpoints (0: only when told to leave)
    checkpoint_replay_buffer: bool = False  # whether checkpoints hold DQN-like agents' replay buffers


@cache
def preset_names(family: str) -> tuple[str, ...]:
    """The presets of one of ALL's preset modules, read from its ``__all__``
    without importing it (importing ALL imports torch, seconds on a login
    node); falls back to importing it when the source cannot be read."""
    module = AGENT_FAMILIES[family]
    root = _all_root()
    if root is not None:
        init = root / "presets" / module / "__init__.py"
        try:
            tree = ast.parse(init.read_text())
        except (OSError, SyntaxError) as err:
            logger.debug("cannot read %s (%s); importing it", init, err)
        else:
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
                ):
                    return tuple(sorted(ast.literal_eval(node.value)))
    return tuple(sorted(importlib.import_module(f"all.presets.{module}").__all__))


def _all_root() -> Path | None:
    spec = importlib.util.find_spec("all")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


# A preset default that is not a literal (a model constructor): its kind is
# not known without importing ALL.
NOT_LITERAL: Any = type("NotLiteral", (), {"__repr__": lambda self: "<not a literal>"})()


@cache
def preset_hyperparameter_defaults(agent: AgentName) -> dict[str, Any]:
    """The default hyperparameters of a (checked, non-debug) agent's preset,
    read from its ``default_hyperparameters`` without importing ALL: literal
    values as they are, others (model constructors) as ``NOT_LITERAL``;
    falls back to importing it."""
    root = _all_root()
    if root is not None:
        source = root / "presets" / AGENT_FAMILIES[agent.family] / f"{agent.preset}.py"
        try:
            tree = ast.parse(source.read_text())
        except (OSError, SyntaxError) as err:
            logger.debug("cannot read %s (%s); importing it", source, err)
        else:
            for node in tree.body:
                if (
                    isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "default_hyperparameters" for t in node.targets)
                    and isinstance(node.value, ast.Dict)
                    and all(isinstance(key, ast.Constant) for key in node.value.keys)
                ):
                    return {
                        key.value: _literal(value)  # type: ignore[union-attr]
                        for key, value in zip(node.value.keys, node.value.values)
                    }
    module = importlib.import_module(f"all.presets.{AGENT_FAMILIES[agent.family]}")
    return dict(getattr(module, agent.preset).default_hyperparameters)


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def preset_hyperparameter_names(agent: AgentName) -> tuple[str, ...]:
    """The hyperparameters a (checked, non-debug) agent's preset takes, read
    from the keys of its ``default_hyperparameters`` without importing ALL;
    falls back to importing it."""
    return tuple(sorted(preset_hyperparameter_defaults(agent)))


def _agent_choices() -> list[str]:
    choices = []
    for family in AGENT_FAMILIES:
        try:
            choices += [f"{family}:{name}" for name in preset_names(family)]
        except ImportError:
            choices.append(f"{family}:<preset> (autonomous-learning-library is not installed)")
    return choices + ["debug", "debug1", "debug2", "…"]


def parse_agent(agent: object) -> AgentName:
    """Parse and check an agent name.

    Raises:
        UnknownAgent: naming the valid agents.
    """
    text = str(agent)
    if _DEBUG_AGENT.fullmatch(text):
        return AgentName("debug", text)
    family, sep, preset = text.partition(":")
    if not sep or family not in AGENT_FAMILIES:
        raise UnknownAgent(text, _agent_choices())
    try:
        known = preset_names(family)
    except ImportError:
        raise UnknownAgent(text, _agent_choices()) from None
    if preset not in known:
        raise UnknownAgent(text, [f"{family}:{name}" for name in known])
    return AgentName(family, preset)


def _gym_ids() -> list[str]:
    # Not cached: importing ale_py (for atari:) adds its ids to the registry.
    import gymnasium

    return sorted(gymnasium.envs.registry.keys())


@functools.lru_cache(maxsize=1)
def _atari_games() -> list[str]:
    # Importing ale_py registers the ROM-backed ...NoFrameskip-v4 ids that
    # ALL's AtariEnvironment asks for (its wheel ships the ROMs).
    try:
        import ale_py  # noqa: F401
    except ImportError:
        return []
    suffix = "NoFrameskip-v4"
    return sorted(key[: -len(suffix)] for key in _gym_ids() if key.endswith(suffix) and "-ram" not in key)


def parse_env(env: object, check: bool = True, *, installed_only: bool = False) -> EnvName:
    """Parse an environment name and, with ``check``, make sure it exists
    (this imports gymnasium, and ale_py for Atari, but never torch).

    ``installed_only``: check only if gymnasium (ale_py for Atari) is
    installed; a debug agent, which only names the environment (in its
    results and plots), runs without them.

    Raises:
        UnknownEnvironment: naming the valid forms and the closest names.
    """
    text = str(env)
    family, sep, name = text.partition(":")
    if not sep or family not in ENV_FAMILIES or not name:
        raise UnknownEnvironment(text, _ENV_FORMS)
    if not check:
        return EnvName(family, name)
    if family == "atari":
        known = _atari_games()
        if not known:
            if installed_only:
                return EnvName(family, name)
            raise UnknownEnvironment(text, _ENV_FORMS, "ale-py is not installed")
    else:
        try:
            known = _gym_ids()
        except ImportError:
            if installed_only:
                return EnvName(family, name)
            raise UnknownEnvironment(text, _ENV_FORMS, "gymnasium is not installed") from None
    if name not in known:
        close = difflib.get_close_matches(name, known, n=6, cutoff=0.5) or known[:6]
        raise UnknownEnvironment(text, [f"{family}:{choice}" for choice in close] + ["…"], f"{len(known)} known")
    return EnvName(family, name)


def _count(key: str, value: Any, allow_inf: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadRunParams(key, value, "a number") from None
    if math.isnan(number) or number < 0 or (math.isinf(number) and not allow_inf):
        raise BadRunParams(key, value, "a non-negative number" + (" or inf" if allow_inf else ""))
    return number if math.isinf(number) else int(number)


def parse_run_params(run_params: object) -> RunParams:
    """Fill the defaults of ``run_params`` and check its values.

    Raises:
        BadRunParams: an unknown key, a bad value, or a run that never stops.
    """
    given = dict(run_params or {})  # type: ignore[call-overload]
    for key in given:
        if key not in RUN_PARAM_KEYS:
            raise BadRunParams(key, given[key], f"no such key: use some of {', '.join(RUN_PARAM_KEYS)}")
    frames = _count("train_frames", given.get("train_frames", math.inf), True)
    episodes = _count("train_episodes", given.get("train_episodes", math.inf), True)
    if math.isinf(frames) and math.isinf(episodes):
        raise BadRunParams("train_frames", frames, "a finite train_frames or train_episodes (else training never ends)")
    tests = _count("test_episodes", given.get("test_episodes", 100), False)
    if tests < 1:
        raise BadRunParams("test_episodes", tests, "at least 1")
    threads = _count("threads", given.get("threads", 1), False)
    delay = given.get("delay", 0.0)
    try:
        delay = float(delay)
    except (TypeError, ValueError):
        raise BadRunParams("delay", delay, "a number of seconds") from None
    device = given.get("device")
    if device in ("auto", ""):
        device = None
    if device is not None and not isinstance(device, str):
        raise BadRunParams("device", device, "a device name: auto, cpu, cuda, cuda:1, …")
    logdir = given.get("logdir")
    report_every = _count("report_every", given.get("report_every", 0), False)
    checkpoint_every = _count("checkpoint_every", given.get("checkpoint_every", 0), False)
    replay = given.get("checkpoint_replay_buffer", False)
    if not isinstance(replay, bool):
        raise BadRunParams("checkpoint_replay_buffer", replay, "true or false")
    return RunParams(
        train_frames=frames,
        train_episodes=episodes,
        test_episodes=int(tests),
        device=device,
        delay=max(delay, 0.0),
        logdir=None if logdir is None else str(logdir),
        threads=max(int(threads), 1),
        report_every=int(report_every),
        checkpoint_every=int(checkpoint_every),
        checkpoint_replay_buffer=replay,
    )


def run_seed(seed: object) -> int:
    """The seed as an integer numpy accepts (hyperopt hands out floats such
    as ``1234.0``; numpy wants ``0 <= seed < 2**32``)."""
    try:
        value = int(float(seed))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise BadRunParams("run_seed", seed, "an integer") from None
    return value % (2**32)
