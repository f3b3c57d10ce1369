"""The ssearch command through click's CliRunner (in this process).

The same commands run as real processes in test_cli_subprocess.py.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from slurm_search import session
from slurm_search.session.workers._cli import cli

from _cli_helpers import assert_one_line_error, install_plugin


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args, **kwargs):
    return runner.invoke(cli, list(args), catch_exceptions=False, **kwargs)


@pytest.fixture
def done_session(runner):
    result = invoke(runner, "start", "demo", "max_evals=8", "seed=3", "--method=inline")
    assert result.exit_code == 0, result.output
    name = result.stdout.strip()
    assert name.startswith("search:")
    return name


def test_every_command_has_help(runner):
    for command in (
        [], ["list"], ["start"], ["restart"], ["stop"], ["stopall"], ["show"], ["inspect"], ["del_trial"],
        ["logs"], ["work_on"], ["generational_work_on"], ["enable"], ["progress"],
    ):
        result = invoke(runner, *command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output, command


def test_start_inline_runs_the_search_to_the_end(runner, done_session):
    progress = session.progress(done_session)
    assert (progress.status, progress.completed) == ("done", 8)
    info = session.info(done_session)
    assert (info.algo, info.max_evals, info.seed) == ("rand", 8, 3)
    assert info.metadata["session_type"] == "demo"


def test_list_shows_running_sessions_and_all_with_done(runner, done_session):
    other = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=3)
    table = invoke(runner, "list").stdout
    assert other in table and done_session not in table
    assert table.splitlines()[0].split() == [
        "NAME", "EXPERIMENT", "STATUS", "ALGO", "DONE", "FAILED", "PRUNED", "RUNNING", "MAX", "BEST", "CREATED"]
    rows = json.loads(invoke(runner, "list", "--all", "--json").stdout)
    by_name = {row["name"]: row for row in rows}
    assert by_name[done_session]["status"] == "done" and by_name[done_session]["completed"] == 8
    assert by_name[other]["status"] == "idle"  # would run, but no worker is at work


def test_show_summarises_losses_best_and_worst(runner, done_session):
    result = invoke(runner, "show", done_session)
    assert result.exit_code == 0
    best, worst = session.best(done_session), session.worst(done_session)
    assert f"best: trial {best.tid}, loss {best.loss:.6g}" in result.stdout
    assert f"worst: trial {worst.tid}, loss {worst.loss:.6g}" in result.stdout
    assert f"  x = {best.params['x']!r}" in result.stdout
    assert "median" in result.stdout
    # The histogram counts every ok trial.
    bars = [line for line in result.stdout.splitlines() if line.count(" ") > 3 and line.rstrip().endswith("#")]
    assert sum(int(line.split()[2]) for line in bars) == 8
    as_json = json.loads(invoke(runner, "show", done_session, "--json").stdout)
    assert as_json["loss"]["count"] == 8 and as_json["best"]["tid"] == best.tid
    assert json.loads(invoke(runner, "show", done_session, "best").stdout)["params"] == best.params


def test_show_unknown_key_lists_the_keys(runner, done_session):
    result = invoke(runner, "show", done_session, "bestest")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "bestest", "best", "worst")


def test_name_without_type(runner, done_session):
    short = done_session.split(":", 1)[1]
    assert invoke(runner, "progress", short).stdout.startswith(f"{done_session}: 8/8 done")


def test_del_trial_stop_enable_restart(runner, done_session):
    assert invoke(runner, "del_trial", done_session, "2").exit_code == 0
    assert 2 not in {r.tid for r in session.results(done_session)}
    assert invoke(runner, "stop", done_session).exit_code == 0
    assert session.progress(done_session).status == "stopped"
    assert invoke(runner, "enable", done_session).exit_code == 0
    # restart launches the workers of the last launch again (inline here).
    result = invoke(runner, "restart", done_session)
    assert result.exit_code == 0, result.output
    progress = session.progress(done_session)
    assert (progress.status, progress.completed) == ("done", 8)
    assert 2 not in {r.tid for r in session.results(done_session)}


def test_work_on_with_timeout_zero_does_nothing(runner):
    name = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=3)
    assert invoke(runner, "work_on", name, "0").exit_code == 0
    assert session.progress(name).completed == 0
    assert invoke(runner, "work_on", name).exit_code == 0
    assert session.progress(name).completed == 3


def test_inspect_opens_a_console_with_the_session(runner, done_session):
    result = runner.invoke(cli, ["inspect", done_session], input="print('count', len(results), len(trials))\n")
    assert result.exit_code == 0, result.output
    assert "count 8 8" in result.output


def test_stopall_stops_running_sessions_only(runner, done_session):
    a = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=3)
    b = session.create_session("slurm_search.session.demo:objective", {"x": 1.0}, max_evals=3)
    assert invoke(runner, "stopall").exit_code == 0
    assert [session.progress(n).status for n in (a, b, done_session)] == ["stopped", "stopped", "done"]


# -- user errors: one line, non-zero exit, no traceback, nothing lost ---------


def _untouched(name, before):
    assert session.results(name) == before


def test_unknown_session_names_close_ones(runner, done_session):
    before = session.results(done_session)
    typo = done_session[:-1] + ("x" if done_session[-1] != "x" else "y")
    for command in (["show", typo], ["stop", typo], ["del_trial", typo, "1"], ["logs", typo], ["work_on", typo]):
        result = invoke(runner, *command)
        assert_one_line_error(result.exit_code, result.stdout, result.stderr, typo, done_session)
    _untouched(done_session, before)


def test_unknown_session_type_lists_the_valid_ones(runner):
    result = invoke(runner, "start", "dmeo")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "dmeo", "valid types", "demo")
    assert session.list_sessions(all=True) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["max_evals"], "KEY=VALUE"),
        (["a::b=1"], "empty part"),
        (["sleep=-1"], "sleep"),
        (["speed=3"], "unknown parameter speed"),
        (["algo=bogus"], "algo"),
        (["max_evals=0"], "max_evals"),
        (["--slurm:partition=a"], "--method=slurm"),
        (["--frobnicate"], "--frobnicate"),
    ],
)
def test_bad_start_arguments(runner, args, needle):
    result = invoke(runner, "start", "demo", *args, "--method=inline")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, needle)
    assert session.list_sessions(all=True) == []


def test_unknown_slurm_option_lists_the_valid_ones(runner):
    result = invoke(runner, "start", "demo", "--method=slurm", "--slurm:partitoin=short")
    line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, "partitoin")
    assert "partition, time, gres, mem" in line
    assert session.list_sessions(all=True) == []


def test_method_slurm_without_sbatch(runner, tmp_path, monkeypatch):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = invoke(runner, "start", "demo", "--method=slurm")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "sbatch not found", "--method=cpu")
    assert session.list_sessions(all=True) == []


def test_objective_not_importable(runner, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(install_plugin(tmp_path / "plugins")))
    result = invoke(runner, "start", "broken", "--method=inline")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "no_such_module_anywhere")
    assert session.list_sessions(all=True) == []


def test_bad_trial_index(runner, done_session):
    before = session.results(done_session)
    result = invoke(runner, "del_trial", done_session, "99")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "99")
    _untouched(done_session, before)
