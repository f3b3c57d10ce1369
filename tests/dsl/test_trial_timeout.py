"""A sampling node's ``trial_timeout=`` (a value or a parameter name) stops hung trials."""

from __future__ import annotations

import pytest
from hyperopt import hp

from slurm_search import session
from slurm_search.dsl import random_sampling, run_experiment
from slurm_search.dsl.demo import noisy_quadratic, quadratic


def timed_experiment():
    return {
        "mean": random_sampling(
            "seed",
            noisy_quadratic("xy", "seed", "noise", "delay"),
            sample_count=2,
            method="inline",
            trial_timeout="t",
        )["mean"]
    }


timed = {
    "config": {
        "xy": {"x": 0.0, "y": 0.0},
        "seed_space": hp.randint("seed", 1000),
        "noise": 0.0,
        "delay": 0.0,
        "t": 30.0,
    },
    "debug_overrides": {},
    "display_func": None,
    "experiment_func": timed_experiment,
}

SPEC = "test_trial_timeout:timed"


def test_trials_within_the_timeout_run():
    result = run_experiment(SPEC, {}, seed=1)
    assert result.results["mean"] == pytest.approx(quadratic(0.0, 0.0))  # no noise


def test_a_trial_past_the_timeout_is_stopped_and_failed():
    with pytest.raises(Exception) as info:
        run_experiment(SPEC, {"delay": 600.0, "t": 0.5}, seed=1)
    assert "failed" in str(info.value)
    [name] = [s.name for s in session.list_sessions(all=True)]
    assert session.progress(name).last_traceback == "timed out after 0.5 s: the objective was stopped"


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), "soon"])
def test_a_bad_timeout_is_refused_before_the_run_is_stored(bad):
    from slurm_search import state

    with pytest.raises(Exception, match="trial_timeout|--t"):
        run_experiment(SPEC, {"t": bad}, seed=1)
    assert state.names("exp") == []
