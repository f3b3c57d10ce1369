"""Pruning in experiments: a sampling node's pruner=, a setting's intermediate
value (the mean of its seeds' reports at a step), the settings' checks, and
kill -9 then --resume of a pruned run giving the uninterrupted run's results."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from slurm_search import session, state
from slurm_search.dsl import BadValue, Spec, maximizing_sampling, random_sampling, run_experiment
from slurm_search.dsl._params import canonical, point_key
from slurm_search.dsl.demo import noisy_quadratic

from conftest import RUN_EXP

PRUNED = {"steps": 4, "tune:pruner": "asha", "tune:settings": 10, "tune:seeds": 2, "eval:seeds": 2}


def sessions_of(run_name):
    return {tuple(path): name for path, name in state.read(run_name)["sessions"].items()}


def tuning_session(run_name):
    (name,) = [n for path, n in sessions_of(run_name).items() if len(path) and not any("@" in p for p in path)
               and session.info(n).algo == "tpe"]
    return name


def test_a_settings_value_at_a_step_is_the_mean_of_its_seeds():
    result = run_experiment("demo", {**PRUNED, "tune:pruner": "none", "tune:settings": 3, "tune:seeds": 3}, seed=2)
    outer = tuning_session(result.name)
    inner_by_key = {}
    for path, name in sessions_of(result.name).items():
        if path[-1].startswith("@") and session.info(name).metadata["var"] == "seed":
            inner_by_key[path[-1][1:]] = name
    outer_reports = session.trial_reports(outer)
    for found in session.results(outer):
        inner = inner_by_key[point_key(found.params["value"])]
        seeds = session.trial_reports(inner)
        assert len(seeds) == 3 and all(sorted(v) == [1, 2, 3, 4] for v in seeds.values())
        for step in (1, 2, 3, 4):
            mean = sum(v[step] for v in seeds.values()) / 3
            # a maximising node records minus the value as its loss
            assert outer_reports[found.tid][step] == pytest.approx(-mean)
        # the seeds' last reports are their values minus 1/step: the mean at the last step is the
        # setting's mean over seeds (minus 1/4)
        assert outer_reports[found.tid][4] == pytest.approx(found.loss + 0.25)


def test_asha_prunes_settings_and_measures_use_the_others():
    result = run_experiment("demo", PRUNED, seed=5)
    outer = tuning_session(result.name)
    progress = session.progress(outer)
    assert progress.status == "done" and progress.pruned > 0 and progress.completed > 0
    assert progress.pruned + progress.completed == 10
    assert len(result.results["tuning_means"]) == progress.completed
    ok = {point_key(r.params["value"]) for r in session.results(outer)}
    assert point_key(result.results["best_xy"]) in ok
    # a pruned setting's seeds session is stopped, not left running
    statuses = [session.progress(n).status for p, n in sessions_of(result.name).items() if p[-1].startswith("@")]
    assert statuses.count("stopped") >= 1 and "running" not in statuses


def test_median_in_the_demo():
    result = run_experiment("demo", {**PRUNED, "tune:pruner": "median", "tune:settings": 12}, seed=5)
    progress = session.progress(tuning_session(result.name))
    assert progress.status == "done" and progress.completed >= 3 and progress.pruned > 0


def noisy_spec(strategy, pruner):
    def experiment():
        seeds = random_sampling("seed", noisy_quadratic("xy", "seed", "noise", "delay"), sample_count=2)
        if strategy == "random":
            node = random_sampling("xy", seeds, sample_count=3, pruner=pruner)
        else:
            node = maximizing_sampling("xy", seeds, sample_count=3, maximize_measure="mean", pruner=pruner)
        return {"m": node["mean:mean"]}

    from hyperopt import hp

    config = {"xy_space": {"x": hp.uniform("x", -1, 1), "y": 0.0}, "seed_space": hp.randint("seed", 100),
              "noise": 0.1, "delay": 0.0, "steps": 2, "p": "asha"}
    return Spec(config=config, experiment_func=experiment, display_func=None, debug_overrides={})


@pytest.mark.parametrize(
    ("strategy", "pruner", "said"),
    [
        ("random", "asha", "a pruner needs a goal"),
        ("maximize", "hyperband", "none, median, asha or the name of a parameter"),
    ],
)
def test_bad_pruners_are_refused(strategy, pruner, said):
    # A string that names no parameter may be set by use(...) on the way down: the node checks it.
    with pytest.raises(BadValue, match=said):
        run_experiment(noisy_spec(strategy, pruner), {}, seed=1)


def test_a_bad_pruner_parameter_is_refused_before_the_run_is_stored():
    with pytest.raises(BadValue, match="--p=asha is not valid: expected none: a pruner needs a goal"):
        run_experiment(noisy_spec("random", "p"), {}, seed=1)
    with pytest.raises(BadValue, match="--p=bob is not valid"):
        run_experiment(noisy_spec("maximize", "p"), {"p": "bob"}, seed=1)
    assert not [n for n in state.names() if n.startswith("exp:")]


def test_a_pruner_may_name_a_parameter():
    result = run_experiment(noisy_spec("maximize", "p"), {}, seed=1)
    (outer,) = [n for p, n in sessions_of(result.name).items() if not any("@" in s for s in p)]
    assert session.info(outer).pruner == "asha"


def test_run_exp_refuses_a_bad_pruner_in_one_line():
    proc = subprocess.run([str(RUN_EXP), "demo", "--tune:pruner=bob", "--steps=2"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "--tune:pruner=bob is not valid" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def test_kill_9_then_resume_of_a_pruned_run_gives_the_same_results(tmp_path, calls):
    overrides = {**PRUNED, "tune:settings": 8, "delay": 0.2}
    reference = run_experiment("demo", overrides, seed=7)
    outer_ref = session.progress(tuning_session(reference.name))
    assert outer_ref.pruned > 0
    total = calls.count()
    calls.reset()
    argv = [str(RUN_EXP), "demo", *(f"--{k}={v}" for k, v in overrides.items()), "--seed=7"]
    log = tmp_path / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: calls.count() >= total // 2, 180, "half the objective calls")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    name = re.search(r"running (exp:\S+)", log.read_text()).group(1)
    assert state.read(name)["status"] == "running"
    resumed = subprocess.run(argv + [f"--resume={name}"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    stored = state.read(name)
    assert stored["status"] == "complete"
    assert canonical(stored["results"]) == canonical(reference.results)
    outer = session.progress(tuning_session(name))
    assert (outer.completed, outer.pruned) == (outer_ref.completed, outer_ref.pruned)
