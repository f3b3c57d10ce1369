"""Workers as real local processes (`launch(method="cpu")`)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys

import pytest
import session_test_objectives
from _cli_helpers import install_plugin
from _session_helpers import kill_mid_trial, worker_env
from hyperopt import hp

from slurm_search import locking, session, state
from slurm_search.session._events import Result
from slurm_search.session.workers import launch
from slurm_search.session.workers._errors import WorkersFailed
from slurm_search.session.workers._local import start_workers, wait_workers
from slurm_search.session.workers._registry import session_arguments
from slurm_search.session._view import View


def _demo(max_evals, sleep=0.0, **own):
    args = session_arguments("demo", {"sleep": sleep})
    args.update(max_evals=max_evals, **own)
    return session.create_session(**args)


def test_cpu_workers_run_every_trial_once(slurm_search_home):
    name = _demo(12, sleep=0.1, seed=5)
    launched = launch(name, method="cpu", workers=2, show_progress=False)
    assert launched.progress.status == "done"
    assert [proc.returncode for proc in launched.processes] == [0, 0]
    results = session.results(name)
    assert sorted(r.tid for r in results) == list(range(12))
    docs = session.trial_docs(name)
    assert {doc["owner"] for doc in docs} <= {f"cpu_{p}_{i}" for p in [_launcher(docs)] for i in (0, 1)}
    logs = sorted(p.name for p in (slurm_search_home / "search" / name.split(":")[1] / "logs").iterdir())
    assert len(logs) == 4 and all(n.startswith("cpu_") for n in logs)
    assert session.annotations(name)["launch"] == {"method": "cpu", "workers": 2, "slurm": {}}


def _launcher(docs):
    # Worker ids are cpu_<launcher pid>_<index>.
    return docs[0]["owner"].split("_")[1]


def test_launch_without_waiting_then_wait(capfd):
    name = _demo(6)
    launched = launch(name, method="cpu", workers=2, wait=False)
    assert launched.progress is None and len(launched.processes) == 2
    progress = launched.wait(show=True)
    assert progress.status == "done" and progress.completed == 6


def test_workers_that_all_die_raise_workers_failed(tmp_path, monkeypatch):
    plugins = install_plugin(tmp_path / "plugins")
    monkeypatch.syspath_prepend(str(plugins))
    monkeypatch.setenv("PYTHONPATH", str(plugins))  # for the worker processes
    name = session.create_session(**session_arguments("crashing", {}))
    with pytest.raises(WorkersFailed) as info:
        launch(name, method="cpu", workers=2, show_progress=False)
    assert info.value.name == name
    assert "exit codes [3, 3]" in str(info.value) and f"ssearch logs {name}" in str(info.value)
    # Nothing recorded, nothing lost: the claimed trials wait for their leases.
    progress = session.progress(name)
    assert progress.completed == 0 and progress.running == 2


def test_inline_and_bad_settings():
    name = _demo(3)
    assert launch(name, method="inline").progress.completed == 3
    with pytest.raises(session.InvalidSetting):
        launch(name, method="gpu")
    with pytest.raises(session.InvalidSetting):
        launch(name, method="inline", workers=2)
    with pytest.raises(session.UnknownSession):
        launch("search:nothing_here", method="cpu", workers=1)


# -- how local workers start: forked from the launcher, or fresh processes ----

WHERE = "session_test_objectives:where"
SPACE = {"x": hp.uniform("x", 0, 1)}


@pytest.fixture
def workers_find_test_objectives(monkeypatch):
    # Spawned workers import the test objectives by path; forked ones have them.
    monkeypatch.setenv("PYTHONPATH", worker_env()["PYTHONPATH"])


def _ran_where(name: str) -> tuple[set[int], set[bool]]:
    results = session.results(name)
    return {r.result["pid"] for r in results}, {r.result["forked"] for r in results}


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_both_ways_of_starting_run_every_trial_once(start, monkeypatch, workers_find_test_objectives):
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", start)
    monkeypatch.setattr(session_test_objectives, "FORKED_FROM", os.getpid())
    name = session.create_session(WHERE, SPACE, max_evals=10, context={"sleep": 0.05})
    launched = launch(name, method="cpu", workers=2, show_progress=False)
    assert launched.progress.status == "done"
    assert [proc.returncode for proc in launched.processes] == [0, 0]
    assert sorted(r.tid for r in session.results(name)) == list(range(10))
    pids, forked = _ran_where(name)
    assert pids <= {proc.pid for proc in launched.processes} and os.getpid() not in pids
    assert forked == {start == "fork"}
    # Both keep the same worker log: `ssearch -v work_on`'s lines.
    logs = state.paths(name).dir / "logs"
    for proc_index in (0, 1):
        err = next(logs.glob(f"cpu_*_{proc_index}.err")).read_text()
        assert f"_{proc_index} starts on {name}" in err and f"_{proc_index} stops on {name} (done)" in err


AUTO_SCRIPT = """
import json, os, sys, threading, types
import session_test_objectives
session_test_objectives.FORKED_FROM = os.getpid()
from hyperopt import hp
from slurm_search import locking, session
from slurm_search.session.workers import launch
from slurm_search.session.workers._local import fork_is_safe

