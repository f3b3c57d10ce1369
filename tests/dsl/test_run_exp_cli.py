"""run_exp, through click's CliRunner and as a real subprocess."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from slurm_search import state
from slurm_search.dsl import run_experiment
from slurm_search.dsl._cli import cli
from slurm_search.dsl._display import node_label
from slurm_search.dsl._nodes import Node, children
from slurm_search.dsl._params import canonical
from slurm_search.dsl._run import build_tree, prepare

from conftest import RUN_EXP


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def run(*args, env=None, timeout=300, cwd=None):
    return subprocess.run([str(RUN_EXP), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def snapshot():
    """Every stored object and its content: what a refused command must leave alone."""
    return {name: canonical(state.read(name)) for name in state.names() if name.startswith("exp:")}, state.names()


def test_alone_it_lists_the_experiments():
    result = invoke()
    assert result.exit_code == 0
    # One line each: the name and what it does (not where it lives).
    line = next(line for line in result.output.splitlines() if line.split()[:1] == ["demo"])
    assert "Tune (x, y) on the mean over seeds" in line and "slurm_search.dsl.demo" not in line


def test_help_imports_neither_hyperopt_nor_torch():
    code = (
        "import sys\n"
        "from slurm_search.dsl import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', 'hyperopt' in sys.modules, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Usage: run_exp" in out.stdout
    assert "LOADED False False" in out.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["dmeo"], "unknown experiment 'dmeo'; did you mean demo?"),
        (["no.such.module:spec"], "no module named 'no'"),
        (["demo", "--tune:seds=3"], "--tune:seds names no parameter of this experiment; did you mean --tune:seeds"),
        (["demo", "--tune:seeds=many"], "--tune:seeds=many is not valid: expected an integer"),
        (["demo", "--noise=loud"], "--noise=loud is not valid: expected a number"),
        (["demo", "--seed=x"], "--seed=x is not valid"),
        (["demo", "--debug=maybe"], "--debug=maybe is not valid: expected true or false"),
        (["demo", "--display-ast=pretty"], "--display-ast=pretty is not valid"),
        (["demo", "--resume=exp:no_such_run"], "--resume=exp:no_such_run: no such experiment run"),
        (["demo", "--resume=../etc"], "--resume=../etc: no such experiment run"),
        (["--show=exp:no_such_run"], "--show=exp:no_such_run: no such experiment run"),
        (["--stop=exp:no_such_run"], "--stop=exp:no_such_run: no such experiment run"),
        (["demo", "tune:seeds=3"], "unexpected argument 'tune:seeds=3'"),
    ],
)
def test_user_errors_are_one_line_and_lose_nothing(calls, args, expected):
    done = run_experiment("slurm_search.dsl.demo:sweep", {"sweep:seeds": 1}, seed=1)
    before = snapshot()
    calls.reset()
    result = invoke(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("run_exp: error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert snapshot() == before and calls.count() == 0
    assert state.read(done.name)["status"] == "complete"


def test_errors_as_a_subprocess_are_one_line():
    for args, expected in ((["dmeo"], "did you mean demo"), (["demo", "--tune:seds=3"], "--tune:seeds")):
        out = run(*args)
        assert out.returncode == 1
        assert out.stdout == ""
        assert out.stderr.count("\n") == 1 and expected in out.stderr


def test_run_as_a_subprocess_shows_progress_results_and_name(calls):
    out = run("demo", "--debug=true", "--seed=3")
    assert out.returncode == 0, out.stderr
    name = re.search(r"experiment: (exp:\S+)", out.stdout).group(1)
    assert re.search(r"\[best_xy/argmax:mean\] .*: \d+/3 trials done, best mean -?\d", out.stderr)
    assert "@" not in out.stderr  # settings, not AST hashes, label the inner searches
    assert out.stderr.count(f"running {name}") == 1
    assert f"--seed=3 --resume={name}" in out.stderr
    # The results once: the demo's own summary (the rounded table is --show's).
    assert "best  x=" in out.stdout and "best_mean" not in out.stdout
    assert f"every result, rounded: run_exp --show={name}" in out.stdout
    shown = run(f"--show={name}").stdout
    assert re.search(r"^  best_mean +-?\d\.\d{1,3}(e-?\d+)?$", shown, re.M), shown
    stored = state.read(name)
    assert stored["status"] == "complete" and stored["seed"] == 3 and stored["debug"] is True
    assert (state.paths(name).dir / "tuning.csv").read_text().startswith("x,y,mean_over_seeds")
    assert calls.count() == 3 * 2 + 2 * 2
    # Without --seed a seed is drawn and stored, so the run can be repeated.
    again = run("demo", "--debug=true")
    drawn = state.read(re.search(r"experiment: (exp:\S+)", again.stdout).group(1))["seed"]
    assert f"seed {drawn})" in again.stderr


def test_resume_with_other_parameters_as_a_subprocess(calls):
    done = run_experiment("demo", {"tune:settings": 2, "tune:seeds": 1, "eval:seeds": 1}, seed=4)
    calls.reset()
    before = snapshot()
    out = run("demo", "--tune:settings=3", "--tune:seeds=1", "--eval:seeds=1", f"--resume={done.name}")
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1
    assert "tune:settings: stored 2, given 3" in out.stderr
    assert f"run_exp demo --tune:settings=2 --tune:seeds=1 --eval:seeds=1 --seed=4 --resume={done.name}" in out.stderr
    assert snapshot() == before and calls.count() == 0


def test_show_lists_sub_sessions_with_progress(calls):
    done = run_experiment("slurm_search.dsl.demo:sweep", {"sweep:seeds": 1}, seed=1)
    shown = invoke(f"--show={done.name}")
    assert shown.exit_code == 0
    assert f"{done.name}: slurm_search.dsl.demo:sweep, status complete, seed 1" in shown.stdout
    assert "means/point_values:mean  search:" in shown.stdout and "4/4 done" in shown.stdout
    assert shown.stdout.count("1/1 done") == 4


def test_stop_a_running_experiment_then_resume_it(tmp_path, calls):
    args = ["demo", "--tune:settings=3", "--tune:seeds=3", "--eval:seeds=2", "--delay=0.2", "--seed=8"]
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(RUN_EXP), *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while calls.count() < 2:
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.05)
        name = re.search(r"running (exp:\S+)", log.read_text()).group(1)
        stopped = invoke(f"--stop={name}")
        assert stopped.exit_code == 0, stopped.output
        assert f"stopped {name}" in stopped.stdout and f"--resume={name}" in stopped.stdout
        assert proc.wait(timeout=120) == 1
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
    text = log.read_text()
    assert f"run_exp: error: {name} was stopped; resume it with: run_exp demo" in text
    assert "Traceback" not in text
    assert state.read(name)["status"] == "stopped"
    assert "(stopped)" in invoke(f"--show={name}").stdout
    n_before = calls.count()
    assert n_before < 3 * 3 + 2 * 2
    resumed = run(*args, f"--resume={name}")
    assert resumed.returncode == 0, resumed.stderr
    assert state.read(name)["status"] == "complete"
    # A stopped worker finishes its trial and records it: nothing ran twice.
    assert calls.count() == 3 * 3 + 2 * 2


def test_display_ast_text_and_abstract():
    text = invoke("demo", "--display-ast=true")
    assert text.exit_code == 0
    assert "maximizing_sampling[xy ~ xy_space]" in text.stdout and "noisy_quadratic(xy, seed, noise, delay)" in text.stdout
    abstract = invoke("demo", "--display-ast=abstract")
    assert abstract.exit_code == 0
    for part in ("argmax(xy ~ xy_space) [", "E(seed ~ seed_space) [", "√Var(seed ~ seed_space)", "λ xy ~ xy_space -> ("):
        assert part in abstract.stdout
    assert state.names() == []  # printing the AST stores nothing


def _labels(tree) -> set[str]:
    found, stack, seen = set(), list(children(tree)), set()
    while stack:
        key, value = stack.pop()
        if isinstance(value, Node) and id(value) not in seen:
            seen.add(id(value))
            found.add(node_label(value))
            stack.extend(children(value))
    return found


def test_display_ast_graph_is_a_graphviz_svg_with_every_node(tmp_path):
    if shutil.which("dot") is None:
        pytest.fail("this test needs graphviz's dot program: apt-get install graphviz", pytrace=False)
    before = state.names()
    out = run("demo", "--display-ast=graph", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    svg_path = out.stdout.strip()
    assert svg_path == str(tmp_path / "demo_ast.svg")
    svg = open(svg_path).read()
    assert "Generated by graphviz" in svg and "<svg" in svg
    labels = _labels(build_tree(prepare("demo")))
    assert len(labels) >= 8
    for label in labels:
        assert html.escape(label, quote=False) in svg, label
    for key in ("best_xy", "worst_xy", "best_mean", "worst_std", "tuning_means"):
        assert f">{key}<" in svg
    assert os.path.exists(svg_path[: -len(".svg")] + ".dot")
    # Drawing stores nothing.
    assert state.names() == before


def test_display_ast_graph_without_the_dot_program(tmp_path):
    # A PATH with this interpreter's scripts only: graphviz's `dot` is absent.
    env = {**os.environ, "PATH": str(RUN_EXP.parent)}
    out = run("demo", "--display-ast=graph", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    dot_path = out.stdout.strip()
    assert dot_path.endswith("ast.dot") and open(dot_path).read().startswith("digraph")
    assert not os.path.exists(dot_path[: -len(".dot")] + ".svg")
    assert "apt-get install graphviz" in out.stderr and "not installed" in out.stderr


def test_the_demo_takes_slurm_options_as_the_readme_shows():
    # README: run_exp demo ... --tune:method=slurm --slurm:partition=cpu
    proc = subprocess.run(
        [str(RUN_EXP), "demo", "--debug=true", "--tune:method=slurm", "--slurm:partition=debug", "--slurm:time=10",
         "--print-config"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--slurm:partition=debug" in proc.stdout and "--slurm:time=10" in proc.stdout
    # Without a node on Slurm they would do nothing: refused (issue 21).
    proc = subprocess.run(
        [str(RUN_EXP), "demo", "--debug=true", "--slurm:partition=debug", "--slurm:time=10"],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 1 and "--slurm:partition=debug does nothing" in proc.stderr, proc.stderr
