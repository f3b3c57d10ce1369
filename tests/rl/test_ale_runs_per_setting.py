"""The ``ale`` session type's ``runs_per_setting``: each trial trains that
many times on consecutive seeds and is scored by the mean over all runs."""

from __future__ import annotations

import pytest

from slurm_search import rl, session
from slurm_search.session.workers._registry import session_arguments


def test_each_trial_averages_its_runs():
    args = session_arguments("ale", {"agent": "debug", "test_episodes": 3, "runs_per_setting": 4})
    args.update(max_evals=3, seed=2, algo="rand")
    name = session.create_session(**args)
    session.work_on(name)
    for trial in session.results(name):
        result = trial.result
        assert len(result["run_return_means"]) == len(result["run_return_stds"]) == 4
        assert len(set(result["run_return_means"])) == 4  # four seeds
        assert result["returns_mean"] == pytest.approx(sum(result["run_return_means"]) / 4)
        assert trial.loss == pytest.approx(-result["returns_mean"])


def test_one_run_by_default_and_bad_values_refused():
    result = rl.ale_objective({"lr": 0.01}, {"agent": "debug", "env": "classic:CartPole-v1", "run_params": {"train_frames": 1, "test_episodes": 2}})
    assert len(result["run_return_means"]) == 1 and result["loss"] == pytest.approx(-result["return_mean"])
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="runs_per_setting"):
            rl.ale({"agent": "debug", "runs_per_setting": bad})


def test_all_0_6_names_accepted():
    args = rl.ale({"agent": "classic:vsarsa", "hp": {"epsilon": 0.1}, "space": {"lr": [1e-4, 1e-2]}})
    assert args["context"]["hp"] == {"epsilon": 0.1}  # run_results maps it when it trains
    rl.ale({"agent": "classic:vsarsa", "space": {"epsilon": [0.01, 0.2]}})
    with pytest.raises(rl.UnknownHyperparameter, match="'epsilon'"):
        rl.ale({"agent": "classic:a2c", "hp": {"epsilon": 0.1}})  # a2c never took it
