"""Parsing `key=value` settings and `--slurm:` options (pure)."""

from __future__ import annotations

import pytest

from slurm_search.session.workers._cli_args import BadArgument, parse_assignments, parse_value
from slurm_search.session.workers._summary import histogram, loss_stats, table


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", 1), ("-3", -3), ("0.5", 0.5), ("1e-3", 1e-3), ("true", True), ("False", False),
        ("none", None), ("tpe", "tpe"), ("[1, 2]", [1, 2]), ("{'a': 1}", {"a": 1}), ("1:00:00", "1:00:00"),
    ],
)
def test_values_read_as_what_they_look_like(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)


def test_settings_nested_paths_and_slurm_options():
    settings, slurm = parse_assignments(
        ["algo=tpe", "max_evals=200", "agent:lr=0.01", "agent:net:width=64",
         "--slurm:partition=short", "--slurm:cpus-per-task=2", "--slurm:extra=--a=1", "--slurm:extra=--b",
         "--slurm:generations=3"]
    )
    assert settings == {"algo": "tpe", "max_evals": 200, "agent": {"lr": 0.01, "net": {"width": 64}}}
    assert slurm == {"partition": "short", "cpus_per_task": "2", "extra": ["--a=1", "--b"], "generations": 3}


@pytest.mark.parametrize(
    "token", ["max_evals", "=3", "a::b=1", ":a=1", "--slurm:partition", "--slurm:a:b=1", "--bogus", "x=[1,"]
)
def test_malformed_tokens_are_usage_errors(token):
    with pytest.raises(BadArgument):
        parse_assignments([token])


def test_a_value_and_nested_keys_under_it_conflict():
    with pytest.raises(BadArgument, match="already set"):
        parse_assignments(["a=1", "a:b=2"])
    with pytest.raises(BadArgument, match="replaces"):
        parse_assignments(["a:b=2", "a=1"])


def test_loss_stats_quartiles():
    stats = loss_stats([4.0, 1.0, 3.0, 2.0, 5.0])
    assert stats == {"count": 5, "min": 1.0, "q1": 2.0, "median": 3.0, "q3": 4.0, "max": 5.0, "mean": 3.0}
    assert loss_stats([]) is None
    assert loss_stats([2.0])["q3"] == 2.0


def test_histogram_counts_every_loss():
    lines = histogram([0.0, 0.1, 0.9, 1.0, 1.0], bins=2, width=10)
    assert [int(line.split()[2]) for line in lines] == [2, 3]
    assert lines[1].endswith("#" * 10)
    assert histogram([]) == []
    assert histogram([3.0, 3.0])[0].split()[1] == "2"


def test_table_aligns_columns():
    text = table(["NAME", "N"], [["a", 1], ["longer", 100]])
    assert text.splitlines() == ["NAME      N", "a         1", "longer  100"]
