"""ssearch in a new user's first hour, round 3 (issue 21): your own objective
from the current folder, Ctrl-C, the end of a session, --help, rm, and
doctor's litter. Real ``ssearch`` processes on the test's own store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from slurm_search import session
from slurm_search.locking import locks_dir

SSEARCH = Path(sys.executable).parent / "ssearch"

MYMOD = '''
from hyperopt import hp


def objective(params, context=None):
    scale = (context or {}).get("scale", 1)
    return scale * (params["x"] - 0.25) ** 2 - 0.0301234567


def other_space():
    return {"x": hp.uniform("x", 0, 1)}


space = {"x": hp.uniform("x", -2, 2)}
'''


def ssearch(*args: str, cwd: Path | None = None, env: dict | None = None, stdin: str | None = None):
    return subprocess.run(
        [str(SSEARCH), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


@pytest.fixture
def project(tmp_path):
    """A user's folder holding mymod.py (not importable from anywhere else)."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "mymod.py").write_text(MYMOD)
    return folder


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_start_module_function_runs_your_objective_from_the_current_folder(project, start):
    env = {**os.environ, "SLURM_SEARCH_WORKER_START": start}
    out = ssearch("start", "mymod:objective", "max_evals=6", "--method=cpu", "--workers=2", cwd=project, env=env)
    assert out.returncode == 0, out.stderr
    name = out.stdout.strip()
    now = session.progress(name)
    assert (now.completed, now.failed, now.status) == (6, 0, "done")
    # The space beside the objective (x in [-2, 2]) and the folder are recorded.
    assert all(-2 <= r.params["x"] <= 2 for r in session.results(name))
    assert session.info(name).metadata["folder"] == str(project)


def test_start_module_function_takes_space_and_context(project):
    out = ssearch("start", "mymod:objective", "space=mymod:other_space", "scale=3", "max_evals=4", "--method=inline",
                  cwd=project)
    assert out.returncode == 0, out.stderr
    name = out.stdout.strip()
    assert all(0 <= r.params["x"] <= 1 for r in session.results(name))
    assert session.context(name) == {"scale": 3}


def test_start_module_function_without_a_space_says_how(project):
    (project / "nospace.py").write_text("def objective(params, context):\n    return 0.0\n")
    out = ssearch("start", "nospace:objective", "--method=inline", cwd=project)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "define `space`" in out.stderr and "space=MODULE:NAME" in out.stderr
    assert session.list_sessions(all=True) == []


