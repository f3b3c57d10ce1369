"""Every session a DSL run makes records its objective as this reference; a
stored run's workers import it, so it may never change (no golden session
holds one: this test pins it)."""

from __future__ import annotations

import pkgutil

from slurm_search import session
from slurm_search.dsl import run_experiment

DSL_OBJECTIVE = "slurm_search.dsl._objective:evaluate"


def test_a_dsl_session_records_the_dsl_objective_by_this_reference(calls):  # noqa: ARG001 (the demo counts calls)
    assert callable(pkgutil.resolve_name(DSL_OBJECTIVE))
    before = {s.name for s in session.list_sessions(all=True)}
    run_experiment("slurm_search.dsl.demo:sweep", {"sweep:seeds": 1}, seed=3)
    made = [s.name for s in session.list_sessions(all=True) if s.name not in before]
    assert made and {session.info(name).objective for name in made} == {DSL_OBJECTIVE}
