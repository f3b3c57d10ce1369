"""Optuna's samplers as session algorithms (`algo="optuna:NAME"`), on real sessions and worker processes."""

from __future__ import annotations

import collections
import math
import subprocess
import sys

import pytest
from _session_helpers import kill_mid_trial, worker_env, workers  # noqa: F401 - a fixture
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session._events import Annotate, Claim, Result
from slurm_search.session._view import View

optuna = pytest.importorskip("optuna")

SAMPLERS = ["TPESampler", "GPSampler", "CmaEsSampler", "QMCSampler", "NSGAIISampler", "RandomSampler"]

# Every hyperopt distribution, with a conditional branch.
SPACE = {
    "x": hp.uniform("x", -5, 10),
    "y": hp.quniform("y", 0, 15, q=0.5),
    "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1)),
    "n": hp.randint("n", 1, 5),
    "opt": hp.choice("opt", [
        {"kind": "adam", "beta": hp.normal("beta", 0.9, 0.02)},
        {"kind": "sgd", "units": hp.qloguniform("units", math.log(8), math.log(256), 8)},
    ]),
}
FLAT = {"x": hp.uniform("x", -5, 10), "y": hp.uniform("y", 0, 15)}


def _needs(sampler: str) -> None:
    if sampler == "CmaEsSampler":
        pytest.importorskip("cmaes")


def _vals(name: str) -> list[dict]:
    return [t.vals for t in sorted(View(name).refresh().trials.values(), key=lambda t: t.tid)]


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_a_sampler_suggests_in_the_space_with_its_conditional_branches(sampler):
    _needs(sampler)
    name = session.create_session(
        "session_test_objectives:rich", SPACE, algo=f"optuna:{sampler}", max_evals=12, seed=3,
    )
    session.work_on(name)
    rows = session.trial_rows(name)
    assert [r.state for r in rows] == ["ok"] * 12
    for row in rows:
        p = row.params
        assert -5 <= p["x"] <= 10 and 0 <= p["y"] <= 15 and p["y"] * 2 == int(p["y"] * 2)
        assert 1e-4 <= p["lr"] <= 1e-1 and p["n"] in (1, 2, 3, 4)
        # Exactly the taken branch's labels are set.
        if p["opt:kind"] == "adam":
            assert "opt:beta" in p and "opt:units" not in p and row.vals.keys() >= {"beta"}
        else:
            assert p["opt:units"] % 8 == 0 and "opt:beta" not in p
        active = {label for label, v in View(name).refresh().trials[row.tid].vals.items() if v}
        assert active == {"x", "y", "lr", "n", "opt", "beta" if p["opt:kind"] == "adam" else "units"}
    # Hyperopt's own tools read the trials.
    assert len(session.trial_docs(name)) == 12


@pytest.mark.parametrize("sampler", ["TPESampler", "GPSampler", "QMCSampler", "NSGAIISampler", "CmaEsSampler"])
def test_the_same_seed_gives_the_same_suggestions(sampler):
    _needs(sampler)
    runs = []
    for _ in range(2):
        name = session.create_session(
            "session_test_objectives:rich", SPACE, algo=f"optuna:{sampler}", max_evals=10, seed=11,
            sampler_options={"n_startup_trials": 3} if sampler in ("TPESampler", "GPSampler") else None,
        )
        session.work_on(name)
        runs.append(_vals(name))
    assert runs[0] == runs[1]
    other = session.create_session("session_test_objectives:rich", SPACE, algo=f"optuna:{sampler}", max_evals=10,
                                   seed=12)
    session.work_on(other)
    assert _vals(other) != runs[0]


def test_tpe_learns_from_the_sessions_history():
    # After its startup trials, TPE's suggestions come from the history: better than random on average.
    best = {}
    for algo in ("optuna:TPESampler", "optuna:RandomSampler"):
        name = session.create_session("session_test_objectives:branin", FLAT, algo=algo, max_evals=40, seed=5,
                                      sampler_options={"n_startup_trials": 10} if "TPE" in algo else None)
        session.work_on(name)
        best[algo] = session.best(name).loss
    assert best["optuna:TPESampler"] < best["optuna:RandomSampler"]


def test_cma_es_keeps_its_state_between_suggestions_in_the_log():
    pytest.importorskip("cmaes")
    name = session.create_session("session_test_objectives:branin", FLAT, algo="optuna:CmaEsSampler", max_evals=20,
                                  seed=5)
    session.work_on(name)
    notes = session.annotations(name)
    # Trial 0 is CMA-ES's random start (no state); the others carry their generation.
    generations = {notes[f"optuna:trial:{tid}"].get("cma:generation") for tid in range(1, 20)}
    assert len(generations - {None}) > 1  # it advanced past its first generation


def test_gp_suggests_before_the_lock_and_records_nothing_the_log_already_holds():
    # GPSampler shares a running trial's params through trial system attrs; the study we rebuild
    # has them from the log, so they are not recorded, and GP's guess made before the lock (it
    # keeps no other state) is the one made under it: workers fit their GPs in parallel.
    from slurm_search.session._names import session_name
    from slurm_search.session._suggesting import prepare, suggest_new
    from slurm_search.session._view import view

    name = session.create_session("session_test_objectives:branin", FLAT, algo="optuna:GPSampler", max_evals=8,
                                  seed=5, sampler_options={"n_startup_trials": 3})
    session.work_on(name)
    assert not [key for key in session.annotations(name) if key.startswith("optuna:")]
    session.delete_trial(name, 7)  # room for one more: trial 8
    v = view(session_name(name))
    guess = prepare(v, True, "w")
    assert guess is not None and guess[0] == 8
    with v.mutex:
        v.refresh()
        assert suggest_new(v, 8) == (guess[1], [])


