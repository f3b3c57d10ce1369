"""The installed `ssearch` command as real processes: the way a user runs it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from slurm_search import session

from _cli_helpers import assert_one_line_error, install_plugin, ssearch


def test_a_session_from_start_to_restart(tmp_path):
    # One user's session through the real command; a single test because each
    # `start --method=cpu` costs seconds of worker start-up on busy cores.
    proc = ssearch("start", "demo", "max_evals=10", "sleep=0.05", "seed=2", "--method=cpu", "--workers=2")
    assert proc.returncode == 0, proc.stderr
    name = proc.stdout.strip()
    assert name.startswith("search:") and "\n" not in name
    assert f"{name}: 10/10 done" in proc.stderr
    assert sorted(r.tid for r in session.results(name)) == list(range(10))

    listed = ssearch("list", "--all", "--json")
    assert listed.returncode == 0
    row = {r["name"]: r for r in json.loads(listed.stdout)}[name]
    assert (row["status"], row["completed"], row["max_evals"]) == ("done", 10, 10)
    assert name not in ssearch("list").stdout  # done: not active

    shown = ssearch("show", name)
    assert shown.returncode == 0 and f"best: trial {session.best(name).tid}" in shown.stdout

    table = ssearch("logs", name).stdout.splitlines()
    workers = [line.split()[1] for line in table[1:]]
    assert table[0].split() == ["NODE", "WORKER", "BYTES", "MODIFIED"] and len(workers) == 2
    assert {line.split()[0] for line in table[1:]} == {"(local)"}  # local workers, on this host
    one = ssearch("logs", name, workers[0])
    assert one.returncode == 0 and f"worker {workers[0]} starts on {name}" in one.stdout

    # User errors: one line, non-zero exit, no traceback, the session untouched.
    before = session.results(name)
    env = dict(os.environ, PYTHONPATH=str(install_plugin(tmp_path / "plugins")))
    typo = name.replace("search:", "")[:-1]
    cases = [
        (["show", typo], [name]),
        (["logs", name, "nobody"], ["nobody", workers[0]]),
        (["start", "dmeo"], ["valid types", "demo"]),
        (["start", "demo", "max_evals"], ["KEY=VALUE"]),
        (["start", "broken", "--method=inline"], ["no_such_module_anywhere"]),
        (["start", "demo", "--method=slurm", "--slurm:bogus=1"], ["bogus", "partition"]),
    ]
    for args, needles in cases:
        failed = ssearch(*args, env=env)
        assert_one_line_error(failed.returncode, failed.stdout, failed.stderr, *needles)
    assert session.results(name) == before
    assert [s.name for s in session.list_sessions(all=True)] == [name]

    assert ssearch("del_trial", name, "4").returncode == 0
    assert ssearch("stop", name).returncode == 0
    assert session.progress(name).status == "stopped"
    # restart launches the last launch's workers again (cpu, 2): the deleted
    # trial's place is taken by a new one.
    again = ssearch("restart", name)
    assert again.returncode == 0, again.stderr
    tids = sorted(r.tid for r in session.results(name))
    assert len(tids) == 10 and 4 not in tids and tids[-1] == 10


def _fake_bin(folder, name, script):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def test_sbatch_missing(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "empty"))
    proc = ssearch("start", "demo", "--method=slurm", env=env)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "sbatch not found", "--method=cpu")
    assert session.list_sessions(all=True) == []


def test_sbatch_answering_no_job_id_is_quoted(tmp_path):
    # FAKE at the subprocess boundary: a real sbatch that accepts a job always
    # prints its id; one that exits 0 with something else (a site wrapper, a
    # broken install) cannot be produced on demand. (A real refusal is tested
    # on the real cluster in test_slurm.py.)
    bin_dir = _fake_bin(tmp_path / "bin", "sbatch", "#!/bin/sh\necho 'Submitted to the void'\n")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    proc = ssearch("start", "demo", "--method=slurm", env=env)
    line = assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "Submitted to the void")
    name = proc.stdout.strip()
    assert f"ssearch restart {name}" in line
    assert session.progress(name).completed == 0  # kept, ready to launch


def test_sbatch_refusal_is_quoted(tmp_path):
    # FAKE at the subprocess boundary, for machines without the local cluster;
    # test_slurm.py has the real refusal (an unknown partition).
    said = "sbatch: error: Batch job submission failed: Job violates accounting/QOS policy"
    bin_dir = _fake_bin(tmp_path / "bin", "sbatch", f"#!/bin/sh\necho '{said}' >&2\nexit 1\n")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    proc = ssearch("start", "demo", "--method=slurm", "--workers=2", env=env)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "sbatch failed (exit 1)", said)


def test_list_does_not_import_hyperopt_or_torch():
    name = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=2)
    code = (
        "import sys\n"
        "from slurm_search.session.workers import main\n"
        "try:\n    main(['list', '--all'])\nexcept SystemExit:\n    pass\n"
        "print('MODULES', 'hyperopt' in sys.modules, 'torch' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert name in proc.stdout
    assert "MODULES False False" in proc.stdout
