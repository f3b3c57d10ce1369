"""Bad input to run_exp and run_experiment: one line, exit status 1, and no
``exp:`` record (nor a search session) left behind.

Sampling settings are checked by their role (a count, a method, threads)
on the whole tree before the run is stored; float parameters stay finite;
Slurm options are one word each; a spec reference that is not
``package.module:attribute`` or whose module fails to import is one line.
"""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from slurm_search import state
from slurm_search.dsl import BadValue, SpecError, UnknownExperiment, run_experiment
from slurm_search.dsl._cli import cli
from slurm_search.dsl._params import check_overrides
from slurm_search.dsl._precheck import check_tree
from slurm_search.dsl._run import build_tree, prepare

from conftest import RUN_EXP

HUGE = "9" * 5000  # int() refuses it: it reads as a float, inf


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def run(*args, env=None, timeout=300):
    return subprocess.run([str(RUN_EXP), *args], capture_output=True, text=True, timeout=timeout, env=env)


def assert_one_line(exit_code, stdout, stderr, *needles):
    assert exit_code == 1, (stdout, stderr)
    assert "Traceback" not in stdout + stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr  # no "running exp:..." nor resume command before it
    assert lines[0].startswith("run_exp: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def assert_nothing_stored():
    assert state.names("exp") == []
    assert state.names() == []  # no sub-session either


# -- 2. sampling settings, checked before the run is stored -------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tune:settings=0"], "--tune:settings=0 is not valid"),
        (["--tune:settings=-3"], "--tune:settings=-3 is not valid"),
        (["--tune:settings=inf"], "--tune:settings=inf is not valid"),
        (["--tune:settings=1e999"], "--tune:settings=inf is not valid"),
        ([f"--tune:settings={HUGE}"], "--tune:settings=inf is not valid"),
        (["--tune:threads=0"], "--tune:threads=0 is not valid"),
        (["--tune:threads=-1"], "--tune:threads=-1 is not valid"),
        (["--tune:method=gpu"], "--tune:method=gpu is not valid: expected inline or cpu or slurm"),
        (["--tune:seeds=0"], "--tune:seeds=0 is not valid"),
        (["--tune:seeds=inf"], "--tune:seeds=inf is not valid"),
        (["--eval:seeds=0"], "--eval:seeds=0 is not valid"),
        (["--eval:threads=0"], "--eval:threads=0 is not valid"),
        (["--eval:method=gpu"], "--eval:method=gpu is not valid"),
        (["--noise=inf"], "--noise=inf is not valid: expected a finite number"),
        (["--noise=1e999"], "--noise=inf is not valid: expected a finite number"),
        (["--delay=-inf"], "--delay=-inf is not valid: expected a finite number"),
    ],
)
def test_bad_settings_leave_no_run_behind(calls, args, needle):
    result = invoke("demo", "--debug=true", *args)
    assert_one_line(result.exit_code, result.stdout, result.stderr, needle)
    assert result.stdout == ""
    assert_nothing_stored()
    assert calls.count() == 0


def test_a_nested_count_is_one_line_as_a_real_process(calls):
    # --tune:seeds is read by the inner sampling node, inside every trial of
    # the outer one: today's hundreds of traceback lines and sessions left
    # behind become one line and nothing.
    out = run("demo", "--debug=true", "--tune:seeds=0")
    assert_one_line(out.returncode, out.stdout, out.stderr, "--tune:seeds=0 is not valid", "whole number >= 1")
    out = run("demo", "--tune:settings=1e999")
    assert_one_line(out.returncode, out.stdout, out.stderr, "--tune:settings=inf is not valid")
    assert_nothing_stored()
    assert calls.count() == 0


def test_the_api_refuses_before_storing(calls):
    for overrides in ({"tune:settings": 0}, {"tune:seeds": 0}, {"tune:method": "gpu"}, {"eval:threads": 0}):
        with pytest.raises(BadValue) as info:
            run_experiment("demo", overrides, seed=1)
        assert info.value.option == "--" + next(iter(overrides))
    assert_nothing_stored()
    assert calls.count() == 0


def test_counts_written_in_the_spec_are_checked_by_their_role():
    from slurm_search.dsl import random_sampling
    from slurm_search.dsl.demo import noisy_quadratic

    def experiment():
        return {"r": random_sampling("seed", noisy_quadratic(0.0, "seed", 0.1), sample_count=0)}

    spec = {"config": {"seed_space": [1, 2]}, "experiment_func": experiment}
    with pytest.raises(BadValue, match=r"random_sampling\('seed'\) sample_count=0"):
        run_experiment(spec)
    assert_nothing_stored()
    # A setting that names a parameter the run lacks (use(...) sets it on
    # the way down) is left to the node, as before.
    tree = build_tree(prepare("demo"))
    check_tree(tree, {})


def test_good_values_pass_and_an_infinite_default_keeps_accepting_inf():
    assert check_overrides({"a": 1.5, "b": float("inf"), "n": 3}, {"a": 2, "b": float("inf"), "n": float("inf")}) == {
        "a": 2.0, "b": float("inf"), "n": float("inf"),
    }
    check_tree(build_tree(prepare("demo", {"tune:settings": 2, "tune:method": "cpu"})), prepare("demo").params)


# -- 1. Slurm options: one word each, before the run is stored ----------------


