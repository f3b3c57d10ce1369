"""The `Executor` contract, asked of every launch method: inline, cpu, slurm and a user's own.

``threads`` is a user's executor (`user_executor.ThreadExecutor`), registered
at test time through a dist-info's entry points, the way a plug-in package
registers one: the registry takes it like a built-in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from _cli_helpers import ssearch
from user_executor import ThreadExecutor, install_executor

from slurm_search import session
from slurm_search.session import InvalidSetting
from slurm_search.session.workers import (
    MAX_WORKERS,
    Executor,
    Launched,
    LaunchError,
    SlurmExecutor,
    executor_for,
    launch,
    methods,
    plan,
)
from slurm_search.session.workers._registry import session_arguments

HERE = str(Path(__file__).parent)


@pytest.fixture
def user_executor(tmp_path, monkeypatch):
    """``threads`` registered through entry points, for this test (and its subprocesses)."""
    root = install_executor(tmp_path / "plugin")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), HERE, os.environ.get("PYTHONPATH", "")]))
    return root


@pytest.fixture(params=["inline", "cpu", pytest.param("slurm", marks=pytest.mark.slurm), "threads"])
def method(request, user_executor):
    if request.param == "slurm":
        request.getfixturevalue("slurm_cluster")
    return request.param


def _demo(max_evals: int) -> str:
    args = session_arguments("demo", {"sleep": 0.0})
    args.update(max_evals=max_evals, algo="rand", seed=4)
    return session.create_session(**args)


def test_the_registry_builds_it_under_its_word(method):
    assert method in methods()
    chosen = executor_for(method)
    assert isinstance(chosen, Executor) and chosen.name == method
    assert chosen.default_workers() >= 1
    assert plan(method).workers == chosen.default_workers()


def test_it_runs_every_trial_and_says_what_it_started(method):
    name = _demo(6)
    chosen = executor_for(method)
    launched = launch(name, method=method, workers=1 if chosen.in_process else 2, wait=False, show_progress=False)
    assert isinstance(launched, Launched) and launched.method == method and launched.name == name
    assert 1 <= launched.workers <= 2
    if chosen.in_process:
        assert launched.progress.status == "done"  # start returned when the work was done
    progress = launched.wait(show=False)
    assert progress is launched.progress and progress.status == "done" and progress.completed == 6
    assert sorted(result.tid for result in session.results(name)) == list(range(6))
    assert session.annotations(name)["launch"]["method"] == method
    assert launched.wait(show=False).status == "done"  # waiting again on a finished session returns at once


def test_a_bad_number_of_workers_is_refused_before_anything_is_written(method):
    for workers in (0, MAX_WORKERS + 1):
        with pytest.raises(InvalidSetting, match="invalid workers"):
            plan(method, workers)


def test_a_ctrl_c_stops_the_session_unless_the_workers_are_detached(method):
    name = _demo(4)
    chosen = executor_for(method)
    chosen.interrupted(name)
    assert (session.progress(name).status == "stopped") is not chosen.detached


def test_a_user_executor_is_one_of_the_methods(user_executor):
    assert methods()[:3] == ("inline", "cpu", "slurm")
    assert "threads" in methods() and isinstance(executor_for("threads"), ThreadExecutor)
    # A plug-in cannot take a built-in's word.
    assert type(executor_for("slurm")) is SlurmExecutor
    # An unknown word: one line naming every method, the user's among them.
    with pytest.raises(InvalidSetting) as unknown:
        plan("gpu")
    assert str(unknown.value) == "invalid method 'gpu': expected inline or cpu or slurm or nowhere or threads"
    # A registered executor that does not import: one line saying which.
    with pytest.raises(LaunchError, match=r"^executor nowhere \(no_such_module_here:Executor\) does not load: "):
        executor_for("nowhere")


def test_ssearch_launches_with_a_user_executor(user_executor):
    done = ssearch("start", "demo", "max_evals=5", "--method=threads", "--workers=2")
    assert done.returncode == 0, done.stderr
    name = done.stdout.strip()
    assert session.progress(name).completed == 5
    assert session.annotations(name)["launch"] == {"method": "threads", "workers": 2, "slurm": {}}
