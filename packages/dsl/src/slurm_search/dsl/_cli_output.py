"""What ``run_exp`` prints: results as a rounded table, a run's sub-sessions,
the stored runs, the merged parameters. Pure formatting where it can be
(``results_table``, ``format_number``), so the tests go deep there.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import click

from ._text import shorten

__all__ = [
    "results_table",
    "format_number",
    "show",
    "list_runs",
    "print_config",
    "list_experiments",
    "stop_run",
    "display_ast_of",
]

_WIDTH = 100


def format_number(value: float) -> str:
    """A float for people: 4 significant digits (``-3.667``, ``1.234e-05``, ``inf``)."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _value(value: Any, width: int = 70) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, Mapping):
        text = ", ".join(f"{key}={_value(inner, width)}" for key, inner in value.items())
    elif isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value):
            # (setting, value) pairs, sorted by value: the ends say the most.
            ends = f"lowest {_value(value[0][1])} at {_value(value[0][0])}"
            if len(value) > 1:
                ends += f"; highest {_value(value[-1][1])} at {_value(value[-1][0])}"
            text = f"{len(value)} points: {ends}"
        else:
            inner = ", ".join(_value(v, width) for v in value)
            text = f"[{inner}]"
            if len(text) > width and all(isinstance(v, (int, float)) for v in value):
                text = f"{len(value)} values from {_value(min(value))} to {_value(max(value))}"
    else:
        text = str(value)
    return shorten(text, width)


def _rows(results: Any, prefix: str = "") -> list[tuple[str, str]]:
    if not isinstance(results, Mapping):
        return [(prefix or "result", _value(results))]
    rows: list[tuple[str, str]] = []
    for key, value in results.items():
        path = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, Mapping) and {"point_values", "session_name"} <= set(value):
            shown = {k: value[k] for k in ("mean", "std", "session_name") if k in value}
            rows.append((path, "sampling results " + _value(shown)))
        elif isinstance(value, Mapping) and any(isinstance(v, Mapping) for v in value.values()):
            rows += _rows(value, path)
        else:
            rows.append((path, _value(value)))
    return rows


def results_table(results: Any) -> list[str]:
    """The results as ``name  value`` lines, nested keys joined by ``/``, floats rounded."""
    rows = _rows(results)
    width = max((len(name) for name, _ in rows), default=0)
    return [f"  {name:{width}s}  {text}" for name, text in rows]


def show(name: str, as_json: bool) -> None:
    """``--show=exp:NAME``: the run and each sub-session's progress."""
    from ._run import show_experiment

    shown = show_experiment(name)
    run = shown["run"]
    status = shown.get("status", run["status"])
    # Paths as session labels write them (exp:NAME/<path> names the session).
    paths = {sub: "/".join(path) or "<root>" for path, sub in run["sessions"].items()}
    shown["sessions"] = [(paths.get(sub, where), sub, progress) for where, sub, progress in shown["sessions"]]
    if as_json:
        sessions = []
        for path, session_name, progress in shown["sessions"]:
            entry: dict[str, Any] = {"path": path, "session": session_name}
            if isinstance(progress, Exception):
                entry["error"] = str(progress)
            else:
                entry.update(
                    completed=progress.completed,
                    max_evals=progress.max_evals,
                    running=progress.running,
                    failed=progress.failed,
                    status=progress.status,
                )
            sessions.append(entry)
        click.echo(
            json.dumps(
                {
                    "name": shown["name"],
                    "spec": run["spec"],
                    "status": status,
                    "seed": run["seed"],
                    "overrides": run["overrides"],
                    "debug": run["debug"],
                    "sessions": sessions,
                    "results": run.get("results"),
                    "files": _run_files(shown["name"]),
                },
                indent=2,
                default=repr,
            )
        )
        return
    click.echo(f"{shown['name']}: {run['spec']}, status {status}, seed {run['seed']}")
    if not shown["sessions"]:
        click.echo("  no sub-sessions yet")
    for path, session_name, progress in shown["sessions"]:
        if isinstance(progress, Exception):
            click.echo(f"  {path}  {session_name}  ({progress})")
        else:
            click.echo(
                f"  {path}  {session_name}  {progress.completed}/{progress.max_evals} done, "
                f"{progress.running} running, {progress.failed} failed ({progress.status})"
            )
    if status in ("interrupted", "stopped", "created"):
        click.echo(f"resume it with: run_exp --resume={shown['name']}")
    if status == "complete" and run.get("results") is not None:
        click.echo("results:")
        for line in results_table(run["results"]):
            click.echo(line)
    files = _run_files(shown["name"])
    if files:
        click.echo("files (plots, tables):")
        for path in files:
            click.echo(f"  {path}")


def _run_files(name: str) -> list[str]:
    """What the run's display wrote into its folder (plots, CSV tables), by path."""
    from ._experiment import run_dir

    folder = run_dir(name)
    if not folder.is_dir():
        return []
    found = [
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.name.startswith((".", "session_state")) and "logs" not in path.parts[-2:-1]
    ]
    return sorted(str(path) for path in found)


