"""The original's bounded hyperparameter spaces per agent, and hyperopt's
``scope.bounded`` (defined when this module is imported).

Importing it imports hyperopt (about a second), which is why
``slurm_search.rl`` does not import it.
"""

from __future__ import annotations

from ._spaces import (
    a2c_space,
    atari_a2c_space,
    atari_dqn_space,
    atari_vsarsa_space,
    bounded,
    dqn_space,
    lognormal_a2c_spaces,
    ppo_space,
    vsarsa_space,
)

__all__ = [
    "a2c_space",
    "atari_a2c_space",
    "atari_dqn_space",
    "atari_vsarsa_space",
    "bounded",
    "dqn_space",
    "lognormal_a2c_spaces",
    "ppo_space",
    "vsarsa_space",
]
