"""The pure batch-script builder: pinned by a golden file, options checked."""

from __future__ import annotations

import pickle
import time
from pathlib import Path

import pytest

from slurm_search.session.workers._errors import BadSlurmOption, SubmissionError, UnknownSlurmOption
from slurm_search.session.workers._slurm_commands import SlurmEnv, _parse_end_time, parse_parsable
from slurm_search.session.workers._slurm_script import (
    RUN_OPTIONS,
    batch_script,
    check_options,
    normalise_options,
    script_options,
    split_options,
    normal_signal,
    valid_options,
)

GOLDEN = Path(__file__).parent / "data" / "batch_script.golden.sh"


def _golden_script() -> str:
    return batch_script(
        ["/opt/venv/bin/ssearch", "-v", "generational_work_on", "search:lumpy_roomy_vague_army", "--generation", "2"],
        logs="/home/me/hyperparameters/search/lumpy_roomy_vague_army/logs",
        job_name="ssearch-lumpy_roomy_vague_army",
        tasks=4,
        environment={"SLURM_SEARCH_HOME": "/home/me/hyper parameters", "A": "it's"},
        partition="gpu",
        time="1:00:00",
        gres="gpu:1",
        mem="4G",
        cpus_per_task=2,
        exclude="node[01-02]",
        account="proj",
        qos="normal",
        constraint="v100",
        array_parallelism=2,
        signal="USR1@60",
        requeue=True,
        extra=["--mail-type=END"],
    )


def test_script_matches_golden_file():
    # To update after an intended change: write _golden_script() to GOLDEN and review the diff.
    assert _golden_script() == GOLDEN.read_text()


def test_script_is_pure():
    assert _golden_script() == _golden_script()


def test_minimal_script_has_only_the_job_facts():
    text = batch_script(["ssearch", "work"], logs="/l", job_name="j", tasks=1, environment={})
    assert text == (
        "#!/bin/bash\n"
        "# Written by slurm-search; submitted with sbatch --parsable.\n"
        "#SBATCH --job-name=j\n"
        "#SBATCH --array=0-0\n"
        "#SBATCH --output=/l/%A_%a.out\n"
        "#SBATCH --error=/l/%A_%a.err\n"
        "exec ssearch work\n"
    )


def test_extra_may_be_one_string():
    text = batch_script(["x"], logs="/l", job_name="j", tasks=2, environment={}, extra="--nice=10")
    assert "#SBATCH --nice=10\n" in text


@pytest.mark.parametrize("tasks", [0, -1, 1.5, True, "3"])
def test_bad_task_counts_are_refused(tasks):
    with pytest.raises(ValueError):
        batch_script(["x"], logs="/l", job_name="j", tasks=tasks, environment={})


def test_valid_options_are_the_keyword_defaults():
    assert script_options() == (
        "partition", "time", "gres", "mem", "mem_per_cpu", "cpus_per_task", "exclude",
        "nodelist", "account", "qos", "constraint", "array_parallelism", "signal", "requeue", "extra",
    )
    assert valid_options() == script_options() + tuple(RUN_OPTIONS)


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(UnknownSlurmOption) as info:
        check_options({"partition": "a", "partitoin": "b"})
    err = info.value
    assert err.options == ["partitoin"]
    assert err.valid == list(valid_options())
    assert "partitoin" in str(err) and "partition, time, gres" in str(err)
    assert "\n" not in str(err)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.options, copy.valid, str(copy)) == (err.options, err.valid, str(err))


def test_dashes_are_accepted_and_run_options_split_off():
    options = normalise_options({"cpus-per-task": 3, "generations": 2, "partition": "short"})
    assert options == {"cpus_per_task": 3, "generations": 2, "partition": "short"}
    script, run = split_options(options)
    assert script == {"cpus_per_task": 3, "partition": "short"}
    assert run == {"generations": 2, "margin": None}


def test_line_breaks_in_options_are_refused():
    with pytest.raises(ValueError, match="line break"):
        batch_script(["x"], logs="/l", job_name="j", tasks=1, environment={}, partition="a\n#SBATCH --x")


def test_slurm_facts_are_read_in_one_place():
    env = SlurmEnv.from_environ({"SLURM_JOB_ID": "12", "SLURM_ARRAY_JOB_ID": "10", "SLURM_ARRAY_TASK_ID": "2"})
    assert env.worker_id == "10_2" and env.job_id == "12"
    assert SlurmEnv.from_environ({}) is None
    assert parse_parsable("1234\n") == "1234" and parse_parsable("77;cluster\n") == "77"
    with pytest.raises(SubmissionError):
        parse_parsable("sbatch: error\n")
    assert _parse_end_time("2026-11-27T22:58:43") == time.mktime((2026, 11, 27, 22, 58, 43, 0, 0, -1))
    assert _parse_end_time("Unknown") is None and _parse_end_time("N/A") is None


def test_a_job_submitted_from_a_job_keeps_only_slurm_search_settings(monkeypatch):
    from slurm_search.session.workers._slurm_commands import _submission_env

    monkeypatch.setenv("SLURM_JOB_ID", "12")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    monkeypatch.setenv("SLURM_SEARCH_LOCK", "soft")
    env = _submission_env()
    assert "SLURM_JOB_ID" not in env and "SLURM_ARRAY_TASK_ID" not in env
    assert env["SLURM_SEARCH_LOCK"] == "soft" and env["SLURM_SEARCH_HOME"]


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("USR1@90", "B:USR1@90"),
        ("B:USR1@90", "B:USR1@90"),
        ("b:sigusr2@0", "B:USR2@0"),
        ("TERM", "B:TERM"),
        ("SIGTERM@65535", "B:TERM@65535"),
        ("none", None),
    ],
)
def test_signal_is_written_for_the_batch_shell(given, written):
    # The batch shell execs the worker, so only B: reaches it; none asks for no signal.
    assert normal_signal(given) == written
    text = batch_script(["w"], logs="/l", job_name="j", tasks=1, environment={}, signal=given)
    lines = [line for line in text.splitlines() if line.startswith("#SBATCH --signal")]
    assert lines == ([f"#SBATCH --signal={written}"] if written else [])


@pytest.mark.parametrize(
    "bad",
    ["USR1@", "@60", "USR1@-5", "USR1@1.5", "USR1@ 60", "KILL@60", "INT", "R:USR1@60", "USR1@65536",
     "10@60", "", "USR1@60 --output=/tmp/x", True, 60],
)
def test_signal_values_sbatch_would_misread_are_refused(bad):
    with pytest.raises(BadSlurmOption) as info:
        check_options({"signal": bad})
    assert info.value.option == "signal"
    assert "\n" not in str(info.value)


def test_requeue_takes_true_or_false_only():
    assert "#SBATCH --requeue\n" in batch_script(["w"], logs="/l", job_name="j", tasks=1, environment={}, requeue=True)
    assert "#SBATCH --no-requeue\n" in batch_script(
        ["w"], logs="/l", job_name="j", tasks=1, environment={}, requeue="false"
    )
    for bad in ("yes", "1", 1, "maybe"):
        with pytest.raises(BadSlurmOption):
            check_options({"requeue": bad})


def test_default_signal_is_the_margin_before_the_limit():
    from slurm_search.session.workers._slurm import default_signal

    assert default_signal("1:00:00", None) == "B:USR1@120"  # a tenth, at most 2 min
    assert default_signal("1", None) == "B:USR1@6"  # a tenth of a minute
    assert default_signal("0-00:10", None) == "B:USR1@60"
    assert default_signal(None, None) == "B:USR1@60"
    assert default_signal("10", 30) == "B:USR1@30"  # the run's margin wins