def list_runs(as_json: bool) -> None:
    """``--list-runs``: every stored run, newest first, with its status."""
    from ._run import stored_runs

    runs = stored_runs()
    if as_json:
        click.echo(json.dumps(runs, indent=2, default=repr))
        return
    if not runs:
        click.echo("no stored runs; start one with: run_exp NAME", err=True)
        return
    header = ("RUN", "EXPERIMENT", "STATUS", "SEED", "SESSIONS", "CREATED")
    rows = [
        (
            r["name"],
            r["spec"],
            r["status"],
            str(r["seed"]),
            str(r["sessions"]),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"])) if r["created"] else "",
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def print_config(params: Mapping[str, Any], as_json: bool) -> None:
    """``--print-config``: the merged parameters, one ``--a:b=value`` per line (or JSON)."""
    from ._params import flatten, format_value

    flat = flatten(dict(params))
    if as_json:
        spaces = {path: f"<search space {_space(v)}>" for path, v in flat.items() if type(v).__name__ == "Apply"}
        click.echo(json.dumps({**flat, **spaces}, indent=2, default=repr))
        return
    for path, value in flat.items():
        click.echo(f"--{path}={_config_value(value, format_value)}")


def _space(node: Any) -> str:
    """``hp.uniform("x", -2, 2)`` as ``uniform(x, -2, 2)``: a hyperopt expression, compactly."""
    name = getattr(node, "name", None)
    if name is None:
        return repr(node)
    if name == "literal":
        return (
            _value(node.obj)
            if isinstance(node.obj, float)
            else repr(node.obj)
            if isinstance(node.obj, str)
            else str(node.obj)
        )
    args = list(getattr(node, "pos_args", []))
    if name in ("float", "int") and len(args) == 1:
        return _space(args[0])
    if name == "hyperopt_param" and len(args) == 2:
        inner = args[1]
        rest = [_space(a) for a in getattr(inner, "pos_args", [])]
        if inner.name in _LOG_BOUNDS:
            # hyperopt keeps log(low), log(high): show the bounds the user wrote.
            rest[:2] = [_bound(a) for a in inner.pos_args[:2]]
        rest += [f"{k}={_space(v)}" for k, v in getattr(inner, "named_args", [])]
        return f"{inner.name}({', '.join([_space(args[0]), *rest])})"
    parts = [_space(a) for a in args] + [f"{k}={_space(v)}" for k, v in getattr(node, "named_args", [])]
    return f"{name}({', '.join(parts)})"


# Spaces whose first two arguments are the logs of their bounds.
_LOG_BOUNDS = ("loguniform", "qloguniform")


def _bound(node: Any) -> str:
    """``exp`` of a literal log-bound, as the number the user wrote (``1e-05``)."""
    obj = getattr(node, "obj", None)
    if getattr(node, "name", None) == "literal" and isinstance(obj, (int, float)) and not isinstance(obj, bool):
        try:
            return format_number(math.exp(obj))
        except OverflowError:
            pass
    return f"exp({_space(node)})"


def _config_value(value: Any, fmt: Any) -> str:
    if type(value).__name__ == "Apply":  # a hyperopt space, on one line
        return f"<search space {_space(value)}>"
    try:
        return str(fmt(value))
    except Exception:  # anything else that does not read back is shown as Python sees it
        return repr(value)


def list_experiments() -> None:
    """The registered experiments, one line each."""
    from ._errors import DslError
    from ._spec import describe, load_spec, registered

    names = registered()
    if not names:
        click.echo("No experiments registered; run one with: run_exp package.module:spec")
        return
    click.echo("Experiments (run one with: run_exp NAME --param=value ...):")
    width = max(len(n) for n in names)
    for name, target in names.items():
        try:
            text = describe(load_spec(name)) or target
        except DslError as err:  # one broken experiment does not hide the others
            text = f"{target} (does not load: {err})"
        click.echo(f"  {name:{width}s}  {text}")


def stop_run(name: str) -> None:
    """``--stop=exp:NAME``; a complete run is left as it is."""
    from ._experiment import full_name, read_run
    from ._run import stop_experiment

    if read_run(name, option="--stop")["status"] == "complete":
        click.echo(f"{full_name(name)} is complete: nothing to stop")
        return
    stopped = stop_experiment(name)
    click.echo(f"stopped {full_name(name)} and {len(stopped)} sub-sessions")
    click.echo(f"resume it with: run_exp --resume={full_name(name)}")


def delete_run(name: str, yes: bool) -> None:
    """``--delete=exp:NAME``: asks first unless ``yes``."""
    from ._experiment import full_name, read_run
    from ._run import current_status, delete_experiment

    stored = read_run(name, option="--delete")
    full = full_name(name)
    if not yes:
        count = len(stored.get("sessions") or {})
        question = (
            f"delete {full} ({stored.get('spec')}, {current_status(stored)}) and its {count} sub-sessions? "
            "Their trials, results and plots are lost"
        )
        try:
            agreed = click.confirm(question, err=True)
        except click.Abort:  # no answer (no terminal, end of input)
            agreed = False
        if not agreed:
            raise click.ClickException(f"nothing deleted: answer y, or give --yes (run_exp --delete={full} --yes)")
    deleted = delete_experiment(full)
    click.echo(f"deleted {full} and {len(deleted)} sub-sessions")


def display_ast_of(form: str, prepared: Any) -> None:
    """``--display-ast``: printed, or drawn in the current folder (no run is stored)."""
    from pathlib import Path

    from . import _display, _run

    tree = _run.build_tree(prepared)
    if form == "true":
        click.echo(_display.ast_text(tree))
        return
    if form == "abstract":
        click.echo(_display.ast_abstract(tree))
        return
    # Drawn in the current folder: drawing an experiment stores no run.
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in prepared.spec.ref) + "_ast"
    result = _display.render_graph(tree, Path.cwd(), stem=stem)
    if result.svg is not None:
        click.echo(str(result.svg))
        click.echo(f"DOT source: {result.dot}", err=True)
    else:
        click.echo(str(result.dot))
        click.echo(result.message, err=True)
