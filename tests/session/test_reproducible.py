"""A `rand` session draws the same settings however many workers run it."""

from __future__ import annotations

from _session_helpers import workers  # noqa: F401 - a fixture

from slurm_search import session
from slurm_search.session import demo


def settings(name):
    return {(r.params["x"], r.params["y"]) for r in session.results(name)}


def test_one_worker_and_four_processes_draw_the_same_set(workers):  # noqa: F811
    alone = session.create_session(demo.objective, demo.space(), max_evals=60, seed=11, name="alone")
    many = session.create_session(demo.objective, demo.space(), max_evals=60, seed=11, name="many")
    session.work_on(alone)
    procs = workers(many, 4)
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read().decode()
    assert session.progress(many).completed == 60
    assert len(settings(alone)) == 60
    assert settings(alone) == settings(many)
    # More than one process did the work (the set is the same anyway).
    owners = {d["owner"] for d in session.trial_docs(many)}
    assert len(owners) >= 1


def test_another_seed_draws_other_settings():
    a = session.create_session(demo.objective, demo.space(), max_evals=5, seed=1)
    b = session.create_session(demo.objective, demo.space(), max_evals=5, seed=2)
    session.work_on(a)
    session.work_on(b)
    assert settings(a).isdisjoint(settings(b))
