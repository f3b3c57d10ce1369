"""run_exp and an experiment's sessions in a new user's first hour, round 3
(issue 21): labels in `ssearch show`, parameter names in `ssearch trials`,
`--list`, SIGTERM and `--list-runs`, the files in `--show`, bounds in
`--print-config`, numbers never cut, and `--delete`. Real ``run_exp`` and
``ssearch`` processes on the test's own store."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import RUN_EXP

from slurm_search import session, state

SSEARCH = Path(sys.executable).parent / "ssearch"

QUICK_DEMO = ["demo", "--tune:settings=3", "--tune:seeds=2", "--eval:seeds=2", "--seed=5"]

SPEC = textwrap.dedent(
    """
    import math
    from hyperopt import hp
    from slurm_search.dsl import Spec, accepts_param_names, random_sampling

    @accepts_param_names
    def f(p):
        return -(math.log(p["lr"]) + 7) ** 2 - 0.0301234567

    def many():
        '''a result with many long numbers'''
        s = random_sampling("p", f("p"), sample_count=2, method="inline")
        return {"m": s["mean"], "row": {f"k{i}": s["mean"] for i in range(12)}}

    spec = Spec(
        config={"p_space": {"lr": hp.loguniform("lr", math.log(1e-5), math.log(0.1))}},
        experiment_func=many,
    )
    """
)


def run(command: Path, *args: str, cwd: Path | None = None, stdin: str | None = None):
    return subprocess.run(
        [str(command), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


@pytest.fixture
def demo_run():
    out = run(RUN_EXP, *QUICK_DEMO)
    assert out.returncode == 0, out.stderr
    return re.search(r"experiment: (exp:\S+)", out.stdout).group(1)


@pytest.fixture
def project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "myexp.py").write_text(SPEC)
    return folder


def test_show_accepts_the_labels_that_list_prints(demo_run):
    rows = json.loads(run(SSEARCH, "list", "--all", "--json").stdout)
    labels = {row["experiment"]: row["name"] for row in rows if row["experiment"]}
    assert f"{demo_run}/best_xy/argmax:mean" in labels
    for label, name in labels.items():
        out = run(SSEARCH, "show", label)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[0] == name
    # A prefix names the outermost session under it, as `trials` reads it.
    out = run(SSEARCH, "show", f"{demo_run}/best_xy", "max_evals")
    assert out.returncode == 0 and out.stdout.strip() == "3"


def test_trials_name_the_parameters_as_the_space_does(demo_run):
    table = run(SSEARCH, "trials", f"{demo_run}/best_xy").stdout.splitlines()
    header = table[0].split()
    assert header[-2:] == ["x", "y"] and not any(column.startswith("value") for column in header)
    seeds = run(SSEARCH, "trials", f"{demo_run}/best_mean", "--format", "csv").stdout.splitlines()
    assert seeds[0].split(",")[-1] == "params_seed"
    rows = session.trial_rows(f"{demo_run}/best_xy")
    assert set(rows[0].params) == {"x", "y"}


def test_list_option_points_to_list_runs_and_the_listing():
    out = run(RUN_EXP, "--list")
    assert out.returncode == 1 and out.stderr.count("\n") == 1
    assert "unknown experiment" not in out.stderr
    assert "--list-runs" in out.stderr and "`run_exp` alone lists the experiments" in out.stderr


def test_after_sigterm_list_runs_and_show_agree():
    proc = subprocess.Popen(
        [str(RUN_EXP), "demo", "--tune:settings=20", "--tune:seeds=2", "--delay=0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.time() + 60
    name = None
    while name is None and time.time() < deadline:
        runs = json.loads(run(RUN_EXP, "--list-runs", "--json").stdout or "[]")
        if runs and runs[0]["status"] == "running":
            name = runs[0]["name"]
        time.sleep(0.2)
    assert name is not None
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    shown = json.loads(run(RUN_EXP, f"--show={name}", "--json").stdout)["status"]
    listed = {r["name"]: r["status"] for r in json.loads(run(RUN_EXP, "--list-runs", "--json").stdout)}[name]
    assert shown == listed == "interrupted"
    assert "interrupted" in next(line for line in run(RUN_EXP, "--list-runs").stdout.splitlines() if name in line)


def test_show_lists_the_files_the_run_wrote(demo_run):
    out = run(RUN_EXP, f"--show={demo_run}")
    assert out.returncode == 0, out.stderr
    csv = state.paths(demo_run).dir / "tuning.csv"
    assert csv.is_file()
    lines = out.stdout.splitlines()
    assert "files (plots, tables):" in lines and f"  {csv}" in lines
    assert json.loads(run(RUN_EXP, f"--show={demo_run}", "--json").stdout)["files"] == [str(csv)]


def test_print_config_shows_the_loguniform_bounds_as_written(project):
    out = run(RUN_EXP, "myexp:spec", "--print-config", cwd=project)
    assert out.returncode == 0, out.stderr
    assert "--p_space:lr=<search space loguniform('lr', 1e-05, 0.1)>" in out.stdout.splitlines()


def test_values_are_never_cut_mid_number(project):
    out = run(RUN_EXP, "myexp:spec", cwd=project)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.strip().startswith("row"))
    assert row.endswith(" ...")  # shortened, between two values
    assert not re.search(r"[0-9.e+-]\.\.\.", row), row
    for value in re.findall(r"=(\S+?)(?:,|$| )", row):
        float(value)  # every number shown is whole


def test_delete_asks_then_deletes_the_run_and_its_sub_sessions(demo_run):
    subs = set(state.read(demo_run)["sessions"].values())
    assert len(subs) == 6
    refused = run(RUN_EXP, f"--delete={demo_run}", stdin="n\n")
    assert refused.returncode == 1 and "nothing deleted" in refused.stderr
    assert state.exists(demo_run)
    unanswered = run(RUN_EXP, f"--delete={demo_run}")
    assert unanswered.returncode == 1 and "--yes" in unanswered.stderr
    out = run(RUN_EXP, f"--delete={demo_run}", "--yes")
    assert out.returncode == 0, out.stderr
    assert f"deleted {demo_run} and 6 sub-sessions" in out.stdout
    assert not state.exists(demo_run)
    assert not state.paths(demo_run).dir.exists()
    assert session.list_sessions(all=True) == []
    again = run(RUN_EXP, f"--delete={demo_run}", "--yes")
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "no such experiment run" in again.stderr


def test_yes_without_delete_is_refused():
    out = run(RUN_EXP, "--list-runs", "--yes")
    assert out.returncode == 1 and "--yes does nothing" in out.stderr


def test_ssearch_rm_of_an_experiment_session_points_to_run_exp_delete(demo_run):
    name = session.resolve_label(f"{demo_run}/best_xy")
    out = run(SSEARCH, "rm", "--yes", name)
    assert out.returncode == 1 and f"run_exp --delete={demo_run}" in out.stderr
    assert session.progress(name).status == "done"


def test_list_runs_of_a_live_run_stays_running():
    """The agreement does not turn a live run into an interrupted one."""
    proc = subprocess.Popen(
        [str(RUN_EXP), "demo", "--tune:settings=20", "--tune:seeds=2", "--delay=0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.time() + 60
        listed = None
        while listed is None and time.time() < deadline:
            runs = json.loads(run(RUN_EXP, "--list-runs", "--json").stdout or "[]")
            if runs and runs[0]["status"] == "running":
                listed = runs[0]
            time.sleep(0.2)
        assert listed is not None
        assert json.loads(run(RUN_EXP, f"--show={listed['name']}", "--json").stdout)["status"] == "running"
    finally:
        proc.kill()
        proc.wait()
