"""Bad input to ssearch and to the session API: refused as one line, before
anything is stored or submitted.

Slurm option values (one word each), session settings (finite counts and
leases, booleans, the demo's context, the ale type's fixed hyperparameters),
session names (no '..', not too long), click's own usage errors.
"""

from __future__ import annotations

import math
import os
import pickle
import stat

import pytest
from click.testing import CliRunner
from hyperopt import hp

from slurm_search import session, state
from slurm_search.session import demo, workers
from slurm_search.session.workers._cli import cli
from slurm_search.session.workers._errors import BadSlurmOption, UnknownSlurmOption
from slurm_search.session.workers._slurm_script import batch_script, check_options, normalise_options

from _cli_helpers import assert_one_line_error, ssearch

DEMO = "slurm_search.session.demo:objective"
SPACE = {"x": hp.uniform("x", -2, 2)}


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_nothing_stored():
    assert session.list_sessions(all=True) == []
    assert state.names() == []


@pytest.fixture
def fake_sbatch(tmp_path, monkeypatch):
    """An ``sbatch`` first on PATH that records each call and answers a job id.

    FAKE at the subprocess boundary: these tests show that nothing is
    submitted at all, which needs no cluster; the real submission is tested
    on the local cluster in test_slurm.py.
    """
    folder = tmp_path / "fake_bin"
    folder.mkdir()
    calls = tmp_path / "sbatch_calls"
    script = folder / "sbatch"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\necho 4242\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return calls


# -- 1. Slurm option values are one word each ---------------------------------

SMUGGLING = [
    ("time", "5 --output=/tmp/x-%j.out", "one word"),
    ("time", "5\n#SBATCH --output=/tmp/x-%j.out", "line break"),
    ("time", "5\r--output=/tmp/x", "line break"),
    ("partition", "a\tb", "one word"),
    ("partition", "--output=/tmp/x", "starts with '-'"),
    ("time", "-5", "starts with '-'"),
    ("mem", "", "empty"),
    ("qos", "a\x00b", "one word"),
]


@pytest.mark.parametrize(("option", "value", "needle"), SMUGGLING)
def test_ssearch_start_refuses_a_slurm_value_that_is_not_one_word(fake_sbatch, option, value, needle):
    result = invoke("start", "demo", "max_evals=2", "--method=slurm", f"--slurm:{option}={value}")
    line = assert_one_line_error(result.exit_code, result.stdout, result.stderr, f"Slurm option {option}=", needle)
    assert "Traceback" not in line
    assert_nothing_stored()
    assert not fake_sbatch.exists()  # nothing was submitted


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("--output=/tmp/x-%j.out", "sets --job-name, --array, --output and --error itself"),
        ("--out=/tmp/x", "itself"),  # sbatch takes a prefix of an option's name
        ("--error=/tmp/e", "itself"),
        ("--array=0-100", "itself"),
        ("-o", "one long option"),
        ("/tmp/x", "one long option"),
        ("--mail-type=END --output=/tmp/x", "one word"),
        ("--mail-type=END\n#SBATCH --output=/tmp/x", "line break"),
        ("--part=gpu", "--slurm:partition"),
        ("--time=5", "--slurm:time"),
    ],
)
def test_extra_is_a_list_of_long_options_that_do_not_redirect_the_logs(fake_sbatch, extra, needle):
    result = invoke("start", "demo", "max_evals=2", "--method=slurm", f"--slurm:extra={extra}")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "Slurm option extra=", needle)
    assert_nothing_stored()
    assert not fake_sbatch.exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [("generations", "inf"), ("generations", "0"), ("generations", "2.5"), ("margin", "-1"),
     ("margin", "nan"), ("margin", "inf"), ("array_parallelism", "0"), ("array_parallelism", "two")],
)
def test_run_options_and_array_parallelism_are_numbers_in_range(fake_sbatch, option, value):
    result = invoke("start", "demo", "max_evals=2", "--method=slurm", f"--slurm:{option}={value}")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, f"Slurm option {option}=")
    assert_nothing_stored()
    assert not fake_sbatch.exists()


def test_a_smuggled_output_is_refused_as_a_real_process(tmp_path, fake_sbatch):
    env = dict(os.environ)  # with the fake sbatch first on PATH
    proc = ssearch("start", "demo", "--method=slurm", f"--slurm:time=5 --output={tmp_path}/x-%j.out", env=env)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "Slurm option time=", "one word")
    proc = ssearch("start", "demo", "--method=slurm", "--slurm:time=5\n#SBATCH --output=/tmp/x", env=env)
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "line break")
    assert_nothing_stored()
    assert not fake_sbatch.exists()


