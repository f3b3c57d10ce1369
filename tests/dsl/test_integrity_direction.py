"""A direction accepts exactly its documented words (issue 21).

``--tune:goal=minimize``, ``=MIN`` and ``=maximum`` used to maximise: any
value but ``min`` meant max. The goal is ``min`` or ``max`` (``minimize``
and ``maximize`` are documented synonyms); anything else is one line, exit
1, and nothing stored. Real ``run_exp`` (click's CliRunner and a process),
real store.
"""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner
from conftest import RUN_EXP

from slurm_search import session, state
from slurm_search.dsl import BadValue
from slurm_search.dsl._cli import cli


@pytest.mark.parametrize("goal", ["MIN", "maximum", "Max", "minimise", "1", "up"])
def test_a_goal_that_is_not_one_of_its_words_is_refused(goal):
    result = CliRunner().invoke(cli, ["demo", "--debug=true", f"--tune:goal={goal}"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"run_exp: error: --tune:goal={goal} is not valid: expected min or max (or minimize, maximize)"]
    assert state.names() == []  # no run, no session


def test_the_refusal_is_one_line_from_the_real_command():
    proc = subprocess.run([str(RUN_EXP), "demo", "--tune:goal=maximum"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "run_exp: error: --tune:goal=maximum is not valid: expected min or max (or minimize, maximize)"
    ]


@pytest.mark.parametrize(
    ("goal", "sign", "shown"), [("minimize", 1, "min"), ("min", 1, "min"), ("maximize", -1, "max")]
)
def test_each_word_goes_its_way(goal, sign, shown):
    result = CliRunner().invoke(cli, ["demo", "--debug=true", "--seed=5", f"--tune:goal={goal}"])
    assert result.exit_code == 0, result.output
    # The tuning search: exp:NAME/best_xy/argmax:mean (or argmin:mean), not an inner one.
    tuning = next(name for name, found in session.labelled().items() if found.label.split("/")[1:2] == ["best_xy"]
                  and len(found.label.split("/")) == 3)
    assert session.context(tuning).sign == sign  # minimize minimises
    assert session.info(tuning).goal == shown


def test_check_goal_is_the_one_reading():
    from slurm_search.dsl import check_goal

    assert [check_goal("goal", w) for w in ("min", "max", "minimize", "maximize")] == [
        "minimize", "maximize", "minimize", "maximize"]
    for wrong in ("MIN", "maximum", "", None, -1):
        with pytest.raises(BadValue, match="expected min or max"):
            check_goal("--goal", wrong)