def test_nsga2_keeps_its_generations_in_the_log():
    name = session.create_session("session_test_objectives:branin", FLAT, algo="optuna:NSGAIISampler", max_evals=12,
                                  seed=5, sampler_options={"population_size": 4})
    session.work_on(name)
    notes = session.annotations(name)
    generations = [notes[f"optuna:trial:{tid}"]["NSGAIISampler:generation"] for tid in range(12)]
    assert generations == sorted(generations) and generations[-1] >= 1
    # ssearch show does not print the sampler's state.
    from click.testing import CliRunner

    from slurm_search.session.workers._cli import cli

    out = CliRunner().invoke(cli, ["show", name]).output
    assert "optuna:trial" not in out and "generation" not in out


def test_bad_sampler_settings_are_one_line():
    from click.testing import CliRunner

    from slurm_search.session.workers._cli import cli

    with pytest.raises(session.InvalidSetting, match="optuna:TPESampler"):
        session.create_session("session_test_objectives:noop", FLAT, algo="optuna:Nope", max_evals=2)
    with pytest.raises(session.InvalidSetting, match="keyword arguments of TPESampler"):
        session.create_session("session_test_objectives:noop", FLAT, algo="optuna:TPESampler", max_evals=2,
                               sampler_options={"bogus": 1})
    with pytest.raises(session.InvalidSetting, match="only an optuna:NAME algo"):
        session.create_session("session_test_objectives:noop", FLAT, algo="tpe", max_evals=2,
                               sampler_options={"n_startup_trials": 1})
    result = CliRunner().invoke(cli, ["start", "demo", "algo=optuna:Nope", "max_evals=2", "--method=inline"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        "ssearch: error: invalid algo 'optuna:Nope': expected optuna:TPESampler, optuna:GPSampler, "
        "optuna:CmaEsSampler, optuna:QMCSampler, optuna:NSGAIISampler, optuna:RandomSampler"
    ]
    assert state.names() == []  # nothing stored
    # And from the command line, a working one with its options.
    result = CliRunner().invoke(cli, ["start", "demo", "algo=optuna:TPESampler", "sampler_options:n_startup_trials=2",
                                      "max_evals=4", "seed=1", "--method=inline"])
    assert result.exit_code == 0, result.output
    name = result.stdout.strip()
    assert session.progress(name).completed == 4
    assert View(name).refresh().spec.sampler_options == {"n_startup_trials": 2}


def test_without_optuna_one_line_says_how_to_install_it(tmp_path):
    # A Python where `import optuna` fails.
    (tmp_path / "optuna.py").write_text("raise ImportError('No module named optuna')\n")
    code = (
        "from hyperopt import hp\n"
        "from slurm_search import session\n"
        "try:\n"
        "    session.create_session('session_test_objectives:noop', {'x': hp.uniform('x', 0, 1)},"
        " algo='optuna:TPESampler', max_evals=2)\n"
        "except session.InvalidSetting as err:\n"
        "    print(err)\n"
    )
    env = worker_env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines() == [
        "invalid algo 'optuna:TPESampler': expected optuna, which is not installed: "
        "pip install 'slurm-search-session[optuna]' (or pip install optuna)"
    ]


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_four_processes_one_killed_mid_trial(sampler, workers):  # noqa: F811
    _needs(sampler)
    name = session.create_session(
        "session_test_objectives:sleepy", FLAT, algo=f"optuna:{sampler}", max_evals=24, seed=7,
        context={"sleep": 0.1}, lease_seconds=2.0,
        sampler_options={"n_startup_trials": 4} if sampler in ("TPESampler", "GPSampler") else None,
    )
    procs = workers(name, 4)
    victim = procs[0]
    killed_tid = kill_mid_trial(name, victim, lambda owner: owner.split(":")[1] == str(victim.pid), min_ok=6)
    for p in procs[1:]:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    p = session.progress(name)
    assert (p.status, p.completed, p.failed, p.running) == ("done", 24, 0, 0)
    st = View(name).refresh()
    assert sorted(st.trials) == list(range(24))
    killed = st.trials[killed_tid]
    assert killed.status == "ok" and killed.attempt == 2  # re-run by another worker, with the same params
    recs, _ = state.records(name)
    results = collections.Counter(r.tid for r in recs if isinstance(r, Result))
    assert set(results.values()) == {1} and len(results) == 24
    first_claim = next(r for r in recs if isinstance(r, Claim) and r.tid == killed_tid)
    assert killed.vals == first_claim.vals
    # The sampler's state went to the log with the claims, under the same lock.
    if sampler in ("NSGAIISampler", "CmaEsSampler"):
        assert any(isinstance(r, Annotate) and r.key.startswith("optuna:trial:") for r in recs)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["QMCSampler", "RandomSampler"])
def test_qmc_and_random_suggest_the_same_at_any_worker_count(sampler, workers):  # noqa: F811
    runs = []
    for n in (1, 3):
        name = session.create_session("session_test_objectives:sleepy", FLAT, algo=f"optuna:{sampler}",
                                      max_evals=12, seed=21, context={"sleep": 0.05})
        if n == 1:
            session.work_on(name)
        else:
            for p in workers(name, n):
                assert p.wait(timeout=300) == 0, p.stderr.read().decode()
        runs.append(_vals(name))
    assert runs[0] == runs[1]