def test_good_slurm_values_still_pass():
    options = normalise_options(
        {"time": "1:00:00", "partition": "gpu", "cpus-per-task": 2, "mem": "4G", "exclude": "node[01-02]",
         "gres": None, "extra": ["--mail-type=END"], "signal": "USR1@60", "requeue": True, "generations": 3,
         "margin": 30.0, "array_parallelism": 2}
    )
    assert options["cpus_per_task"] == 2
    text = batch_script(["x"], logs="/l", job_name="j", tasks=2, environment={}, extra="--exclusive")
    assert "#SBATCH --exclusive\n" in text


def test_the_api_refuses_the_same_values_with_a_typed_error():
    for check in (check_options, normalise_options, workers.check_slurm_options):
        with pytest.raises(BadSlurmOption) as info:
            check({"time": "5 --output=/tmp/x"})
        err = info.value
        assert (err.option, err.value) == ("time", "5 --output=/tmp/x")
        assert isinstance(err, session.SessionError) and isinstance(err, ValueError)
        assert "\n" not in str(err)
        copy = pickle.loads(pickle.dumps(err))
        assert (copy.option, copy.value, copy.reason, str(copy)) == (err.option, err.value, err.reason, str(err))
    with pytest.raises(BadSlurmOption, match="line break"):
        batch_script(["x"], logs="/l", job_name="j", tasks=1, environment={}, time="5\n#SBATCH --output=/x")
    with pytest.raises(BadSlurmOption, match="one word"):
        batch_script(["x"], logs="/l", job_name="j", tasks=1, environment={}, partition="a --output=/x")
    with pytest.raises(BadSlurmOption, match="itself"):
        batch_script(["x"], logs="/l", job_name="j", tasks=1, environment={}, extra=["--output=/x"])
    with pytest.raises(UnknownSlurmOption):
        normalise_options({"output": "/tmp/x"})
    with pytest.raises(BadSlurmOption):
        normalise_options("time=5")


def test_launch_refuses_before_annotating_or_submitting(fake_sbatch):
    name = session.create_session(DEMO, SPACE, max_evals=2)
    before = session.annotations(name)
    with pytest.raises(BadSlurmOption):
        workers.launch(name, method="slurm", workers=2, slurm={"time": "5 --output=/tmp/x"}, wait=False)
    assert session.annotations(name) == before
    assert not fake_sbatch.exists()


def test_restart_refuses_a_bad_slurm_option_before_restarting(fake_sbatch):
    name = session.create_session(DEMO, SPACE, max_evals=2)
    session.work_on(name)
    log = state.paths(name).log
    size = log.stat().st_size
    result = invoke("restart", name, "--method=slurm", "--slurm:time=5 --output=/tmp/x")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "one word")
    assert log.stat().st_size == size  # no restart written
    assert not fake_sbatch.exists()


# -- 3. session settings: refused before the session is written --------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["sleep=inf"], "sleep"),
        (["sleep=1e999"], "sleep"),
        (["sleep=nan"], "sleep"),
        (["sleep=-1"], "sleep"),
        (["max_evals=0"], "max_evals"),
        (["max_evals=-1"], "max_evals"),
        (["max_evals=inf"], "max_evals"),
        (["max_evals=1e999"], "max_evals"),
        (["max_evals=2.5"], "max_evals"),
        (["interruptible=maybe"], "interruptible"),
        (["interruptible=1"], "interruptible"),
        (["lease_seconds=inf"], "lease_seconds"),
        (["lease_seconds=1e999"], "lease_seconds"),
        (["lease_seconds=1e12"], "lease_seconds"),
        (["lease_seconds=0"], "lease_seconds"),
        (["lease_seconds=-1"], "lease_seconds"),
        (["lease_seconds=nan"], "lease_seconds"),
        (["--workers=0"], "--workers"),
        (["--workers=-1"], "--workers"),
        (["--workers=many"], "--workers"),
        (["--method=gpu"], "--method"),
    ],
)
def test_bad_settings_are_one_line_and_store_nothing(args, needle):
    method = [] if any(a.startswith("--method") for a in args) else ["--method=inline"]
    result = invoke("start", "demo", "max_evals=2", *args, *method)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, needle)
    assert_nothing_stored()


def test_a_missing_argument_is_one_line():
    result = invoke("start")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "TYPE", "start --help")


def test_bad_settings_as_a_real_process():
    for args, needle in ((["sleep=inf"], "sleep"), (["interruptible=maybe"], "interruptible"),
                         (["lease_seconds=inf"], "lease_seconds"), (["--workers=0"], "--workers")):
        proc = ssearch("start", "demo", *args, "--method=inline")
        assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, needle)
    assert_nothing_stored()


