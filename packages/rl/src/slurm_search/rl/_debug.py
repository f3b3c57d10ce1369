"""Debug agents (``debug``, ``debug1``, ``debug2``, …): seeded random returns
at once, without torch, for trying an experiment's plumbing.

The returns look like a noisy RL objective: each (agent, env, hyperparameter
setting) has its own mean (so tuning has something to find) and each seed
draws episode returns around it (so seeds matter). The same arguments always
give the same returns, in any process.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Mapping
from typing import Any

from ._names import AgentName, EnvName, RunParams

__all__ = ["debug_returns"]

BASE_RETURN = 100.0
AGENT_STEP = 10.0  # debugN's mean is N steps above debug's
SETTING_SPREAD = 25.0
EPISODE_SPREAD = 20.0


def _rng(*parts: object) -> random.Random:
    # hash() of str is salted per process; a digest is the same everywhere.
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _setting_key(hp: Mapping[str, Any] | None) -> tuple:
    return tuple(sorted((str(k), repr(v)) for k, v in (hp or {}).items()))


def debug_returns(
    agent: AgentName, env: EnvName, hp: Mapping[str, Any] | None, params: RunParams, seed: int
) -> list[float]:
    """The test returns of a debug agent (after sleeping ``params.delay`` s)."""
    if params.delay > 0:
        time.sleep(params.delay)
    level = int(agent.preset[len("debug") :] or 0)
    setting = _setting_key(hp)
    mean = BASE_RETURN + AGENT_STEP * level + SETTING_SPREAD * _rng(str(agent), str(env), setting).gauss(0, 1)
    episodes = _rng(str(agent), str(env), setting, seed)
    return [mean + EPISODE_SPREAD * episodes.gauss(0, 1) for _ in range(params.test_episodes)]
