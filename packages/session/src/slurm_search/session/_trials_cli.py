"""``ssearch trials``: every trial of a session as a table, CSV or JSON.

Registered on the ``ssearch`` group by `_cli.py`; the rows come from
`_trial_table.trial_rows` (the library function, so the command and
`slurm_search.session.dataframe` show the same trials).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from typing import Any

import click

from ._summary import table
from ._trial_table import TrialRow, param_names, records, trial_rows

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _local(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def _number(value: Any) -> Any:
    """A JSON-safe number: a loss of inf or nan is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def as_table(rows: list[TrialRow]) -> str:
    """Rows aligned under a header: the trial's columns, then one per parameter."""
    params = param_names(rows)
    header = ["TID", "STATE", "ATTEMPT", "HOST", "LOSS", "DURATION", "START", "END", *params]
    lines = [
        [
            row.tid,
            row.state,
            row.attempt,
            row.host,
            row.loss,
            None if row.duration is None else round(row.duration, 3),
            _local(row.start),
            _local(row.end),
            *(row.params.get(p) for p in params),
        ]
        for row in rows
    ]
    return table(header, lines)


def as_csv(rows: list[TrialRow]) -> str:
    """One line per trial; times in ISO 8601 UTC; parameters as `params_NAME` columns."""
    flat = records(rows)
    out = io.StringIO()
    columns = list(flat[0]) if flat else ["tid", "state", "attempt", "host", "worker", "loss", "duration", "start", "end"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in flat:
        writer.writerow({k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in record.items()})
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
                "duration": row.duration,
                "start": row.start,
                "end": row.end,
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
