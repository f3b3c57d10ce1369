"""run_exp in a new user's first hour, as a real subprocess: --version, a spec
in the current folder, a misspelt parameter name inside trials, Ctrl-C and
--resume alone, --show --json, --stop of a finished run, options that do
nothing, --print-config and --list-runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time

import pytest

from slurm_search import state
from slurm_search.dsl import run_experiment

from conftest import RUN_EXP

SPEC = textwrap.dedent(
    """
    import time
    from hyperopt import hp
    from slurm_search.dsl import Spec, accepts_param_names, random_sampling, maximizing_sampling

    @accepts_param_names
    def f(x, seed, delay=0.0):
        time.sleep(delay)
        return x + seed

    def typo():
        '''a misspelt parameter name, inside nested searches'''
        inner = random_sampling("seed", f("x", "sede"), sample_count=3, method="inline")
        return {"best": maximizing_sampling("x", inner, sample_count=4, method="METHOD", threads=2,
                                            maximize_measure="mean")["argmax:mean"]}

    def fine():
        '''the same, spelt right'''
        inner = random_sampling("seed", f("x", "seed", "delay"), sample_count=2, method="inline")
        return {"best": maximizing_sampling("x", inner, sample_count="n", method="METHOD", threads=2,
                                            maximize_measure="mean")["argmax:mean"]}

    config = {"x_space": hp.uniform("x", 0, 1), "seed_space": hp.randint("seed", 100), "delay": 0.0, "n": 3}
    typo_spec = Spec(config=config, experiment_func=typo)
    fine_spec = Spec(config=config, experiment_func=fine)
    """
)


def run(*args, cwd=None, env=None, timeout=300):
    return subprocess.run([str(RUN_EXP), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


@pytest.fixture
def folder(tmp_path):
    """A folder holding ``mymodule.py``, as a user's working folder; not on PYTHONPATH."""
    (tmp_path / "mymodule.py").write_text(SPEC.replace("METHOD", "inline"))
    return tmp_path


