"""Suggestions from hyperopt's algorithms, and trials as hyperopt documents."""

from __future__ import annotations

import itertools

import hyperopt
import pytest
from _session_helpers import workers  # noqa: F401 - a fixture
from hyperopt import hp

from slurm_search import session
from slurm_search.session import InvalidSpace
from slurm_search.session._space import trial_doc
from slurm_search.session._view import View

OBJ = "slurm_search.session.demo:objective"


def space():
    return {
        "x": hp.uniform("x", -2, 2),
        "y": hp.uniform("y", -2, 2),
        "kind": hp.choice("kind", ["a", {"z": hp.loguniform("z", -3, 0)}]),
    }


def check_docs(name, sp, max_evals):
    docs = session.trial_docs(name)
    trials = hyperopt.trials_from_docs(docs)  # validates the documents
    assert len(trials) == max_evals == len(docs)
    assert [d["tid"] for d in docs] == list(range(max_evals))
    by_tid = {r.tid: r for r in session.results(name)}
    for doc in docs:
        assert doc["state"] == hyperopt.JOB_STATE_DONE and doc["result"]["status"] == "ok"
        assert doc["misc"]["idxs"] == {k: [doc["tid"]] if v else [] for k, v in doc["misc"]["vals"].items()}
        params = hyperopt.space_eval(sp, {k: v[0] for k, v in doc["misc"]["vals"].items() if v})
        assert params == by_tid[doc["tid"]].params
        assert doc["result"]["loss"] == pytest.approx(params["x"] ** 2 + params["y"] ** 2)
    return trials


@pytest.mark.parametrize("algo", ["rand", "tpe", "anneal"])
def test_sessions_complete_with_valid_hyperopt_docs(algo):
    sp = space()
    name = session.create_session(OBJ, sp, algo=algo, max_evals=30, seed=4)
    report = session.work_on(name, worker_id="w")
    assert report == (30, 0, 0, "done")
    trials = check_docs(name, sp, 30)
    assert trials.best_trial["result"]["loss"] == session.best(name).loss
    assert session.worst(name).loss == max(trials.losses())


def test_tpe_uses_the_history():
    # After its 20 random start-up trials, TPE concentrates near the minimum.
    name = session.create_session(OBJ, {"x": hp.uniform("x", -2, 2), "y": hp.uniform("y", -2, 2)},
                                  algo="tpe", max_evals=60, seed=1)
    session.work_on(name)
    losses = [r.loss for r in session.results(name)]
    assert sum(losses[40:]) / 20 < sum(losses[:20]) / 20


def test_incremental_hyperopt_trials_match_a_fresh_build():
    name = session.create_session(OBJ, space(), algo="tpe", max_evals=8, max_attempts=1, max_failures=5, seed=2)
    view = View(name)
    view.refresh()
    view.hyperopt.trials(view.state)
    claimed = [session.next_trial(name, f"w{i}") for i in range(5)]
    session.record_result(name, "w0", claimed[0].tid, 1.0)
    session.record_failure(name, "w1", claimed[1].tid, "Traceback: x")
    session.delete_trial(name, claimed[2].tid)
    for _ in range(2):
        st = view.refresh()
        synced = view.hyperopt.trials(view.state)
        expected = [trial_doc(st.trials[t]) for t in sorted(st.trials)]
        assert sorted(synced._dynamic_trials, key=lambda d: d["tid"]) == expected
        # Failed (ERROR) trials are left out of what algorithms see.
        assert {d["tid"] for d in synced.trials} == {t for t, tr in st.trials.items() if tr.status != "failed"}
        session.restart(name)


def test_enumeration_order_and_exhaustiveness():
    sp = {"lr": [0.1, 0.01, 0.001], "layers": hp.choice("layers", [1, 2]), "seed": hp.randint("seed", 2)}
    name = session.create_session(OBJ, sp, algo="enumeration")
    assert session.info(name).max_evals == 12  # defaults to the grid's size
    # Two workers interleave, and get every setting once, in order.
    got = []
    for i in range(12):
        t = session.next_trial(name, f"w{i % 2}")
        got.append(t.params)
        session.record_result(name, f"w{i % 2}", t.tid, 0.0)
    with pytest.raises(session.NoMoreTrials):
        session.next_trial(name, "w0")
    # hyperopt orders a dict's labels by key; the first label varies slowest.
    expected = [
        {"layers": la, "lr": lr, "seed": s}
        for la, lr, s in itertools.product([1, 2], [0.1, 0.01, 0.001], [0, 1])
    ]
    assert got == expected
    hyperopt.trials_from_docs(session.trial_docs(name))


def test_enumeration_caps_max_evals_and_refills_deleted_settings():
    name = session.create_session(OBJ, {"a": [1, 2, 3]}, algo="enumeration", max_evals=50)
    assert session.info(name).max_evals == 3
    session.work_on(name)
    session.delete_trial(name, 1)
    t = session.next_trial(name, "w")
    assert (t.tid, t.params) == (3, {"a": 2})  # the deleted setting, under a new tid


def test_enumeration_takes_a_prefix_when_max_evals_is_smaller():
    name = session.create_session(OBJ, {"a": [1, 2, 3], "b": [4, 5]}, algo="enumeration", max_evals=3)
    session.work_on(name)
    assert [r.params for r in session.results(name)] == [{"a": 1, "b": 4}, {"a": 1, "b": 5}, {"a": 2, "b": 4}]


@pytest.mark.parametrize(
    "sp",
    [
        {"x": hp.uniform("x", 0, 1)},
        {"c": hp.choice("c", [1, {"x": hp.choice("x", [1, 2])}])},
    ],
)
def test_enumeration_refuses_what_it_cannot_enumerate(sp):
    with pytest.raises(InvalidSpace):
        session.create_session(OBJ, sp, algo="enumeration")


def test_top_level_lists_are_choices_for_every_algo():
    name = session.create_session(OBJ, {"x": [0.5, 1.5], "y": hp.uniform("y", 0, 1)}, max_evals=10, seed=1)
    session.work_on(name)
    assert {r.params["x"] for r in session.results(name)} <= {0.5, 1.5}


@pytest.mark.parametrize("algo", ["tpe", "anneal"])
def test_parallel_model_based_workers_suggest_distinct_points(workers, algo):  # noqa: F811
    # tpe and anneal suggest before taking the lock; two workers that guessed
    # the same tid from the same history must not both run the same point.
    sp = {"x": hp.uniform("x", -2, 2), "y": hp.uniform("y", -2, 2)}
    name = session.create_session(OBJ, sp, algo=algo, max_evals=40, seed=3)
    for p in workers(name, 3):
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    check_docs(name, sp, 40)
    points = {(r.params["x"], r.params["y"]) for r in session.results(name)}
    assert len(points) == 40


def test_one_tpe_worker_is_reproducible():
    sp = {"x": hp.uniform("x", -2, 2)}
    runs = []
    for name in ("one", "two"):
        session.create_session(OBJ, sp, algo="tpe", max_evals=25, seed=9, name=name)
        session.work_on(name)
        runs.append([r.params for r in session.results(name)])
    assert runs[0] == runs[1]
