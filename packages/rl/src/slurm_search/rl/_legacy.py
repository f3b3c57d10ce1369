"""Hyperparameter names of autonomous-learning-library 0.6, accepted for 0.9.

The original slurm-search ran ALL 0.6; ALL 0.9 renamed some of its presets'
hyperparameters. A space written for the original keeps working: each old
name a preset no longer takes, but whose new names it does take, is mapped
to them, with a note logged once per process and (agent, name).

- ``epsilon`` (0.6's classic ``vsarsa``/``vqn``: a constant epsilon-greedy
  rate) -> ``initial_exploration`` and ``final_exploration`` both set to it,
  which is the same constant rate in 0.9's decaying schedule.
- ``final_exploration_frame`` (0.6's DQN family) -> ``final_exploration_step``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["RENAMED", "modern_hyperparameters"]

logger = logging.getLogger(__name__)

#: ALL 0.6 name -> the ALL 0.9 names that take its value.
RENAMED: dict[str, tuple[str, ...]] = {
    "epsilon": ("initial_exploration", "final_exploration"),
    "final_exploration_frame": ("final_exploration_step",),
}

_noted: set[tuple[str, str]] = set()


def modern_hyperparameters(agent: str, hp: Mapping[str, Any] | None, takes: Collection[str]) -> dict[str, Any]:
    """``hp`` with ALL 0.6 names the preset no longer takes mapped to ALL 0.9's.

    Args:
        agent: the agent's name (for the note).
        hp: the hyperparameters given.
        takes: the names the preset takes.

    Returns:
        A new dict; a name given both ways keeps the value given by its new name.
    """
    hp = dict(hp or {})
    for old, new in RENAMED.items():
        if old not in hp or old in takes or not all(name in takes for name in new):
            continue
        value = hp.pop(old)
        for name in new:
            hp.setdefault(name, value)
        if (agent, old) not in _noted:
            _noted.add((agent, old))
            logger.warning(
                "%s: hyperparameter %r is ALL 0.6's name; using it as %s (ALL 0.9)", agent, old, " and ".join(new)
            )
    return hp
