"""Multi-objective sessions: `directions=[...]`, the Pareto front in `ssearch show` and in the Optuna adapter."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session._multi import dominates
from slurm_search.session.workers._cli import cli

optuna = pytest.importorskip("optuna")

from slurm_search.session.dashboard import SessionStorage  # noqa: E402

SPACE = {"x": hp.uniform("x", -1, 3)}


def _front_by_hand(name: str, directions: list[str]) -> set[int]:
    rows = [r for r in session.trial_rows(name) if r.state == "ok"]
    losses = {r.tid: [v if d == "min" else -v for v, d in zip(r.result["values"], directions)] for r in rows}
    return {t for t, a in losses.items() if not any(dominates(b, a) for u, b in losses.items() if u != t)}


@pytest.mark.parametrize("sampler", ["NSGAIISampler", "TPESampler", "GPSampler"])
def test_a_multi_objective_session_finds_a_pareto_front(sampler):
    directions = ["min", "max"]
    name = session.create_session(
        "session_test_objectives:two_values", SPACE, algo=f"optuna:{sampler}", max_evals=16, seed=1,
        directions=directions,
    )
    session.work_on(name)
    rows = session.trial_rows(name)
    assert all(r.state == "ok" for r in rows)
    for r in rows:
        x = r.params["x"]
        assert r.result["values"] == [x**2, (x - 2) ** 2]
        assert r.result["losses"] == [x**2, -((x - 2) ** 2)] and r.loss == x**2
    front = session.pareto_front(name)
    assert {e["tid"] for e in front} == _front_by_hand(name, directions) != set()
    assert session.info(name).directions == directions and session.info(name).goal == "min"
    # The adapter: one direction per value, values in their own sign, best_trials the Pareto front.
    study = optuna.load_study(study_name=name, storage=SessionStorage())
    assert study.directions == [optuna.study.StudyDirection.MINIMIZE, optuna.study.StudyDirection.MAXIMIZE]
    assert {t.number for t in study.best_trials} == {e["tid"] for e in front}
    assert all(t.values == session.trial_rows(name)[t.number].result["values"] for t in study.trials)


def test_ssearch_show_prints_the_pareto_front():
    name = session.create_session("session_test_objectives:two_values", SPACE, algo="optuna:NSGAIISampler",
                                  max_evals=8, seed=2, directions=["min", "min"])
    session.work_on(name)
    out = CliRunner().invoke(cli, ["show", name]).output
    front = session.pareto_front(name)
    assert f"pareto front (min, min): {len(front)} trials" in out
    for entry in front:
        assert f"  trial {entry['tid']}: ({entry['values'][0]:.6g}, {entry['values'][1]:.6g})  x=" in out
    as_json = CliRunner().invoke(cli, ["show", name, "pareto_front", "--json"]).output
    assert '"tid"' in as_json


@pytest.mark.parametrize("algo", ["rand", "tpe", "anneal", "enumeration", "optuna:CmaEsSampler"])
def test_one_loss_algorithms_refuse_a_multi_objective_session_in_one_line(algo):
    with pytest.raises(session.InvalidSetting) as err:
        session.create_session("session_test_objectives:two_values", {"x": hp.choice("x", [0, 1])}, algo=algo,
                               max_evals=2, directions=["min", "max"])
    assert "for a multi-objective session (directions=[...])" in str(err.value) and "\n" not in str(err.value)
    assert state.names() == []


def test_bad_directions_and_pruners_are_refused():
    for directions in (["min"], "min", ["min", "maximize"], ["MIN", "max"], []):
        with pytest.raises(session.InvalidSetting, match="directions"):
            session.create_session("session_test_objectives:two_values", SPACE, algo="optuna:NSGAIISampler",
                                   max_evals=2, directions=directions)
    with pytest.raises(session.InvalidSetting, match="Optuna does not prune those"):
        session.create_session("session_test_objectives:two_values", SPACE, algo="optuna:NSGAIISampler",
                               max_evals=2, directions=["min", "min"], pruner="median")
    result = CliRunner().invoke(cli, ["start", "demo", "algo=tpe", "directions=min,max", "--method=inline"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("ssearch: error: invalid algo 'tpe': expected ")
    assert state.names() == []


def test_an_objective_that_returns_the_wrong_number_of_values_fails_its_trial():
    name = session.create_session("session_test_objectives:two_values", SPACE, algo="optuna:NSGAIISampler",
                                  max_evals=2, directions=["min", "min", "max"], max_failures=5)
    session.work_on(name)
    rows = session.trial_rows(name)
    assert [r.state for r in rows] == ["failed", "failed"]
    shown = CliRunner().invoke(cli, ["show", name]).output
    assert "return 3 values (one per direction: ['min', 'min', 'max'])" in shown
    # A one-loss session still refuses a list.
    single = session.create_session("session_test_objectives:two_values", SPACE, max_evals=1, max_failures=5)
    session.work_on(single)
    assert [r.state for r in session.trial_rows(single)] == ["failed"]
