"""``ssearch trials``: every trial of a session as a table, CSV or JSON.

Registered on the ``ssearch`` group by `_cli.py`; the rows come from
`slurm_search.session.trial_rows` (so the command and
`slurm_search.session.dataframe` show the same trials).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import time
from typing import Any

import click

from slurm_search.session import TrialRow, pbt_schedule_text, trial_rows

from ._cli_common import CONTEXT
from ._summary import table

COLUMNS = ("tid", "state", "attempt", "host", "worker", "loss", "duration", "start", "end", "value")


def _local(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _number(value: Any) -> Any:
    """A JSON-safe number: a loss of inf or nan is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def param_names(rows: list[TrialRow]) -> list[str]:
    """The parameter columns of `rows`, in first-seen order."""
    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row.params))
    return list(names)


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat()


def _value_column(rows: list[TrialRow]) -> str:
    """LOSS (goal min), VALUE(MAX) (goal max: the objective's value, -loss), or VALUE (none: no value)."""
    goal = rows[0].goal if rows else "min"
    return {"min": "LOSS", "max": "VALUE(MAX)"}.get(goal, "VALUE")


def as_table(rows: list[TrialRow]) -> str:
    """Rows aligned under a header: the trial's columns, then one per parameter.

    The value column is the objective's value in its own sign (see `_value_column`).
    """
    params = param_names(rows)
    pbt = any(row.schedule for row in rows)
    header = ["TID", "STATE", "ATTEMPT", "HOST", _value_column(rows), "DURATION", "START", "END", *params]
    if pbt:
        header.append("SCHEDULE")
    lines = [
        [
            row.tid,
            row.state,
            row.attempt,
            row.host,
            "-" if row.value is None and row.goal == "none" else row.value,
            None if row.duration is None else round(row.duration, 3),
            _local(row.start),
            _local(row.end),
            *(row.params.get(p) for p in params),
            *([pbt_schedule_text(list(row.schedule))] if pbt else []),
        ]
        for row in rows
    ]
    return table(header, lines)


def as_csv(rows: list[TrialRow]) -> str:
    """One line per trial; times in ISO 8601 UTC; parameters as `params_NAME` columns
    (as `slurm_search.session.dataframe` and optuna's `trials_dataframe` name them)."""
    params = param_names(rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *(f"params_{p}" for p in params)])
    for row in rows:
        writer.writerow(
            [row.tid, row.state, row.attempt, row.host, row.worker, row.loss, row.duration,
             _iso(row.start), _iso(row.end), row.value, *(row.params.get(p) for p in params)]
        )
    return out.getvalue()


def as_json(rows: list[TrialRow]) -> str:
    """A JSON list of trials; `params` nested as the objective got them (flattened keys)."""
    out = []
    for row in rows:
        out.append(
            {
                "tid": row.tid,
                "state": row.state,
                "attempt": row.attempt,
                "host": row.host,
                "worker": row.worker,
                "params": row.params,
                "loss": _number(row.loss),
                "value": _number(row.value),
                "goal": row.goal,
                "duration": row.duration,
                "start": row.start,
                "end": row.end,
                **({"schedule": [list(entry) for entry in row.schedule]} if row.schedule else {}),
            }
        )
    return json.dumps(out, indent=2, default=repr)


@click.command("trials", context_settings=CONTEXT)
@click.argument("session")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="table for people; csv (ISO UTC times) and json (epoch seconds) for programs.",
)
def trials(session: str, fmt: str) -> None:
    """Print every trial of SESSION: tid, state, attempt, host, loss, duration, start, end, parameters.

    The loss column shows the objective's value in its own sign: LOSS for
    a minimising session, VALUE(MAX) (minus the loss) for a maximising one,
    VALUE `-` for one that optimises nothing (a random sampling's). CSV
    and JSON keep the loss and add the value.

    SESSION is a session's name or an experiment's sub-session label:
    exp:NAME/best_xy/argmax:mean (the session at that AST path; a prefix
    names the outermost session under it, exp:NAME alone the run's
    outermost one).
    """
    rows = trial_rows(session)
    if fmt == "csv":
        click.echo(as_csv(rows), nl=False)
    elif fmt == "json":
        click.echo(as_json(rows))
    elif rows:
        click.echo(as_table(rows))
    else:
        click.echo(f"{session}: no trial yet", err=True)
