"""Warm starts: `session.enqueue` and `ssearch enqueue` evaluate known settings first, for every algorithm."""

from __future__ import annotations

import math

import pytest
from _session_helpers import workers  # noqa: F401 - a fixture
from click.testing import CliRunner
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session._view import View
from slurm_search.session.workers._cli import cli

SPACE = {
    "x": hp.uniform("x", -5, 10),
    "n": hp.randint("n", 1, 5),
    "opt": hp.choice("opt", [
        {"kind": "adam", "beta": hp.uniform("beta", 0.8, 0.99)},
        {"kind": "sgd", "units": hp.qloguniform("units", math.log(8), math.log(256), 8)},
    ]),
}
ALGOS = ["rand", "tpe", "anneal", "optuna:TPESampler", "optuna:NSGAIISampler", "optuna:GPSampler"]


@pytest.mark.parametrize("algo", ALGOS)
def test_enqueued_settings_are_the_first_trials_then_the_algorithm_goes_on(algo):
    if algo.startswith("optuna:"):
        pytest.importorskip("optuna")
    name = session.create_session("session_test_objectives:rich", SPACE, algo=algo, max_evals=6, seed=2)
    assert session.enqueue(name, {"x": 1.5, "n": 3, "opt": "sgd", "units": 60}) == 1
    assert session.enqueue(name, {"x": -2.0, "n": 1, "opt": 0, "beta": 0.9}) == 2
    session.work_on(name)
    rows = session.trial_rows(name)
    assert rows[0].params == {"x": 1.5, "n": 3, "opt:kind": "sgd", "opt:units": 64.0}  # rounded to q as hyperopt does
    assert rows[1].params == {"x": -2.0, "n": 1, "opt:kind": "adam", "opt:beta": 0.9}
    assert len(rows) == 6 and all(r.state == "ok" for r in rows)  # within max_evals
    assert session.annotations(name)["enqueued"] == []


def test_an_enqueued_setting_runs_once_with_four_workers(workers):  # noqa: F811
    name = session.create_session("session_test_objectives:sleepy", {"x": hp.uniform("x", 0, 1)}, max_evals=12,
                                  seed=3, context={"sleep": 0.05})
    for x in (0.25, 0.5, 0.75):
        session.enqueue(name, {"x": x})
    for p in workers(name, 4):
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    xs = [t.vals["x"][0] for t in sorted(View(name).refresh().trials.values(), key=lambda t: t.tid)]
    assert xs[:3] == [0.25, 0.5, 0.75] and len(xs) == 12 and xs.count(0.5) == 1


def test_a_setting_that_is_not_in_the_space_is_one_line_and_nothing_is_queued():
    name = session.create_session("session_test_objectives:noop", SPACE, max_evals=3)
    before = state.records(name)[1]
    bad = [
        ({"x": 11.0, "n": 1, "opt": 0, "beta": 0.9},
         "invalid params['x'] 11.0: expected a number in [-5, 10] (uniform)"),
        ({"x": 1.0, "n": 1, "opt": "rmsprop", "beta": 0.9},
         "invalid params['opt'] 'rmsprop': expected one of its options"),
        ({"x": 1.0, "n": 1, "opt": 0}, "a value for 'beta' too"),
        ({"x": 1.0, "n": 1, "opt": 0, "beta": 0.9, "units": 8}, "invalid params ['units']: expected only labels"),
    ]
    for params, message in bad:
        with pytest.raises(session.InvalidSetting) as err:
            session.enqueue(name, params)
        assert message in str(err.value) and "\n" not in str(err.value)
    assert state.records(name)[1] == before


def test_ssearch_enqueue():
    name = session.create_session("session_test_objectives:noop", SPACE, max_evals=2, seed=1)
    result = CliRunner().invoke(cli, ["enqueue", name, "x=2.5", "n=2", "opt=adam", "beta=0.85"])
    assert result.exit_code == 0, result.output
    assert f"{name}: setting enqueued (1 waiting)" in result.output
    result = CliRunner().invoke(cli, ["enqueue", name, "x=99", "n=2", "opt=adam", "beta=0.85"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "ssearch: error: invalid params['x'] 99: expected a number in [-5, 10] (uniform)"
    ]
    session.work_on(name)
    assert session.trial_rows(name)[0].params == {"x": 2.5, "n": 2, "opt:kind": "adam", "opt:beta": 0.85}
