"""Real ALL agents with the original's spaces, at tiny budgets: every agent
family the original's experiments use on each classic-control environment
they use (MountainCar with its 20,000-step limit), and A2C on one Atari
game with the Atari space; ALL 0.6's ``epsilon`` reaches vanilla SARSA as
ALL 0.9's exploration rates."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from hyperopt.pyll import stochastic

from slurm_search import rl
from slurm_search.rl import spaces as _spaces

RUN = {"train_frames": 300, "test_episodes": 1, "device": "cpu"}
SPACES = {
    "classic:a2c": _spaces.a2c_space,
    "classic:ppo": _spaces.ppo_space,
    "classic:vsarsa": _spaces.vsarsa_space,
    "classic:dqn": _spaces.dqn_space,
}
ENVS = ["classic:CartPole-v1", "classic:MountainCar-v0", "classic:Acrobot-v1"]


def _setting(agent: str, seed: int) -> dict:
    setting = stochastic.sample(SPACES[agent](), np.random.default_rng(seed))
    if agent in ("classic:a2c", "classic:ppo"):
        # Keep the first episodes short: few copies of the environment.
        setting["n_envs"] = min(setting["n_envs"], 4.0)
    return setting


@pytest.mark.parametrize("agent", sorted(SPACES))
@pytest.mark.parametrize("env", ENVS)
def test_agent_trains_and_tests_with_a_setting_of_the_original_space(agent, env):
    setting = _setting(agent, seed=3)
    run = dict(RUN)
    if env == "classic:MountainCar-v0":
        # An untrained agent rarely reaches the flag: a test episode runs to
        # the 20,000-step limit. One is enough.
        run["test_episodes"] = 1
    result = rl.run_results(env, agent, setting, run, 5)
    assert len(result["returns_cdf"]) == run["test_episodes"]
    assert math.isfinite(result["return_mean"])
    if env == "classic:CartPole-v1":
        assert result["return_mean"] >= 1  # +1 per step survived
    else:
        assert result["return_mean"] <= 0  # -1 per step until the goal
    if env == "classic:MountainCar-v0":
        # Past gymnasium's 200-step limit: episodes may run up to 20,000 steps.
        assert result["return_mean"] >= -20_000


def test_mountain_car_runs_with_a_20000_step_limit():
    from all.environments import GymEnvironment  # noqa: F401  (ALL imports here)

    from slurm_search.rl._names import parse_env
    from slurm_search.rl._training import _make_env

    env = _make_env(parse_env("classic:MountainCar-v0"), "cpu")
    assert env.env.spec.max_episode_steps == 20_000
    assert _make_env(parse_env("classic:CartPole-v1"), "cpu").env.spec.max_episode_steps == 500


def test_vsarsa_epsilon_is_all_0_6_name_for_constant_exploration(caplog):
    from slurm_search.rl import _legacy

    _legacy._noted.clear()
    with caplog.at_level(logging.WARNING, logger="slurm_search.rl._legacy"):
        first = rl.run_results("classic:CartPole-v1", "classic:vsarsa", {"epsilon": 0.2, "lr": 1e-3}, RUN, 1)
        again = rl.run_results("classic:CartPole-v1", "classic:vsarsa", {"epsilon": 0.2, "lr": 1e-3}, RUN, 1)
    notes = [r.getMessage() for r in caplog.records if "epsilon" in r.getMessage()]
    assert len(notes) == 1 and "initial_exploration and final_exploration" in notes[0]
    assert first == again
    # The same as giving ALL 0.9's names.
    modern = rl.run_results(
        "classic:CartPole-v1", "classic:vsarsa",
        {"initial_exploration": 0.2, "final_exploration": 0.2, "lr": 1e-3}, RUN, 1,
    )
    assert modern == first


def test_a2c_on_atari_with_the_atari_space():
    setting = stochastic.sample(_spaces.atari_a2c_space(), np.random.default_rng(1))
    assert set(setting) == {"clip_grad", "lr", "entropy_loss_scaling", "value_loss_scaling", "n_envs", "n_steps"}
    setting.update(n_envs=2.0, n_steps=4.0)  # a few hundred frames on two cores
    result = rl.run_results("atari:Pong", "atari:a2c", setting, {"train_frames": 200, "test_episodes": 1, "device": "cpu"}, 1)
    assert len(result["returns_cdf"]) == 1
    assert -21 <= result["return_mean"] <= 21
