"""Workers as real local processes (`launch(method="cpu")`)."""

from __future__ import annotations

import pytest

from slurm_search import session
from slurm_search.session._launch import launch
from slurm_search.session._launch_errors import WorkersFailed
from slurm_search.session._registry import session_arguments

from _cli_helpers import install_plugin


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