def test_start_module_function_elsewhere_says_to_run_it_in_the_module_folder(project, tmp_path):
    out = ssearch("start", "mymod:objective", "--method=inline", cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "there is no mymod.py in" in out.stderr and "folder that holds MODULE.py" in out.stderr


def test_an_unknown_type_names_module_function():
    out = ssearch("start", "dmeo")
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "MODULE:FUNCTION" in out.stderr and "demo" in out.stderr


def test_work_on_imports_the_objective_from_the_current_folder_and_says_what_it_did(project):
    sys.path.insert(0, str(project))
    try:
        import mymod

        # Created through the API: no folder recorded; the worker's folder has mymod.py.
        name = session.create_session("mymod:objective", mymod.space, max_evals=3)
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("mymod", None)
    out = ssearch("work_on", name, cwd=project)
    assert out.returncode == 0, out.stderr
    assert session.progress(name).completed == 3
    lines = out.stderr.strip().splitlines()
    assert f"{name}: this worker: 3 ok (done); session 3/3 done, 0 failed (done)" in lines
    best = session.best(name)
    assert f"{name}: best: trial {best.tid}, loss {best.loss:.6g}, x={best.params['x']:.6g}" in lines


def test_workers_elsewhere_find_the_folder_the_session_recorded(project, tmp_path):
    sys.path.insert(0, str(project))
    try:
        import mymod

        # What `ssearch start mymod:objective` records (tested above).
        name = session.create_session("mymod:objective", mymod.space, max_evals=3, metadata={"folder": str(project)})
    finally:
        sys.path.remove(str(project))
        sys.modules.pop("mymod", None)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = ssearch("work_on", name, cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    assert session.progress(name).status == "done"


def test_start_prints_the_best_trial_at_the_end(project):
    out = ssearch("start", "mymod:objective", "max_evals=5", "--method=inline", cwd=project)
    assert out.returncode == 0, out.stderr
    name = out.stdout.strip()
    best = session.best(name)
    assert f"{name}: best: trial {best.tid}, loss {best.loss:.6g}, x={best.params['x']:.6g}" in out.stderr


def test_ctrl_c_on_start_stops_the_session_and_prints_the_restart_command():
    proc = subprocess.Popen(
        [str(SSEARCH), "start", "demo", "sleep=0.5", "max_evals=40", "--method=cpu", "--workers=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    name = proc.stdout.readline().strip()
    deadline = time.time() + 60
    while session.progress(name).running == 0 and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Aborted!" not in err and f"continue it with: ssearch restart {name}" in err
    # Marked at once, not "running" until the leases (60 s) run out.
    assert session.progress(name).status == "stopped"
    rows = {row["name"]: row for row in json.loads(ssearch("list", "--json").stdout)}
    assert rows[name]["status"] == "stopped"


def test_start_help_lists_the_session_types_and_their_parameters():
    out = ssearch("start", "--help")
    assert out.returncode == 0
    text = " ".join(out.stdout.split())
    assert "Session types:" in out.stdout
    assert "demo The demo session type" in text and "sleep: seconds each evaluation sleeps" in text
    assert "steps: report intermediate values" in text
    assert "MODULE:FUNCTION your own objective" in text


def test_rm_asks_first_and_deletes_with_yes():
    name = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=2)
    refused = ssearch("rm", name, stdin="n\n")
    assert refused.returncode == 1 and "nothing deleted" in refused.stderr
    assert session.progress(name).max_evals == 2  # still there
    asked = ssearch("rm", name)  # no answer at all (no terminal)
    assert asked.returncode == 1 and "give --yes" in asked.stderr
    confirmed = ssearch("rm", name.split(":")[1], stdin="y\n")
    assert confirmed.returncode == 0 and f"{name}: deleted" in confirmed.stderr
    assert session.list_sessions(all=True) == []


def test_rm_stops_running_workers_before_deleting():
    started = ssearch("start", "demo", "sleep=1", "max_evals=20", "--method=cpu", "--workers=2", "--no-wait")
    name = started.stdout.strip()
    deadline = time.time() + 60
    while session.progress(name).running == 0 and time.time() < deadline:
        time.sleep(0.1)
    out = ssearch("rm", "--yes", name)
    assert out.returncode == 0, out.stderr
    time.sleep(2.5)  # the workers' trials end: they report to nothing and leave
    assert session.list_sessions(all=True) == []
    with pytest.raises(session.UnknownSession):
        session.progress(name)


def test_rm_of_an_unknown_session_changes_nothing():
    name = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=2)
    out = ssearch("rm", "--yes", name, "no_such_session")
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert session.progress(name).max_evals == 2


def test_doctor_leaves_no_lock_file():
    out = ssearch("doctor")
    assert out.returncode == 0, out.stdout + out.stderr
    assert [p.name for p in locks_dir().iterdir() if p.name.startswith("doctor:")] == []


BIGMOD = '''
import os
from hyperopt import hp


def objective(params, context=None):
    return {"loss": params["x"] ** 2, "blob": os.urandom(3 << 20), "small": 7}


space = {"x": hp.uniform("x", -1, 1)}
'''


def test_big_results_are_kept_apart_and_loaded_only_when_asked(project):
    from slurm_search import state

    (project / "bigmod.py").write_text(BIGMOD)
    out = ssearch("start", "bigmod:objective", "max_evals=2", "--method=cpu", "--workers=1", cwd=project)
    assert out.returncode == 0, out.stderr
    name = out.stdout.strip()
    folder = state.paths(name).dir
    assert state.paths(name).log.stat().st_size < 100_000  # the log holds references, not 6 MB
    blobs = sorted((folder / "blobs").iterdir())
    assert len(blobs) == 2 and all(blob.stat().st_size > 3 << 20 for blob in blobs)
    assert all(blob.stat().st_mode & 0o077 == 0 for blob in blobs)
    # Listings carry the reference only; results() and best() load the whole result.
    rows = session.trial_rows(name)
    assert all(set(row.result) == {"loss", "status", "stored_apart"} for row in rows)
    loaded = session.results(name)
    assert [len(r.result["blob"]) for r in loaded] == [3 << 20, 3 << 20] and loaded[0].result["small"] == 7
    assert len(session.best(name).result["blob"]) == 3 << 20
    # Damage one result's file: what loads it says so; show, list, progress
    # and trials never read it, so they answer as before.
    data = bytearray(blobs[0].read_bytes())
    data[len(data) // 2] ^= 0xFF
    blobs[0].write_bytes(bytes(data))
    with pytest.raises(state.CorruptState, match="size or SHA-256 differ"):
        session.results(name)
    for args in (["show", name], ["list", "--all"], ["progress", name], ["trials", name], ["show", name, "best"]):
        shown = ssearch(*args)
        assert shown.returncode == 0, (args, shown.stderr)
    assert "best: trial" in ssearch("show", name).stdout


def test_a_refused_big_report_leaves_no_file():
    from slurm_search import state

    name = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=2)
    trial = session.next_trial(name, "holder")
    with pytest.raises(session.LeaseLost):
        session.record_result(name, "someone_else", trial.tid, {"loss": 1.0, "blob": b"x" * (2 << 20)})
    blobs = state.paths(name).dir / "blobs"
    assert not blobs.exists() or list(blobs.iterdir()) == []
    session.record_result(name, "holder", trial.tid, {"loss": 1.0, "blob": b"x" * (2 << 20)})
    assert len(list(blobs.iterdir())) == 1
    assert session.results(name)[0].result["blob"] == b"x" * (2 << 20)
