"""``ssearch`` commands that look: list, show, progress, inspect, logs.

hyperopt (and so scipy) is imported only by the commands that need it, so
``ssearch list`` answers fast.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import click

from slurm_search import session as core

from . import _summary
from ._cli_args import BadArgument, CommandError
from ._cli_common import CONTEXT, existing, summary_line
from ._config import logs_dir


def _row(summary: Any) -> dict[str, Any]:
    row = _plain(summary)
    row["status"] = _summary.shown_status(row["status"], row.get("running"))
    return row


def _best(name: str) -> tuple[float | None, str | None]:
    """The best value so far in the objective's sign, and the session's goal."""
    try:
        now = core.progress(name)
    except core.SessionError:  # unreadable: the row says so already
        return None, None
    return now.best_value, now.goal


@click.command("list", context_settings=CONTEXT)
@click.option(
    "--all", "all_", is_flag=True, help="Also list the sessions that are done, and every sub-session of an experiment."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_(all_: bool, as_json: bool) -> None:
    """List the active sessions, newest first (running, idle, stopped, failed; --all: every one).

    An experiment's sessions show its label (exp:NAME/path); without --all
    only its outermost active ones are listed. BEST is the best value so far
    as the objective returned it, with the goal: `-1.037 (max)` for a
    maximising search, `0.25 (min)` for a minimising one, `-` for a
    session that optimises nothing (a random sampling) or has no result.
    """
    labels = {name: (found.label, found.owner) for name, found in core.labelled().items()}
    rows, folded = _summary.listing([_row(summary) for summary in core.list_sessions(all=all_)], labels, fold=not all_)
    for row in rows:
        row["best"], row["goal"] = _best(row["name"]) if row["status"] != "corrupt" else (None, None)
        created = row.get("created")
        row["created"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else None
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no sessions" if all_ else "no active sessions (see --all)", err=True)
        return
    header = ["NAME", "EXPERIMENT", "STATUS", "ALGO", "DONE", "FAILED", "PRUNED", "RUNNING", "MAX", "BEST", "CREATED"]
    keys = [
        "name",
        "experiment",
        "status",
        "algo",
        "completed",
        "failed",
        "pruned",
        "running",
        "max_evals",
        "best",
        "created",
    ]
    shown = [[_best_cell(row) if key == "best" else row[key] for key in keys] for row in rows]
    click.echo(_summary.table(header, shown))
    if folded:
        click.echo(f"({folded} sub-sessions of experiments not shown: ssearch list --all)", err=True)
    for row in rows:
        if row.get("error"):
            click.echo(f"{row['name']}: {row['error']}", err=True)


def _best_cell(row: dict[str, Any]) -> str | None:
    if row["status"] == "corrupt":
        return None
    return _summary.best_text(row.get("goal") or "min", row["best"])


def _finite(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def summary(name: str) -> dict[str, Any]:
    """Everything ``ssearch show`` prints about a session, as plain data.

    `loss` is the statistics of the session's losses; `value` those of the
    objective's values in their own sign (the same for the goal `min`,
    minus the losses for `max`, None for `none`); `best` and `worst` carry
    both (None when the session optimises nothing).
    """
    progress = core.progress(name)
    results = core.results(name, load=False)  # a big result is never loaded here
    goal = progress.goal
    losses = _finite([r.loss for r in results])
    info: dict[str, Any] = {"name": name}
    settings = _plain(core.info(name))
    info.update({key: value for key, value in settings.items() if key != "created"})
    info["created"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(settings["created"]))
    info.update(_plain(progress))
    info["status"] = _summary.shown_status(info["status"], info.get("running"))
    info["loss"] = _summary.loss_stats(losses)
    info["value"] = _summary.loss_stats(_finite([core.goal_value(goal, r.loss) for r in results]))
    for key, pick in (("best", core.best), ("worst", core.worst)):
        found = pick(name, load=False) if results and goal != "none" else None
        info[key] = None if found is None else {
            "tid": found.tid, "loss": found.loss, "value": core.goal_value(goal, found.loss), "params": found.params
        }
    info["pruned_trials"] = _pruned_trials(name, goal) if progress.pruned else []
    if info.get("directions"):
        info["pareto_front"] = core.pareto_front(name)
    info["annotations"] = dict(core.annotations(name))
    info["nodes"] = _summary.by_node(core.trial_owners(name))
    info["checkpoints"] = dict(core.checkpoint_stats(name)._asdict())
    if settings.get("algo") == "pbt":
        info["pbt"] = _pbt_summary(name)
    return info


def _pbt_summary(name: str) -> dict[str, Any]:
    """A PBT session's lineage: its exploits and each member's schedule (one line each)."""

    return {
        "exploits": core.pbt_exploits(name),
        "schedules": {row.tid: core.pbt_schedule_text(list(row.schedule)) for row in core.trial_rows(name)},
    }


def _pruned_trials(name: str, goal: str = "min") -> list[dict[str, Any]]:
    """The trials the pruner stopped: tid, the step of their last report, their loss (and value) there."""
    return [
        {
            "tid": doc["tid"],
            "step": doc["result"].get("step"),
            "loss": doc["result"].get("loss"),
            "value": core.goal_value(goal, doc["result"].get("loss")),
        }
        for doc in core.trial_docs(name)
        if doc["result"].get("pruned")
    ]


def _plain(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "_asdict"):
        return dict(obj._asdict())
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return dict(vars(obj))


PRUNED_SHOWN = 10


@click.command(context_settings=CONTEXT)
@click.argument("session")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(session: str, key: str | None, as_json: bool) -> None:
    """Summarise SESSION: progress, loss distribution, best and worst settings.

    KEY prints one part only (e.g. best, worst, loss, annotations).
    """
    name = existing(session)
    info = summary(name)
    if key is not None:
        if key not in info:
            raise BadArgument(f"no {key!r} in the summary of {name}; keys: {', '.join(info)}")
        value = info[key]
        click.echo(json.dumps(value, indent=2, default=repr) if as_json or not isinstance(value, str) else value)
        return
    if as_json:
        click.echo(json.dumps(info, indent=2, default=repr))
        return
    skip = {
        "name", "loss", "value", "best", "worst", "annotations", "last_traceback", "nodes", "pruned_trials",
        "best_loss", "best_value", "checkpoints", "pbt", "pareto_front",
    }
    click.echo(name)
    for field, value in info.items():
        if field not in skip:
            click.echo(f"  {field}: {value}")
    goal = info["goal"]
    # What the objective returned, in its sign: the loss (min), minus the loss (max).
    word = {"min": "loss", "max": "value (max: higher is better)"}.get(goal)
    stats = info["loss"] if goal == "min" else info["value"]
    if word is None:
        click.echo("values: none (the session optimises nothing: its loss is a placeholder)")
    elif stats:
        click.echo(
            f"{word}: " + "  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in stats.items())
        )
        results = core.results(name, load=False)
        for line in _summary.histogram(_finite([core.goal_value(goal, r.loss) for r in results])):
            click.echo("  " + line)
    else:
        click.echo(f"{word}: no finished trial yet")
    word = "loss" if goal == "min" else "value"
    for which in ("best", "worst"):
        entry = info[which]
        if entry:
            click.echo(f"{which}: trial {entry['tid']}, {word} {entry[word]:.6g}")
            for param, value in sorted(core.flatten_params(entry["params"]).items()):
                click.echo(f"  {param} = {value!r}")
    if info.get("directions"):
        front = info["pareto_front"]
        click.echo(f"pareto front ({', '.join(info['directions'])}): {len(front)} trials")
        for entry in front:
            values = ", ".join(f"{v:.6g}" for v in entry["values"])
            params = ", ".join(f"{k}={v!r}" for k, v in sorted(core.flatten_params(entry["params"]).items()))
            click.echo(f"  trial {entry['tid']}: ({values})  {params}")
    if info["pruned_trials"]:
        shown = info["pruned_trials"][:PRUNED_SHOWN]
        click.echo(f"pruned (stopped early, {word} = last report): {len(info['pruned_trials'])} trials")
        for entry in shown:
            loss = "none" if entry[word] is None else f"{entry[word]:.6g}"
            click.echo(f"  trial {entry['tid']}: pruned at step {entry['step']}, {word} {loss}")
        if len(info["pruned_trials"]) > len(shown):
            click.echo(f"  ... (`ssearch show {name} pruned_trials` lists them all)")
    saved = info["checkpoints"]
    if saved["checkpoints"]:
        click.echo(
            f"checkpoints: {saved['checkpoints']} of {saved['trials']} trials, "
            f"{_summary.size_text(saved['bytes'])} (kept until each trial ends)"
        )
    if info.get("pbt"):
        exploits = info["pbt"]["exploits"]
        click.echo(f"pbt: {len(exploits)} exploits; schedules (step: parameters from there on):")
        for tid, text in info["pbt"]["schedules"].items():
            click.echo(f"  member {tid}: {text}")
    if info["nodes"]:
        click.echo("by node:")
        keys = ["node", "workers", "ok", "failed", "running"]
        table = _summary.table([k.upper() for k in keys], [[row[k] for k in keys] for row in info["nodes"]])
        click.echo("\n".join("  " + line for line in table.splitlines()))
    if info.get("last_traceback"):
        click.echo("last failure:\n" + info["last_traceback"].rstrip())
    # An Optuna sampler's own state (optuna:trial:TID, optuna:study) is not for reading.
    shown = {k: v for k, v in info["annotations"].items() if not str(k).startswith("optuna:")}
    if shown:
        click.echo("annotations: " + json.dumps(shown, default=repr))


@click.command(context_settings=CONTEXT)
@click.argument("session")
def inspect(session: str) -> None:
    """Open a Python console with SESSION loaded (name, progress, results, trials...)."""
    import code

    name = existing(session)
    from hyperopt import trials_from_docs

    scope = {
        "session": core,
        "name": name,
        "progress": core.progress(name),
        "results": core.results(name),
        "trials": trials_from_docs(core.trial_docs(name)),
        "annotations": core.annotations(name),
    }
    banner = (
        f"{name}: {summary_line(scope['progress'])}\n"
        "In scope: session (the module), name, progress, results, trials (hyperopt.Trials), annotations."
    )
    code.interact(banner=banner, local=scope, exitmsg="")


@click.command("progress", context_settings=CONTEXT)
@click.argument("session")
def progress_(session: str) -> None:
    """Print one line of SESSION's progress."""
    name = existing(session)
    click.echo(f"{name}: {summary_line(core.progress(name))}")