@pytest.mark.parametrize(
    "kw",
    [
        {"context": {"sleep": math.inf}},
        {"context": {"sleep": math.nan}},
        {"context": {"sleep": -1}},
        {"context": {"sleep": "long"}},
        {"context": {"fail": 2}},
        {"lease_seconds": math.inf},
        {"lease_seconds": 1e12},
        {"lease_seconds": math.nan},
        {"interruptible": "maybe"},
        {"interruptible": 1},
        {"max_evals": math.inf},
    ],
)
def test_create_session_refuses_the_same_values(kw):
    args = {"max_evals": 2, **kw}
    with pytest.raises(session.InvalidSetting) as info:
        session.create_session(DEMO, demo.space(), **args)
    assert info.value.setting == next(iter(kw))
    assert "\n" not in str(info.value)
    assert_nothing_stored()


def test_the_demo_context_check_is_on_the_objective():
    demo.objective.check_context({"sleep": 0.0, "fail": 0.5})
    demo.objective.check_context(None)
    with pytest.raises(ValueError, match="sleep"):
        demo.objective.check_context({"sleep": math.inf})
    name = session.create_session(demo.objective, demo.space(), max_evals=1, context={"sleep": 0.01}, interruptible=True)
    assert session.info(name).interruptible is True


def _ale_registered() -> bool:
    from slurm_search.session.workers._registry import session_types

    return "ale" in session_types()


@pytest.mark.skipif(not _ale_registered(), reason="the ale session type (slurm-search-rl) is not installed")
def test_ale_fixed_hyperparameters_are_checked_and_not_searched_as_well():
    result = invoke("start", "ale", "agent=debug", "hp:lr=abc", "--method=inline")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "hp:lr='abc'", "finite number")
    result = invoke("start", "ale", "agent=debug", "hp:lr=inf", "--method=inline")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "hp:lr=inf")
    result = invoke("start", "ale", "agent=debug", "hp:lr=0.01", "space:lr=[0.001,0.1]", "--method=inline")
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "both fixed", "searched")
    assert_nothing_stored()
    # A fixed hyperparameter is left out of the default space: the search
    # does not replace it.
    result = invoke("start", "ale", "agent=debug", "hp:lr=0.01", "test_episodes=2", "max_evals=3", "--method=inline")
    assert result.exit_code == 0, result.output
    name = result.stdout.strip()
    assert session.context(name)["hp"] == {"lr": 0.01}
    assert [set(r.params) for r in session.results(name)] == [{"entropy_loss_scaling"}] * 3


# -- 4. session names: no '..', not over the lock layer's length --------------

LONG = "a" * 300


@pytest.mark.parametrize(
    "args",
    [
        ["show", "a..b"],
        ["progress", "search:a..b"],
        ["stop", "a..b"],
        ["show", LONG],
        ["progress", f"{LONG}:y"],
        ["logs", f"{LONG}:y"],
        ["work_on", "x:" + "b" * 195],
        ["start", "demo", "name=a..b", "--method=inline"],
        ["start", "demo", f"name={LONG}", "--method=inline"],
        ["start", "demo", f"name={LONG}:y", "--method=inline"],
    ],
)
def test_bad_session_names_are_one_line(args):
    result = invoke(*args)
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, "invalid session name")
    assert_nothing_stored()


def test_a_long_type_is_one_line_as_a_real_process():
    proc = ssearch("progress", f"{LONG}:y")
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "invalid session name", "bytes")


def test_the_api_raises_invalid_session_name():
    for name in ("a..b", "search:x..", LONG, f"{LONG}:y", "s:" + "b" * 193):
        with pytest.raises(session.InvalidSessionName) as info:
            session.create_session(DEMO, SPACE, max_evals=1, name=name)
        assert info.value.name == name and info.value.reason
        with pytest.raises(session.InvalidSessionName):
            session.progress(name)
        with pytest.raises(session.InvalidSessionName):
            session.stop(name)
    assert_nothing_stored()
    # The longest name that fits: its Slurm lock (`<name>.slurm`) fits too.
    longest = "s:" + "b" * 192
    assert session.create_session(DEMO, SPACE, max_evals=1, name=longest) == longest


# -- 5. issue 21: values accepted though wrong, at creation and in work_on ----


