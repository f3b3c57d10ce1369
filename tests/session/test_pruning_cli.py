"""Pruning through ssearch: `start demo steps=N pruner=asha`, list, show, and
the one-line errors of bad pruner settings."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from slurm_search import session
from slurm_search.session.workers._cli import cli

from _cli_helpers import assert_one_line_error


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_start_with_asha_prunes_and_list_and_show_mark_it():
    result = invoke(
        "start", "demo", "steps=8", "pruner=asha", "pruner_options:reduction_factor=2",
        "max_evals=16", "seed=4", "--method=inline",
    )
    assert result.exit_code == 0, result.output
    name = result.stdout.strip()
    info = session.info(name)
    assert info.pruner == "asha" and info.pruner_options["reduction_factor"] == 2
    progress = session.progress(name)
    assert progress.status == "done" and progress.pruned > 0
    assert progress.completed + progress.pruned == 16
    assert f"{progress.pruned} pruned (done)" in result.stderr
    rows = json.loads(invoke("list", "--all", "--json").stdout)
    assert [row["pruned"] for row in rows if row["name"] == name] == [progress.pruned]
    table = invoke("list", "--all").stdout.splitlines()
    assert table[0].split()[4:7] == ["DONE", "FAILED", "PRUNED"]
    shown = invoke("show", name).stdout
    assert f"pruned (stopped early, loss = last report): {progress.pruned} trials" in shown
    listed = json.loads(invoke("show", name, "pruned_trials", "--json").stdout)
    assert len(listed) == progress.pruned
    assert all(entry["step"] in (1, 2, 4) and entry["loss"] > 0 for entry in listed)


def test_demo_without_steps_reports_nothing():
    result = invoke("start", "demo", "pruner=median", "max_evals=4", "seed=1", "--method=inline")
    assert result.exit_code == 0, result.output
    progress = session.progress(result.stdout.strip())
    assert (progress.completed, progress.pruned) == (4, 0)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["pruner=hyperband"], "invalid pruner 'hyperband': expected median, asha or none"),
        (["pruner=asha", "pruner_options:eta=3"], "invalid pruner_options:eta 3"),
        (["pruner=asha", "pruner_options:reduction_factor=1"], "a whole number >= 2"),
        (["pruner_options:min_resource=5"], "no options without a pruner"),
        (["steps=-1"], "steps must be a whole number"),
    ],
)
def test_bad_pruner_settings_are_one_line(args, said):
    before = session.list_sessions(all=True)
    result = CliRunner().invoke(cli, ["start", "demo", *args, "--method=inline"])
    assert_one_line_error(result.exit_code, result.stdout, result.stderr, said)
    assert session.list_sessions(all=True) == before


def test_trials_shows_pruned_trials_with_their_last_report():
    result = invoke(
        "start", "demo", "steps=8", "pruner=asha", "pruner_options:reduction_factor=2",
        "max_evals=8", "seed=4", "--method=inline",
    )
    name = result.stdout.strip()
    rows = {row.tid: row for row in session.trial_rows(name)}
    pruned = [row for row in rows.values() if row.state == "pruned"]
    assert pruned and all(row.loss is not None and row.end is not None for row in pruned)
    reports = session.trial_reports(name)
    assert all(row.loss == reports[row.tid][max(reports[row.tid])] for row in pruned)
    table = invoke("trials", name).stdout
    assert "pruned" in table
