"""The bad-input sweep (issue 21) as a table: each row a real ``ssearch`` or
``run_exp`` process given one bad input, and the one line it must answer.

Every row: the exit status listed, one line on stderr holding the expected
text, no traceback, and an answer within its timeout (a hang fails the row).
Nothing here submits to Slurm: each input is refused before a launch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hyperopt import hp

from slurm_search import session

from _cli_helpers import assert_one_line_error, run_command

DEMO = "slurm_search.session.demo:objective"
ROW_TIMEOUT = 60
HAS_RL = importlib.util.find_spec("slurm_search.rl") is not None

HUGE_RESULT = textwrap.dedent(
    """
    from hyperopt import hp
    from slurm_search.dsl import Spec, accepts_param_names, random_sampling

    @accepts_param_names
    def huge(x):
        return 10**400  # no float holds it

    def huge_loss(params, context):
        return 10**400

    spec = Spec(config={"x_space": hp.uniform("x", 0, 1)},
                experiment_func=lambda: {"r": random_sampling("x", huge("x"), sample_count=1, method="inline")["mean"]})
    """
)


@dataclasses.dataclass(frozen=True)
class Row:
    """One bad input: ``argv`` (``{S}``: the session `setup` made, ``{tmp}``: the test's folder),
    the text the one line holds, the exit status; ``env``: variables to set (``None``: unset)."""

    id: str
    argv: tuple[str, ...]
    needle: str
    code: int
    env: dict[str, str | None] = dataclasses.field(default_factory=dict)
    setup: Callable[[Path], str] | None = None
    rl: bool = False


def never_launched(tmp: Path) -> str:
    return session.create_session(DEMO, {"x": hp.uniform("x", 0, 1)}, max_evals=2)


def launched_on_cpu(tmp: Path) -> str:
    name = session.create_session(DEMO, {"x": hp.uniform("x", 0, 1)}, max_evals=2)
    session.annotate(name, "launch", {"method": "cpu", "workers": 1, "slurm": {}})
    return name


def launched_on_slurm(tmp: Path) -> str:
    name = session.create_session(DEMO, {"x": hp.uniform("x", 0, 1)}, max_evals=2)
    session.annotate(name, "launch", {"method": "slurm", "workers": 2, "slurm": {}})
    return name


def locks_is_a_file(tmp: Path) -> str:
    home = Path(os.environ["SLURM_SEARCH_HOME"])
    home.mkdir(mode=0o700, parents=True)
    (home / "locks").write_text("")
    return ""


def a_file(tmp: Path) -> str:
    (tmp / "afile").write_text("")
    return ""


def huge_result_module(tmp: Path) -> str:
    (tmp / "hugemod.py").write_text(HUGE_RESULT)
    return ""


ROWS = [
    # -- silently accepted ----------------------------------------------------
    Row("restart-never-launched", ("ssearch", "restart", "{S}"), "never launched, so there is nothing to restart", 1,
        setup=never_launched),
    Row("home-empty", ("ssearch", "list"), "SLURM_SEARCH_HOME='' is not valid", 1, env={"SLURM_SEARCH_HOME": ""}),
    Row("home-a-file", ("ssearch", "list"), "it is a file: give a folder", 1,
        env={"SLURM_SEARCH_HOME": "{tmp}/afile"}, setup=a_file),
    Row("run-exp-slurm-option-inline", ("run_exp", "demo", "--debug=true", "--tune:method=inline",
                                        "--slurm:partition=debug"),
        "--slurm:partition=debug does nothing: no sampling runs on Slurm", 1),
    Row("start-slurm-option-inline", ("ssearch", "start", "demo", "--method=inline", "--slurm:partition=debug"),
        "--slurm: options need --method=slurm", 2),
    Row("restart-slurm-option-cpu", ("ssearch", "restart", "{S}", "--slurm:bogus=1"),
        "--slurm: options need --method=slurm (the method is cpu)", 2, setup=launched_on_cpu),
    Row("restart-slurm-option-unknown", ("ssearch", "restart", "{S}", "--slurm:bogus=1"),
        "unknown Slurm option bogus", 1, setup=launched_on_slurm),
    Row("restart-no-launch-workers", ("ssearch", "restart", "{S}", "--no-launch", "--workers=3"),
        "--workers does nothing with --no-launch", 2, setup=launched_on_cpu),
    Row("start-no-wait-inline", ("ssearch", "start", "demo", "--method=inline", "--no-wait"),
        "--no-wait does nothing with --method=inline", 2),
    Row("restart-no-wait-inline", ("ssearch", "restart", "{S}", "--method=inline", "--no-wait"),
        "--no-wait does nothing with --method=inline", 2, setup=launched_on_cpu),
    Row("doctor-slurm-arg-alone", ("ssearch", "doctor", "--slurm-arg=--partition=debug"),
        "--slurm-arg does nothing without --slurm", 2),
    Row("run-exp-option-twice", ("run_exp", "demo", "--debug=true", "--tune:settings=3", "--tune:settings=4"),
        "--tune:settings is given twice", 1),
    Row("ssearch-setting-twice", ("ssearch", "start", "demo", "max_evals=3", "max_evals=4", "--method=inline"),
        "max_evals is given twice", 2),
    Row("ssearch-slurm-option-twice", ("ssearch", "start", "demo", "--method=slurm", "--slurm:time=5",
                                       "--slurm:time=6"), "--slurm:time is given twice", 2),
    Row("steps-negative", ("run_exp", "demo", "--debug=true", "--steps=-1"), "--steps=-1 is not valid", 1),
    Row("work-on-nan", ("ssearch", "work_on", "{S}", "nan"), "TIMEOUT=nan is not valid", 2, setup=never_launched),
    Row("work-on-empty-worker-id", ("ssearch", "work_on", "--worker-id=", "{S}"), "invalid worker_id ''", 1,
        setup=never_launched),
    Row("session-named-exp", ("ssearch", "start", "demo", "name=exp:foo", "--method=inline"),
        "invalid name 'exp:foo'", 1),
    Row("workers-absurd", ("ssearch", "start", "demo", "--method=cpu", "--workers=100000"), "--workers", 2),
    Row("threads-absurd", ("run_exp", "demo", "--debug=true", "--tune:method=cpu", "--tune:threads=100000"),
        "--tune:threads=100000 is not valid", 1),
    Row("env-classic-unknown", ("run_exp", "hp_tuning_effects", "--debug=true", "--env=classic:NoSuch-v0"),
        "--env=classic:NoSuch-v0 is not valid", 1, rl=True),
    Row("env-atari-unknown", ("run_exp", "hp_tuning_effects", "--debug=true", "--env=atari:NoSuchGame"),
        "--env=atari:NoSuchGame is not valid", 1, rl=True),
    Row("ale-env-unknown", ("ssearch", "start", "ale", "agent=debug", "env=classic:NoSuch-v0", "--method=inline"),
        "unknown environment 'classic:NoSuch-v0'", 1, rl=True),
    # -- tracebacks -----------------------------------------------------------
    Row("delay-negative", ("run_exp", "demo", "--debug=true", "--delay=-1"), "--delay=-1.0 is not valid", 1),
    Row("home-under-a-file", ("ssearch", "start", "demo", "--method=inline"), "which is a file: give a folder", 1,
        env={"SLURM_SEARCH_HOME": "{tmp}/afile/store"}, setup=a_file),
    Row("home-under-a-file-run-exp", ("run_exp", "--list-runs"), "which is a file: give a folder", 1,
        env={"SLURM_SEARCH_HOME": "{tmp}/afile/store"}, setup=a_file),
    Row("locks-a-file", ("ssearch", "start", "demo", "max_evals=1", "--method=inline"),
        "locks is a file where a folder should be", 1, setup=locks_is_a_file),
    Row("rl-logdir-unwritable", ("ssearch", "start", "ale", "agent=classic:a2c", "max_evals=1", "--method=inline"),
        "cannot write TensorBoard logs", 1, env={"SLURM_SEARCH_RL_LOGDIR": "{tmp}/afile/tb"}, setup=a_file, rl=True),
    # -- hangs ----------------------------------------------------------------
    Row("settings-huge", ("run_exp", "demo", "--debug=true", "--tune:settings=99999999999999999999999999"),
        "<= 10,000,000", 1),
    Row("eval-seeds-huge", ("run_exp", "demo", "--debug=true", "--eval:seeds=10000000000"), "<= 10,000,000", 1),
    Row("max-evals-huge", ("ssearch", "start", "demo", "max_evals=100000000000000000000000000", "--method=inline"),
        "<= 10,000,000", 1),
    Row("max-evals-1e26", ("ssearch", "start", "demo", "max_evals=1e26", "--method=inline"), "max_evals", 1),
    # -- earlier hardening, cheap to keep in the sweep ------------------------
    Row("max-evals-zero", ("ssearch", "start", "demo", "max_evals=0", "--method=inline"), "max_evals", 1),
    Row("sleep-inf", ("ssearch", "start", "demo", "sleep=inf", "--method=inline"), "sleep", 1),
    Row("workers-zero", ("ssearch", "start", "demo", "--workers=0", "--method=cpu"), "--workers", 2),
    Row("method-unknown", ("ssearch", "start", "demo", "--method=gpu"), "--method", 2),
    Row("name-dotdot", ("ssearch", "show", "a..b"), "invalid session name", 1),
    Row("slurm-value-two-words", ("ssearch", "start", "demo", "--method=slurm", "--slurm:time=5 --output=/tmp/x"),
        "one word", 1),
    Row("settings-zero", ("run_exp", "demo", "--debug=true", "--tune:settings=0"), "--tune:settings=0 is not valid", 1),
    Row("method-unknown-run-exp", ("run_exp", "demo", "--debug=true", "--tune:method=gpu"),
        "--tune:method=gpu is not valid", 1),
    Row("noise-inf", ("run_exp", "demo", "--noise=inf"), "--noise=inf is not valid", 1),
    Row("unknown-run", ("run_exp", "--show=exp:nothing_here"), "no such experiment run", 1),
]


def no_sbatch(tmp: Path) -> tuple[str, Path]:
    """A PATH whose first ``sbatch`` records its call and refuses: no row may
    submit (the code before these checks did, for restart-never-launched).

    FAKE at the subprocess boundary: it only has to show that nothing is
    submitted; real submissions are tested on the local cluster (test_slurm.py).
    """
    folder = tmp / "fake_bin"
    folder.mkdir()
    calls = tmp / "sbatch_calls"
    script = folder / "sbatch"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho "sbatch: refused by the test" >&2\nexit 1\n')
    script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}", calls


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_a_bad_input_is_one_line(row, tmp_path):
    if row.rl and not HAS_RL:
        pytest.skip("slurm-search-rl is not installed")
    env = {k: v for k, v in os.environ.items() if k != "SLURM_JOB_ID"}  # doctor implies --slurm in a job
    env["PATH"], calls = no_sbatch(tmp_path)
    for key, value in row.env.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value.replace("{tmp}", str(tmp_path))
    name = row.setup(tmp_path) if row.setup is not None else ""
    argv = [arg.replace("{S}", name).replace("{tmp}", str(tmp_path)) for arg in row.argv]
    proc = run_command(argv, env=env, cwd=tmp_path, timeout=ROW_TIMEOUT)
    assert proc.returncode == row.code, (proc.returncode, proc.stderr)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, row.needle)
    assert not calls.exists()  # nothing was submitted


def test_an_objective_returning_a_number_no_float_holds_fails_its_trial_in_one_line(tmp_path, monkeypatch):
    # Not refused before the run (the value comes from the objective): the
    # run prints its progress lines, then the trial's failure as one line.
    huge_result_module(tmp_path)
    proc = run_command(["run_exp", "hugemod:spec"], cwd=tmp_path, timeout=ROW_TIMEOUT)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    assert proc.stderr.count("return a finite float") == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("run_exp: error: ") and "the objective returned 1000" in last, last
    # The session API says the same: the trial failed with that one line.
    monkeypatch.syspath_prepend(str(tmp_path))
    name = session.create_session("hugemod:huge_loss", {"x": hp.uniform("x", 0, 1)}, max_evals=1)
    session.work_on(name)
    failure = session.progress(name).last_traceback
    assert failure.startswith("the objective returned 1000") and "\n" not in failure.strip(), failure
