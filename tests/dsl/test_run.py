"""Runs in this process (method inline): determinism, resume, refusal, stop, show, model measures."""

from __future__ import annotations

import pytest

from slurm_search import state
from slurm_search.dsl import (
    NoSuchRun,
    ResumeMismatch,
    SamplingError,
    accepts_param_names,
    enumeration_sampling,
    random_sampling,
    run_experiment,
    show_experiment,
    stop_experiment,
)
from slurm_search.dsl._params import canonical

SWEEP = "slurm_search.dsl.demo:sweep"


def test_same_seed_same_results_and_each_call_once(calls):
    first = run_experiment(SWEEP, seed=11)
    assert calls.count() == 4 * 3  # 4 grid points x 3 seeds
    second = run_experiment(SWEEP, seed=11)
    assert canonical(first.results) == canonical(second.results)
    assert first.name != second.name
    third = run_experiment(SWEEP, seed=12)
    assert canonical(third.results) != canonical(first.results)
    # Hand check of the measures against the stored means.
    means = [m for _, m in first.results["means"]]
    assert first.results["mean_of_means"] == pytest.approx(sum(means) / 4)
    assert first.results["cdf_of_means"] == sorted(means)
    assert first.results["best_x"] == first.results["means"][-1][0]


def test_resume_of_a_finished_run_recomputes_nothing(calls):
    done = run_experiment(SWEEP, {"sweep:seeds": 2}, seed=5)
    before = calls.count()
    again = run_experiment(SWEEP, {"sweep:seeds": 2}, resume=done.name)
    assert calls.count() == before
    assert again.name == done.name
    assert canonical(again.results) == canonical(done.results)


def test_resume_with_other_parameters_is_refused_and_starts_nothing(calls):
    done = run_experiment(SWEEP, {"sweep:seeds": 2}, seed=5)
    stored = state.read(done.name)
    objects_before = state.names()
    count = calls.count()
    with pytest.raises(ResumeMismatch) as err:
        run_experiment(SWEEP, {"sweep:seeds": 3}, seed=6, resume=done.name)
    message = str(err.value)
    assert "sweep:seeds: stored 2, given 3" in message and "--seed: stored 5, given 6" in message
    assert f"run_exp {SWEEP} --sweep:seeds=2 --seed=5 --resume={done.name}" in message
    assert "\n" not in message
    assert calls.count() == count
    assert canonical(state.read(done.name)) == canonical(stored)
    assert state.names() == objects_before  # no new run, no new session
    with pytest.raises(NoSuchRun):
        run_experiment(SWEEP, resume="exp:never_ran")


def test_stop_and_show():
    done = run_experiment(SWEEP, {"sweep:seeds": 2}, seed=1)
    shown = show_experiment(done.name)
    paths = [path for path, _, _ in shown["sessions"]]
    assert paths[0] == "means.point_values:mean"
    assert len(paths) == 1 + 4  # the grid and one seed session per grid point
    assert all(p.status == "done" and p.completed == p.max_evals for _, _, p in shown["sessions"])
    # A complete run stays complete: nothing runs to stop.
    assert stop_experiment(done.name) == [] and state.read(done.name)["status"] == "complete"
    with state.transaction(done.name) as box:
        box.value["status"] = "interrupted"
    stopped = stop_experiment(done.name)
    assert len(stopped) == 5
    assert state.read(done.name)["status"] == "stopped"
    with pytest.raises(NoSuchRun):
        stop_experiment("exp:nope")


@accepts_param_names
def bump(level):
    # A clear winner: 2 gives 10, every other level 0.
    return 10.0 if level == 2 else float(level) / 10


def test_model_measures_follow_the_evidence():
    spec = {
        "config": {"level_space": [0, 1, 2, 3], "seed_space": [0]},
        "experiment_func": lambda: {
            "grid": (grid := enumeration_sampling("level", bump("level"))),
            "model_argmax": grid["model_argmax"],
            "model_argmin": grid["model_argmin"],
            "argmax": grid["argmax"],
        },
    }
    first = run_experiment(spec, seed=3)
    assert first.results["argmax"] == 2
    assert first.results["model_argmax"] == 2
    assert first.results["model_argmin"] in (0, 1, 3)
    assert run_experiment(spec, seed=3).results["model_argmin"] == first.results["model_argmin"]


def test_nested_sampling_inside_a_dict_spec():
    spec = {
        "config": {"a_space": [1, 2], "b_space": [10, 20, 30]},
        "experiment_func": lambda: {
            "sums": enumeration_sampling("a", enumeration_sampling("b", bump("b")))["point_values:mean"],
            "inner": random_sampling(("b", [5, 6]), bump("b"), sample_count=2)["cdf"],
        },
    }
    out = run_experiment(spec, seed=1).results
    assert out["sums"] == [(1, pytest.approx(2.0)), (2, pytest.approx(2.0))]  # (1 + 2 + 3) / 3
    assert sorted(out["inner"]) == out["inner"]


@accepts_param_names
def broken(level):
    raise ValueError(f"level {level} is broken")


def test_an_objective_that_always_fails_gives_one_line_with_its_error():
    spec = {"config": {"level_space": [0, 1]}, "experiment_func": lambda: {"r": enumeration_sampling("level", broken("level"))["mean"]}}
    with pytest.raises(SamplingError) as err:
        run_experiment(spec, seed=1)
    assert "ValueError: level" in str(err.value) and "is broken" in str(err.value)
    assert "ssearch trials search:" in str(err.value) and "\n" not in str(err.value)


SPEC_MODULE = '''
from slurm_search.dsl import accepts_param_names, enumeration_sampling

BUILT = []


@accepts_param_names
def plus_one(b):
    return b + 1.0


def __getattr__(name):
    # A spec built when asked for, as a module may do: counted.
    if name != "spec":
        raise AttributeError(name)
    BUILT.append(name)
    return {
        "config": {"b_space": [1, 2, 3, 4, 5, 6]},
        "experiment_func": lambda: {"values": enumeration_sampling("b", plus_one("b"))["point_values"]},
    }
'''


def test_a_spec_is_loaded_once_per_process_not_once_per_trial(tmp_path, monkeypatch):
    (tmp_path / "counted_spec.py").write_text(SPEC_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import counted_spec

    out = run_experiment("counted_spec:spec", seed=1).results
    assert [v for _, v in out["values"]] == [pytest.approx(b + 1.0) for b in range(1, 7)]
    # One build for run_exp's own use, one for this process's worker: not
    # one (or two) per trial.
    assert len(counted_spec.BUILT) == 2
