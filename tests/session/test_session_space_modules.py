"""A space that calls a function some module defines on import (a hyperopt
``@scope.define``): local worker processes import the session's
``space_modules`` before they evaluate it, and a space that does not
evaluate fails its trial with the traceback instead of killing the worker
(which used to come back as three lost leases)."""

from __future__ import annotations

import textwrap
import uuid

import pytest

from slurm_search import session
from slurm_search.session import workers

SPACE_MODULE = '''
from hyperopt import hp
from hyperopt.pyll import scope


@scope.define
def {clip}(val, low, high):
    return min(max(val, low), high)


@scope.define
def {broken}(val):
    raise ValueError("this scope function always fails")


SPACE = {{"x": scope.{clip}(hp.uniform("x", 0, 1), 0.25, 0.75)}}
BROKEN = {{"x": scope.{broken}(hp.uniform("x", 0, 1))}}
'''

OBJECTIVE_MODULE = '''
def objective(params, context):
    return {"loss": params["x"]}
'''


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """A space module and an objective module (apart: importing the
    objective must not define the space's functions), importable here and
    in worker processes."""
    tag = uuid.uuid4().hex[:8]
    names = {"space": f"spacemod_{tag}", "objective": f"objmod_{tag}"}
    (tmp_path / f"{names['space']}.py").write_text(
        textwrap.dedent(SPACE_MODULE.format(clip=f"clip_{tag}", broken=f"broken_{tag}"))
    )
    (tmp_path / f"{names['objective']}.py").write_text(OBJECTIVE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    # Fresh `ssearch work_on` processes, as on Slurm (a forked worker would
    # inherit this process's scope functions).
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", "spawn")
    import importlib

    return names, importlib.import_module(names["space"])


def _run_cpu(name: str) -> None:
    try:
        workers.launch(name, method="cpu", workers=1, show_progress=False)
    except session.SlurmSearchError:
        pass  # a failed session: the trials say why


def test_cpu_workers_import_the_space_modules(modules):
    names, space_module = modules
    name = session.create_session(
        f"{names['objective']}:objective", space_module.SPACE, max_evals=6, seed=1,
        metadata={"space_modules": [names["space"]]},
    )
    _run_cpu(name)
    results = session.results(name)
    assert len(results) == 6
    assert all(0.25 <= r.params["x"] <= 0.75 for r in results)
    assert session.progress(name).status == "done"


def test_a_space_that_does_not_evaluate_fails_its_trial_with_the_traceback(modules):
    names, space_module = modules
    # Without space_modules the worker cannot evaluate the clip function.
    name = session.create_session(f"{names['objective']}:objective", space_module.SPACE, max_evals=2, seed=1)
    _run_cpu(name)
    docs = session.trial_docs(name)
    assert docs and all(doc["result"]["status"] == "fail" for doc in docs)
    failure = docs[0]["result"]["failure"]
    assert "KeyError" in failure and "clip_" in failure
    assert "lease" not in failure
    assert all(doc["version"] == 1 for doc in docs)  # failed at once, no lost lease retried


def test_an_error_raised_by_the_space_fails_its_trial(modules):
    names, space_module = modules
    name = session.create_session(
        f"{names['objective']}:objective", space_module.BROKEN, max_evals=2, seed=1,
        metadata={"space_modules": [names["space"]]},
    )
    _run_cpu(name)
    docs = session.trial_docs(name)
    assert docs and all(doc["result"]["status"] == "fail" for doc in docs)
    assert "this scope function always fails" in docs[0]["result"]["failure"]
    assert session.progress(name).status == "failed"


def test_next_trial_fails_a_trial_whose_space_does_not_evaluate_and_claims_on(modules):
    names, space_module = modules
    name = session.create_session(
        f"{names['objective']}:objective", space_module.BROKEN, max_evals=3, seed=1, max_failures=3,
    )
    # In this process the broken function is defined: every space evaluation raises.
    with pytest.raises(session.NoMoreTrials) as info:
        session.next_trial(name, "me")
    assert info.value.reason == "failed"
    docs = session.trial_docs(name)
    assert len(docs) == 3 and all(doc["result"]["status"] == "fail" for doc in docs)
    assert all("this scope function always fails" in doc["result"]["failure"] for doc in docs)