@click.command(context_settings=CONTEXT)
@click.argument("session")
@click.argument("worker", required=False)
def logs(session: str, worker: str | None) -> None:
    """List SESSION's worker logs, or print WORKER's output and errors."""
    name = existing(session)
    folder = logs_dir(name)
    files = sorted(p for p in folder.iterdir() if p.suffix in (".out", ".err"))
    workers = sorted({p.stem for p in files})
    if worker is None:
        if not workers:
            click.echo(f"{name}: no worker logs in {folder}", err=True)
            return
        rows = []
        for stem in workers:
            sizes = [(folder / f"{stem}{ext}") for ext in (".out", ".err")]
            stamps = [p.stat().st_mtime for p in sizes if p.exists()]
            rows.append(
                [
                    _summary.node_of(_logged_worker(folder / f"{stem}.err")),
                    stem,
                    sum(p.stat().st_size for p in sizes if p.exists()),
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(max(stamps))),
                ]
            )
        rows.sort(key=lambda row: (row[0], row[1]))
        click.echo(_summary.table(["NODE", "WORKER", "BYTES", "MODIFIED"], rows))
        return
    if worker not in workers:
        import difflib

        close = difflib.get_close_matches(worker, workers, n=3, cutoff=0.3) or workers[:5]
        raise CommandError(f"no logs of worker {worker!r} for {name}; workers: {', '.join(close) or 'none'}")
    for ext in (".out", ".err"):
        path = folder / f"{worker}{ext}"
        if path.exists():
            click.echo(f"==> {path} <==")
            click.echo(path.read_text(errors="replace"), nl=False)


_STARTS = re.compile(r"worker (\S+) starts on ")


def _logged_worker(err_file: Any) -> str | None:
    """The worker id a worker's log names in its first lines ("worker ID starts on ..."), if any."""
    try:
        with open(err_file, errors="replace") as f:
            head = f.read(8192)
    except OSError:
        return None
    found = _STARTS.search(head)
    return found.group(1) if found else None


COMMANDS = [list_, show, progress_, inspect, logs]