def forked():
    name = session.create_session("session_test_objectives:where", {"x": hp.uniform("x", 0, 1)}, max_evals=4)
    launch(name, method="cpu", workers=2, show_progress=False)
    return sorted({r.result["forked"] for r in session.results(name)})

seen = {"clean": fork_is_safe(False), "clean_forked": forked()}
release = threading.Event()
helper = threading.Thread(target=release.wait)
helper.start()
seen["thread"], seen["thread_forked"] = fork_is_safe(False), forked()
release.set()
helper.join()
with locking.lock("some.lock"):
    seen["lock"] = fork_is_safe(False)
seen["detach"] = fork_is_safe(True)
sys.modules["torch"] = types.ModuleType("torch")  # the rule only looks at the name
seen["torch"] = fork_is_safe(False)
print(json.dumps(seen))
"""


def test_auto_forks_only_when_it_is_safe(workers_find_test_objectives, monkeypatch):
    # In a fresh interpreter: this test process has threads of other tests.
    monkeypatch.delenv("SLURM_SEARCH_WORKER_START", raising=False)
    out = subprocess.run([sys.executable, "-c", AUTO_SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["clean"] is None and seen["clean_forked"] == [True]
    # Another thread is running: a fork would copy it half-way; spawn instead.
    assert seen["thread"] == "this process runs 2 threads" and seen["thread_forked"] == [False]
    assert seen["lock"] == "this thread holds locks ['some.lock']"
    assert "detached" in seen["detach"] and "torch is imported" in seen["torch"]


def test_a_bad_start_setting_is_refused_before_anything_starts(monkeypatch):
    monkeypatch.setenv("SLURM_SEARCH_WORKER_START", "thread")
    name = session.create_session(WHERE, SPACE, max_evals=4)
    with pytest.raises(locking.InvalidEnvironmentSetting) as info:
        launch(name, method="cpu", workers=2, show_progress=False)
    assert "SLURM_SEARCH_WORKER_START" in str(info.value) and "auto, fork, spawn" in str(info.value)
    assert session.progress(name).completed == 0 and not (state.paths(name).dir / "logs").exists()


@pytest.mark.slow
def test_a_forked_worker_killed_mid_trial_loses_nothing(monkeypatch):
    monkeypatch.setattr(session_test_objectives, "FORKED_FROM", os.getpid())
    name = session.create_session(WHERE, SPACE, max_evals=40, context={"sleep": 0.1}, lease_seconds=2.0, seed=3)
    procs = start_workers(name, 2, start="fork")
    victim = procs[0]
    killed_tid = kill_mid_trial(name, victim, lambda owner: owner.endswith("_0"), min_ok=5)
    assert victim.wait() == -signal.SIGKILL
    # The other worker waits for the dead one's lease, then re-runs its trial.
    progress = wait_workers(name, procs, show=False)
    assert (progress.status, progress.completed, progress.failed) == ("done", 40, 0)
    killed = View(name).refresh().trials[killed_tid]
    assert killed.status == "ok" and killed.attempt == 2 and killed.owner.endswith("_1")
    recs, _ = state.records(name)
    recorded = collections.Counter(r.tid for r in recs if isinstance(r, Result))
    assert sorted(recorded) == list(range(40)) and set(recorded.values()) == {1}


def test_ssearch_start_refuses_a_bad_start_setting_before_creating_the_session(slurm_search_home):
    from _cli_helpers import ssearch

    out = ssearch("start", "demo", "max_evals=4", "--method=cpu", "--workers=2",
                  env={**os.environ, "SLURM_SEARCH_WORKER_START": "threads"})
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert [line for line in out.stderr.splitlines() if line.strip()] == [
        "ssearch: error: SLURM_SEARCH_WORKER_START='threads' is not valid: use one of auto, fork, spawn"
    ]
    assert state.names("search") == []
    # The same command with a good setting creates and runs the session.
    assert ssearch("start", "demo", "max_evals=4", "--method=cpu", "--workers=2").returncode == 0
    assert len(state.names("search")) == 1