def test_version_of_both_commands():
    from importlib.metadata import version

    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"run_exp {version('slurm-search-dsl')} (slurm-search-dsl)"
    ssearch = RUN_EXP.parent / "ssearch"
    out = subprocess.run([str(ssearch), "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"ssearch {version('slurm-search-session')} (slurm-search-session)"


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_a_spec_in_the_current_folder_runs_here_and_in_its_workers(tmp_path, start):
    (tmp_path / "mymodule.py").write_text(SPEC.replace("METHOD", "cpu"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["SLURM_SEARCH_WORKER_START"] = start
    out = run("mymodule:fine_spec", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "Results of exp:" in out.stdout  # no display function: the table
    row = next(line for line in out.stdout.splitlines() if line.startswith("  best "))
    digits = row.split()[-1].split("e")[0].replace("-", "").replace(".", "").lstrip("0")
    assert 1 <= len(digits) <= 4, row  # 4 significant digits, not 17


def test_a_misspelt_parameter_name_gives_one_message_and_one_traceback(folder):
    for method in ("inline", "cpu"):
        (folder / "mymodule.py").write_text(SPEC.replace("METHOD", method))
        out = run("mymodule:typo_spec", cwd=folder)
        assert out.returncode == 1
        assert out.stderr.count("Traceback") == 1, out.stderr
        assert len(out.stderr.splitlines()) <= 15, out.stderr
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("run_exp: error: [best/argmax:mean] ")
        assert "'sede' is not a parameter; did you mean 'seed'? it was passed as the string 'sede'" in last
        assert "WARNING" not in out.stderr


def _wait_for_a_trial(timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        for name in state.names("exp"):
            sessions = state.read(name)["sessions"]
            if len(sessions) >= 2:  # the outer search and a first inner one
                return name
        time.sleep(0.1)
    raise AssertionError("the run started no trial")


def test_ctrl_c_prints_the_resume_command_and_resume_alone_finishes_it(folder):
    proc = subprocess.Popen([str(RUN_EXP), "mymodule:fine_spec", "--delay=0.5", "--n=3", "--seed=5"], cwd=folder,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        name = _wait_for_a_trial()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == f"run_exp: interrupted; resume it with: run_exp --resume={name}"
    assert "Traceback" not in err
    assert state.read(name)["status"] == "interrupted"
    shown = run(f"--show={name}")
    assert f"status interrupted, seed 5" in shown.stdout and f"run_exp --resume={name}" in shown.stdout
    shown = json.loads(run(f"--show={name}", "--json").stdout)
    assert shown["name"] == name and shown["status"] == "interrupted" and shown["overrides"] == {"delay": 0.5, "n": 3}
    resumed = run(f"--resume={name}", cwd=folder)
    assert resumed.returncode == 0, resumed.stderr
    assert f"experiment: {name}" in resumed.stdout
    assert state.read(name)["status"] == "complete"
    # --stop of a finished run leaves it finished.
    stopped = run(f"--stop={name}")
    assert stopped.returncode == 0 and "complete: nothing to stop" in stopped.stdout
    assert state.read(name)["status"] == "complete"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--show=exp:x", "--seed=3"], "--seed does nothing with --show"),
        (["demo", "--show=exp:x"], "demo does nothing with --show"),
        (["--stop=exp:x", "--json"], "--json does nothing with --stop"),
        (["demo", "--json"], "--json does nothing when running"),
        (["demo", "--display-ast=true", "--interactive"], "--interactive does nothing with --display-ast"),
        (["--seed=3"], "--seed does nothing without an experiment"),
        (["--show=exp:x", "--stop=exp:x"], "--show and --stop do not go together"),
    ],
)
def test_options_that_do_nothing_are_refused_in_one_line(args, expected):
    before = state.names()
    out = run(*args)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("run_exp: error: ") and expected in out.stderr
    assert state.names() == before


def test_print_config_and_list_runs(calls):
    out = run("demo", "--debug=true", "--tune:seeds=4", "--print-config")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "--tune:seeds=4" in lines and "--tune:settings=3" in lines
    assert "--xy_space:x=<search space uniform('x', -2, 2)>" in lines
    flat = json.loads(run("demo", "--print-config", "--json").stdout)
    assert flat["tune:seeds"] == 3 and flat["xy_space:y"] == "<search space uniform('y', -2, 2)>"
    assert state.names("exp") == []
    first = run_experiment("slurm_search.dsl.demo:sweep", {"sweep:seeds": 1}, seed=1)
    second = run_experiment("slurm_search.dsl.demo:sweep", {"sweep:seeds": 1}, seed=2)
    listed = run("--list-runs")
    rows = listed.stdout.splitlines()
    assert rows[0].split() == ["RUN", "EXPERIMENT", "STATUS", "SEED", "SESSIONS", "CREATED"]
    assert rows[1].startswith(second.name) and rows[2].startswith(first.name)  # newest first
    assert "complete" in rows[1]
    runs = json.loads(run("--list-runs", "--json").stdout)
    assert [r["name"] for r in runs] == [second.name, first.name]


def test_show_says_running_while_run_exp_runs_and_interrupted_after_kill_9(folder):
    proc = subprocess.Popen([str(RUN_EXP), "mymodule:fine_spec", "--delay=0.5", "--n=4"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        name = _wait_for_a_trial()
        assert "status running," in run(f"--show={name}").stdout
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert state.read(name)["status"] == "running"  # it had no chance to say otherwise
    shown = run(f"--show={name}").stdout
    assert "status interrupted," in shown and f"run_exp --resume={name}" in shown


@pytest.mark.slurm
def test_a_spec_in_the_current_folder_runs_on_slurm_tasks(tmp_path, slurm_cluster):
    (tmp_path / "mymodule.py").write_text(SPEC.replace("METHOD", "slurm"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = run("mymodule:fine_spec", "--n=2", "--allow-new-params", f"--slurm:partition={slurm_cluster.default_partition}", cwd=tmp_path,
              env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "Results of exp:" in out.stdout


def test_shell_completion_as_the_readme_shows():
    source = subprocess.run([str(RUN_EXP)], env={**os.environ, "_RUN_EXP_COMPLETE": "bash_source"},
                            capture_output=True, text=True, timeout=60)
    assert source.returncode == 0 and "_run_exp_completion()" in source.stdout
    env = {**os.environ, "_RUN_EXP_COMPLETE": "bash_complete", "COMP_WORDS": "run_exp de", "COMP_CWORD": "1"}
    words = subprocess.run([str(RUN_EXP)], env=env, capture_output=True, text=True, timeout=60).stdout.split()
    assert "plain,demo" in words
    env.update(COMP_WORDS="run_exp --list", COMP_CWORD="1")
    assert "plain,--list-runs" in subprocess.run([str(RUN_EXP)], env=env, capture_output=True, text=True).stdout.split()
    ssearch = RUN_EXP.parent / "ssearch"
    env = {**os.environ, "_SSEARCH_COMPLETE": "bash_complete", "COMP_WORDS": "ssearch tri", "COMP_CWORD": "1"}
    assert "plain,trials" in subprocess.run([str(ssearch)], env=env, capture_output=True, text=True).stdout.split()
