"""The ``ale`` session type, through the session package's registry and a
real search session worked on inline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from slurm_search import rl, session
from slurm_search.session.workers._registry import session_arguments, session_types


def test_ale_is_registered():
    assert "ale" in session_types()


def test_debug_session_maximises_the_mean_return():
    args = session_arguments("ale", {"agent": "debug", "test_episodes": 4})
    args.update(max_evals=8, seed=1, algo="rand")
    name = session.create_session(**args)
    session.work_on(name)
    results = session.results(name)
    assert len(results) == 8
    for trial in results:
        assert set(trial.params) == {"lr", "entropy_loss_scaling"}
        assert trial.loss == pytest.approx(-trial.result["return_mean"])
        assert len(trial.result["returns_cdf"]) == 4
    best = session.best(name)
    assert best.result["return_mean"] == max(t.result["return_mean"] for t in results)


def test_real_a2c_session_tiny_budget():
    args = session_arguments(
        "ale",
        {"agent": "classic:a2c", "space": {"lr": [1e-3, 1e-2]}, "hp": {"n_steps": 8}, "train_frames": 500, "test_episodes": 2},
    )
    args.update(max_evals=2, seed=3)
    name = session.create_session(**args)
    session.work_on(name)
    results = session.results(name)
    assert len(results) == 2
    assert all(1e-3 <= t.params["lr"] <= 1e-2 for t in results)
    assert all(1 <= v <= 500 for t in results for v in t.result["returns_cdf"])


def test_space_forms():
    from hyperopt.pyll.stochastic import sample

    space = rl.ale({"agent": "debug", "space": {"lr": [1e-5, 1e-1], "n": [1, 8], "x": [0.0, 1.0]}})["space"]
    for seed in range(20):
        point = sample(space, rng=__import__("numpy").random.default_rng(seed))
        assert 1e-5 <= point["lr"] <= 1e-1 and point["n"] in range(1, 9) and 0 <= point["x"] <= 1


@pytest.mark.parametrize(
    "params, match",
    [
        ({}, "needs agent="),
        ({"agent": "classic:a3c"}, "classic:a2c"),
        ({"agent": "classic:a2c", "env": "classic:CartPol-v1"}, "classic:CartPole-v1"),
        ({"agent": "classic:a2c", "hp": {"n_step": 3}}, "n_steps"),
        ({"agent": "classic:a2c", "space": {"lrr": [0.1, 1]}}, "'lrr'.*lr"),
        ({"agent": "debug", "frames": 3}, "use some of agent, env"),
        ({"agent": "debug", "space": {"lr": [1, 0]}}, r"low < high"),
        ({"agent": "debug", "train_frames": "many"}, "train_frames"),
    ],
)
def test_bad_parameters_give_one_line(params, match):
    with pytest.raises((ValueError, KeyError), match=match) as info:
        rl.ale(params)
    assert "\n" not in str(info.value)


def test_cli_error_is_one_line_and_creates_nothing(slurm_search_home):
    code = "from slurm_search.session.workers._cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "start", "ale", "agent=classic:a2c", "hp:n_step=3", "--method=inline"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "'n_step'" in out.stderr and "n_steps" in out.stderr
    assert session.list_sessions(all=True) == []