@pytest.mark.parametrize(
    ("space", "needle"),
    [
        ({"a": hp.choice("a", [{"x": hp.uniform("x", 1, 0)}, 2])}, "'x' cannot be drawn from"),
        ({"x": hp.choice("x", [])}, "hp.choice of no options"),
        ({"x": hp.normal("x", 0, -1)}, "'x' cannot be drawn from"),
        ({"x": object()}, "neither a hyperopt expression"),
        ({"x": hp.uniform("x", 0, 1), "opts": {"a": (1, object())}}, "neither a hyperopt expression"),
    ],
)
def test_a_space_that_cannot_be_drawn_from_is_refused_at_creation(space, needle):
    # hyperopt compiles each of these; the workers met them, one trial at a time.
    with pytest.raises(session.InvalidSpace, match=needle) as info:
        session.create_session(DEMO, space, max_evals=2)
    assert "\n" not in str(info.value)
    assert_nothing_stored()


def test_plain_values_and_choices_of_them_are_still_a_space():
    name = session.create_session(
        DEMO, {"x": hp.uniform("x", 0, 1), "act": ["relu", "tanh"], "n": None, "k": (1, 2.5)}, max_evals=1
    )
    session.work_on(name)
    assert session.progress(name).completed == 1


def test_max_evals_has_a_documented_bound():
    with pytest.raises(session.InvalidSetting, match="10,000,000") as info:
        session.create_session(DEMO, SPACE, max_evals=session.MAX_TRIALS + 1)
    assert info.value.setting == "max_evals"
    with pytest.raises(session.InvalidSetting):
        session.create_session(DEMO, SPACE, max_evals=10**26)
    assert_nothing_stored()
    assert session.create_session(DEMO, SPACE, max_evals=session.MAX_TRIALS)


def test_unpicklable_values_are_one_line_and_store_nothing():
    import threading

    with pytest.raises(session.InvalidSetting, match="picklable") as info:
        session.create_session(DEMO, SPACE, max_evals=1, metadata={"lock": threading.Lock()})
    assert info.value.setting == "metadata"
    assert_nothing_stored()
    with pytest.raises(state.Unpicklable, match="does not pickle") as stored:
        state.create("thing:x", threading.Lock())
    assert "\n" not in str(stored.value) and pickle.loads(pickle.dumps(stored.value)).name == "thing:x"
    assert state.names() == []
    name = session.create_session(DEMO, SPACE, max_evals=1)
    session.annotate(name, "kept", 1)
    with pytest.raises(state.Unpicklable, match="annotation 'bad'"):
        session.annotate(name, "bad", threading.Lock())
    assert session.annotations(name) == {"kept": 1}  # nor in this process's view of it


def test_a_session_may_not_take_the_type_of_run_exp_runs():
    # ssearch and run_exp read exp:NAME as a run: such a session could not be named.
    with pytest.raises(session.InvalidSetting, match="exp:NAME names a run") as info:
        session.create_session(DEMO, SPACE, max_evals=1, name="exp:foo")
    assert info.value.setting == "name"
    assert_nothing_stored()
    assert session.create_session(DEMO, SPACE, max_evals=1, name="mine:foo") == "mine:foo"


@pytest.mark.parametrize("kw", [{"deadline": math.nan}, {"worker_id": ""}, {"worker_id": "  "}, {"worker_id": 3}])
def test_work_on_refuses_a_nan_deadline_and_an_empty_worker_id(kw):
    name = session.create_session(DEMO, SPACE, max_evals=1)
    with pytest.raises(session.InvalidSetting) as info:
        session.work_on(name, **kw)
    assert info.value.setting == next(iter(kw))
    assert session.progress(name).completed == 0  # nothing claimed


def test_local_workers_are_capped_at_the_trials_left_and_say_so():
    proc = ssearch("start", "demo", "max_evals=2", "--method=cpu", "--workers=6")
    assert proc.returncode == 0, proc.stderr
    name = proc.stdout.strip()
    assert f"{name}: starting 2 workers, not 6: the session has 2 trials left" in proc.stderr
    logs = state.paths(name).dir / "logs"
    assert len(list(logs.glob("cpu_*.out"))) == 2  # two processes started, not six
    assert session.annotations(name)["launch"]["workers"] == 6  # a restart asks again


def test_a_wait_for_another_workers_lease_says_what_it_waits_for():
    # The phantom lease of a cut log: a claim whose worker is gone.
    name = session.create_session(DEMO, SPACE, max_evals=1, lease_seconds=4)
    session.annotate(name, "launch", {"method": "inline", "workers": 1, "slurm": {}})
    session.next_trial(name, "gone-host:1")
    proc = ssearch("restart", name, timeout=60)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "waiting for" in line]
    assert len(said) == 1, proc.stderr
    assert "trial 0 (held by gone-host:1; its lease runs out in" in said[0] and " s unless renewed)" in said[0]
    assert session.progress(name).completed == 1