@pytest.mark.parametrize(
    ("option", "needle"),
    [
        ("--slurm:time=5 --output=/tmp/x-%j.out", "one word"),
        ("--slurm:time=5\n#SBATCH --output=/tmp/x-%j.out", "line break"),
        ("--slurm:partition=-x", "starts with '-'"),
        ("--slurm:extra=--output=/tmp/x-%j.out", "itself"),
        ("--slurm:partitoin=gpu", "unknown Slurm option partitoin"),
    ],
)
def test_slurm_options_are_checked_before_the_run_is_stored(calls, option, needle):
    result = invoke("demo", "--debug=true", "--allow-new-params", option)
    assert_one_line(result.exit_code, result.stdout, result.stderr, needle)
    assert_nothing_stored()
    assert calls.count() == 0


def test_a_smuggled_output_is_one_line_as_a_real_process(calls, tmp_path):
    out = run("demo", "--debug=true", "--allow-new-params", f"--slurm:time=5 --output={tmp_path}/x-%j.out")
    assert_one_line(out.returncode, out.stdout, out.stderr, "Slurm option time=", "one word")
    assert_nothing_stored()
    assert calls.count() == 0


# -- 4. spec references and run names ------------------------------------------


@pytest.fixture
def bad_modules(tmp_path, monkeypatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "raising_spec.py").write_text("raise RuntimeError('the spec module is broken')\n")
    (folder / "broken_syntax_spec.py").write_text("spec = (\n")
    (folder / "getattr_spec.py").write_text("def __getattr__(name):\n    raise RuntimeError('no ' + name)\n")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", str(folder))
    return folder


@pytest.mark.parametrize(
    ("ref", "needle"),
    [
        (":x", "is not package.module:attribute"),
        ("..:x", "is not package.module:attribute"),
        (".foo:x", "is not package.module:attribute"),
        ("a..b:x", "is not package.module:attribute"),
        ("json:.x", "is not package.module:attribute"),
        ("a b:c", "is not package.module:attribute"),
        ("raising_spec:spec", "importing raising_spec raised RuntimeError: the spec module is broken"),
        ("broken_syntax_spec:spec", "importing broken_syntax_spec raised SyntaxError"),
        ("getattr_spec:spec", "raised RuntimeError: no spec"),
    ],
)
def test_bad_spec_references_are_one_line(bad_modules, ref, needle):
    result = invoke(ref)
    assert_one_line(result.exit_code, result.stdout, result.stderr, needle)
    assert_nothing_stored()


def test_bad_spec_references_as_a_real_process(bad_modules):
    for ref, needle in ((":x", "is not package.module:attribute"), ("..:x", "is not"),
                        ("raising_spec:spec", "the spec module is broken")):
        out = run(ref)
        assert_one_line(out.returncode, out.stdout, out.stderr, needle)


def test_the_api_raises_dsl_errors_for_bad_references(bad_modules):
    with pytest.raises(UnknownExperiment):
        run_experiment(".foo:x")
    with pytest.raises(SpecError) as info:
        run_experiment("raising_spec:spec")
    assert info.value.ref == "raising_spec:spec" and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "args",
    [["--show=exp:a..b"], ["--stop=a..b"], ["demo", "--resume=exp:a..b"], [f"--show=exp:{'a' * 300}"],
     ["demo", f"--resume={'a' * 300}"]],
)
def test_bad_run_names_are_one_line(args):
    result = invoke(*args)
    assert_one_line(result.exit_code, result.stdout, result.stderr, "no such experiment run")
    assert_nothing_stored()


# -- issue 21: options given twice or doing nothing, counts past the bound ---


def test_an_option_given_twice_is_refused_not_last_wins(calls):
    result = invoke("demo", "--debug=true", "--tune:settings=3", "--tune:settings=4")
    assert_one_line(result.exit_code, result.stdout, result.stderr, "--tune:settings is given twice")
    assert_nothing_stored()
    assert calls.count() == 0


def test_slurm_options_are_refused_when_nothing_runs_on_slurm(calls):
    from slurm_search.dsl import UnusedParameter
    from slurm_search.dsl._precheck import check_slurm_used

    result = invoke("demo", "--debug=true", "--tune:method=inline", "--slurm:partition=debug")
    line = assert_one_line(result.exit_code, result.stdout, result.stderr, "--slurm:partition=debug does nothing")
    assert "--tune:method=slurm" in line and "--eval:method=slurm" in line
    assert_nothing_stored()
    assert calls.count() == 0
    with pytest.raises(UnusedParameter) as info:
        run_experiment("demo", {"slurm:time": "5"}, debug=True)
    assert info.value.option == "--slurm:time"
    # With a node on Slurm, the same options are read: accepted.
    prepared = prepare("demo", {"eval:method": "slurm", "slurm:partition": "debug"}, debug=True)
    check_slurm_used(build_tree(prepared), prepared.params, prepared.overrides)
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--tune:settings=99999999999999999999999999"], "<= 10,000,000"),
        (["--eval:seeds=10000000000"], "--eval:seeds=10000000000 is not valid"),
        (["--tune:seeds=10000001"], "<= 10,000,000"),
        (["--tune:method=cpu", "--tune:threads=1001"], "--tune:threads=1001 is not valid"),
        (["--steps=-1"], "--steps=-1 is not valid"),
        (["--delay=-1"], "--delay=-1.0 is not valid"),
    ],
)
def test_counts_past_the_bound_and_negative_demo_values_are_refused_before_the_run(calls, args, needle):
    result = invoke("demo", "--debug=true", *args)
    assert_one_line(result.exit_code, result.stdout, result.stderr, needle)
    assert_nothing_stored()
    assert calls.count() == 0
