"""The original's hyperparameter spaces, per agent.

Most are normal or lognormal around a preset's sensible value and clipped to
a valid range with ``scope.bounded`` (a hyperopt function this module
defines on import, as the original's experiment modules did; workers import
the experiment's module, and so this one, before they evaluate a space).
Lognormal widths follow the original: ``(log(centre) - log(low)) / 3`` puts
``low`` three standard deviations below the centre.

Each space is built by a function, so every experiment gets its own
objects (hyperopt spaces are graphs; sharing one between configs is safe but
confusing in ``--display-ast``).

Importing this module imports hyperopt (about a second), which is why
``slurm_search.rl`` does not import it.
"""

from __future__ import annotations

from math import log
from typing import Any

from hyperopt import hp
from hyperopt.pyll import scope

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


# The original defined it in each experiment module under this guard; one
# definition per process (pyll refuses to define a name twice).
if not hasattr(scope, "bounded"):

    @scope.define
    def bounded(val: Any, minimum: Any = None, maximum: Any = None) -> Any:
        """``val`` clipped to [minimum, maximum] (either may be None)."""
        if minimum is not None:
            val = max(val, minimum)
        if maximum is not None:
            val = min(val, maximum)
        return val


bounded = scope.bounded


def _lr(centre: float = 1e-3, low: float = 1e-4):
    return scope.bounded(hp.lognormal("lr", log(centre), (log(centre) - log(low)) / 3), minimum=0, maximum=1)


def _eps():
    return scope.bounded(hp.lognormal("eps", log(1e-3), (log(1e-3) - log(1e-4)) / 3), minimum=0, maximum=1)


def a2c_space(minimum_batch: int = 2, value_loss: bool = False) -> dict[str, Any]:
    """A2C's bounded normal/lognormal space (the original's ``hp_space`` of
    the multienv experiments). ``minimum_batch``: the lower bound of
    ``n_envs`` and ``n_steps`` (1 in some of the original's experiments, 2 in
    most); ``value_loss``: also sample ``value_loss_scaling`` (the Atari ones)."""
    space = {
        "clip_grad": scope.bounded(hp.normal("clip_grad", 0.4, 0.1), minimum=0.001, maximum=1),
        "lr": _lr(),
        "entropy_loss_scaling": scope.bounded(hp.normal("els", 0.06, 0.01), minimum=0),
        "n_envs": scope.bounded(
            hp.qlognormal("n_envs", log(32) / 2, log(32) / 8, 1), minimum=minimum_batch, maximum=32
        ),
        "n_steps": scope.bounded(
            hp.qlognormal("n_steps", log(16) / 2, log(16) / 8, 1), minimum=minimum_batch, maximum=32
        ),
    }
    if value_loss:
        space["value_loss_scaling"] = hp.uniform("vls", 0.2, 1.2)
    return space


def ppo_space() -> dict[str, Any]:
    """PPO: the same space as A2C (the original's ``ppo_hp_space``)."""
    return a2c_space()


def vsarsa_space() -> dict[str, Any]:
    """Vanilla SARSA: lr, Adam's eps and the exploration rate ``epsilon``
    (ALL 0.6's name; mapped to ALL 0.9's constant exploration)."""
    return {
        "lr": _lr(),
        "eps": _eps(),
        "epsilon": scope.bounded(
            hp.lognormal("epsilon", log(0.1), (log(0.1) - log(0.02)) / 3), minimum=0.0001, maximum=0.25
        ),
    }


def dqn_space() -> dict[str, Any]:
    """DQN on classic control: lr and the minibatch size."""
    return {
        "lr": _lr(),
        "minibatch_size": scope.bounded(
            hp.qlognormal("minibatch_size", log(48), (log(48) - log(8)) / 3, 1), minimum=4, maximum=128
        ),
    }


def atari_a2c_space() -> dict[str, Any]:
    """A2C on Atari: A2C's space with ``value_loss_scaling``."""
    return a2c_space(value_loss=True)


def atari_dqn_space() -> dict[str, Any]:
    """DQN on Atari: lr, eps, minibatch size and update frequency."""
    return {
        "lr": _lr(),
        "eps": _eps(),
        "minibatch_size": scope.bounded(
            hp.qlognormal("minibatch_size", log(32), log(32) / 8, 1), minimum=4, maximum=64
        ),
        "update_frequency": scope.bounded(
            hp.qlognormal("update_frequency", log(4), log(4) / 8, 1), minimum=2, maximum=16
        ),
    }


def atari_vsarsa_space() -> dict[str, Any]:
    """Vanilla SARSA on Atari: lr and eps."""
    return {"lr": _lr(), "eps": _eps()}


def lognormal_a2c_spaces() -> dict[str, dict[str, Any]]:
    """The four A2C spaces ``compare_hp_spaces`` compares, from wide to narrow."""
    return {
        "loguniform_hp_space": {
            "clip_grad": scope.bounded(hp.loguniform("clip_grad", log(0.1), log(1)), minimum=0.001, maximum=1),
            "lr": scope.bounded(hp.loguniform("lr", log(1e-4), log(1e-2)), minimum=0, maximum=1),
            "entropy_loss_scaling": scope.bounded(hp.uniform("els", 0, 0.1), minimum=0),
            "n_envs": scope.bounded(hp.qloguniform("n_envs", log(1), log(32), 1), minimum=1, maximum=32),
            "n_steps": scope.bounded(hp.qloguniform("n_steps", log(1), log(16), 1), minimum=1, maximum=32),
        },
        "lognormal_hp_space": a2c_space(minimum_batch=1),
        "lognormal_smaller_hp_space": {
            "clip_grad": scope.bounded(hp.normal("clip_grad", 0.15, 0.04), minimum=0.001, maximum=1),
            "lr": scope.bounded(hp.lognormal("lr", log(7e-4), (log(7e-4) - log(1e-4)) / 6), minimum=0, maximum=1),
            "entropy_loss_scaling": scope.bounded(hp.normal("els", 0.03, 0.008), minimum=0),
            "n_envs": scope.bounded(hp.qlognormal("n_envs", log(32) / 2, log(32) / 8, 1), minimum=1, maximum=32),
            "n_steps": scope.bounded(hp.qlognormal("n_steps", log(5), log(5) / 6, 1), minimum=1, maximum=32),
        },
        "lognormal_smallerer_hp_space": {
            "clip_grad": scope.bounded(hp.normal("clip_grad", 0.12, 0.02), minimum=0.001, maximum=1),
            "lr": scope.bounded(hp.lognormal("lr", log(7e-4), (log(7e-4) - log(1e-4)) / 12), minimum=0, maximum=1),
            "entropy_loss_scaling": scope.bounded(hp.normal("els", 0.03, 0.004), minimum=0),
            "n_envs": scope.bounded(hp.qlognormal("n_envs", log(32) / 2, log(32) / 16, 1), minimum=1, maximum=32),
            "n_steps": scope.bounded(hp.qlognormal("n_steps", log(5), log(5) / 8, 1), minimum=1, maximum=32),
        },
    }
