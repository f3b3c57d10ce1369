"""A sampling node's algo="pbt": the settings checked as the session checks them."""

from __future__ import annotations

import pytest

from slurm_search.dsl import BadValue, maximizing_sampling, random_sampling
from slurm_search.dsl._settings import check_pbt


def test_a_maximizing_node_takes_algo_pbt_and_its_options():
    node = maximizing_sampling("h", "expr", sample_count=4, algo="pbt", pbt_options={"interval": 5},
                               maximize_measure="mean")
    assert (node.algo, node.pbt_options) == ("pbt", {"interval": 5})
    options = check_pbt("maximizing_sampling('h')", "maximize", "pbt", {"interval": 5}, 4, (None, None))
    assert options["population"] == 4 and options["interval"] == 5 and options["quantile"] == 0.25
    assert check_pbt("w", "maximize", None, None, 4, (None, None)) is None
    assert random_sampling("x", "expr", sample_count=2).algo is None


@pytest.mark.parametrize(
    ("strategy", "algo", "options", "pruner", "words"),
    [
        ("random", "pbt", {"interval": 5}, (None, None), "PBT needs a goal"),
        ("maximize", "tpe", None, (None, None), "w algo"),
        ("maximize", "pbt", {"interval": 5}, ("asha", {}), "none with algo pbt"),
        ("maximize", "pbt", {}, (None, None), "w pbt_options:interval"),
        ("maximize", "pbt", {"interval": 5, "population": 3}, (None, None), "w max_evals"),
        ("maximize", None, {"interval": 5}, (None, None), "w pbt_options"),
    ],
)
def test_bad_pbt_settings_of_a_node(strategy, algo, options, pruner, words):
    with pytest.raises(BadValue) as err:
        check_pbt("w", strategy, algo, options, 4, pruner)
    assert words in str(err.value) and "\n" not in str(err.value)


MODULE = '''
import time

from hyperopt import hp

from slurm_search import session
from slurm_search.dsl import accepts_param_names, maximizing_sampling, report
from slurm_search.session import demo

STEPS = 40


@accepts_param_names
def toy(h):
    """pbt_toy as an experiment's function: reports its score, checkpoints every 5 steps."""
    saved = session.load_checkpoint()
    step, score = (0, 0.0) if saved is None else (saved["step"], saved["score"])
    while step < STEPS:
        score += demo.pbt_gain(float(h), step, STEPS)
        step += 1
        time.sleep(0.03)
        report(score, step)
        if step % 5 == 0:
            session.save_checkpoint({"step": step, "score": score}, step=step)
    return score


def experiment():
    node = maximizing_sampling("h", toy("h"), sample_count=4, method="cpu", threads=4,
                               algo="pbt", pbt_options="pbt")
    return {"session": node["session_name"]}


spec = {
    "config": {"h_space": hp.uniform("h", 0.0, 1.0), "pbt": {"interval": 5, "max_steps": STEPS}},
    "experiment_func": experiment,
}
'''


@pytest.fixture
def pbt_module(tmp_path, monkeypatch):
    import importlib
    import uuid

    name = f"pbt_exp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    importlib.import_module(name)
    return name


def test_an_experiments_pbt_node_runs_a_population_that_exploits(pbt_module):
    from slurm_search import session
    from slurm_search.dsl import run_experiment
    from slurm_search.session import demo

    result = run_experiment(f"{pbt_module}:spec", {}, seed=4)
    name = result.results["session"]
    info = session.info(name)
    assert info.algo == "pbt" and info.pbt_options["population"] == 4 and info.pbt_options["interval"] == 5
    progress = session.progress(name)
    assert (progress.status, progress.completed) == ("done", 4)
    assert session.pbt_exploits(name), "no member exploited"
    # Each member's value (the node maximises: loss = -score) replays from its schedule.
    for found in session.results(name):
        entries = session.pbt_schedule(name, found.tid)
        score = sum(
            demo.pbt_gain([p for s, p in entries if s <= t][-1]["value"], t, 40) for t in range(40)
        )
        assert -found.loss == pytest.approx(score, rel=1e-9)
