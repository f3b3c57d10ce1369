"""``ssearch`` commands that act: start, restart, stop, enable, del_trial, work_on, doctor."""

from __future__ import annotations

import inspect
import time
from typing import Any

import click

from slurm_search import session as core
from slurm_search import state

from . import _slurm
from ._cli_args import BadArgument, CommandError, parse_assignments
from ._cli_common import ASSIGNMENTS, CONTEXT, existing, summary_line
from ._errors import LaunchError, SlurmNotFound
from ._launch import Plan, cancel, plan
from ._registry import session_arguments
from ._slurm_script import check_slurm_options


def _launch_options(func: Any) -> Any:
    func = click.option(
        "--method",
        type=click.Choice(["auto", "inline", "cpu", "slurm"]),
        default=None,
        help="Where workers run: inline (this process), cpu (local processes), slurm (a job array). "
        "Default: slurm if sbatch is found, else cpu.",
    )(func)
    func = click.option("--workers", type=click.IntRange(min=1), default=None, help="How many workers.")(func)
    func = click.option(
        "--wait/--no-wait",
        default=None,
        help="Wait until the session is finished (default: wait, except on Slurm).",
    )(func)
    return func
    return func


def _split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the session type's parameters, create_session's own settings)."""
    own = set(inspect.signature(core.create_session).parameters) - {"objective", "space", "context"}
    return (
        {k: v for k, v in settings.items() if k not in own},
        {k: v for k, v in settings.items() if k in own},
    )


def _run(name: str, planned: Plan, wait: bool | None) -> None:
    if wait is None:
        wait = planned.method != "slurm"
    launched = planned.launch(name, wait=False)
    if launched.job_id:
        click.echo(f"{name}: submitted Slurm job {launched.job_id} ({launched.workers} tasks)", err=True)
    if wait and planned.method != "inline":
        launched.wait()
    if launched.progress is not None:
        click.echo(f"{name}: {summary_line(launched.progress)}", err=True)
        if launched.progress.status == "failed":
            raise CommandError(
                f"session {name} failed: see `ssearch show {name}` for the last traceback, "
                f"fix the objective, then `ssearch restart {name}`"
            )


@click.command(context_settings=ASSIGNMENTS)
@click.argument("session_type", metavar="TYPE")
@click.argument("assignments", nargs=-1, type=click.UNPROCESSED, metavar="[KEY=VALUE]... [--slurm:OPTION=VALUE]...")
@_launch_options
def start(session_type: str, assignments: tuple[str, ...], method: str | None, workers: int | None, wait: bool | None):
    """Create a session of TYPE and run workers on it.

    KEY=VALUE sets the type's parameters (demo: sleep=0.5) and the search's
    own settings (algo=tpe max_evals=200 seed=1 name=NAME lease_seconds=30);
    A:B=VALUE sets a nested parameter. --slurm:OPTION=VALUE sets a Slurm
    option (partition, time, gres, mem, cpus_per_task, exclude, account, qos,
    constraint, extra, generations, margin...).

    Prints the session's name on stdout.
    """
    settings, slurm = parse_assignments(assignments)
    planned = plan(method, workers, slurm or None)  # checked before anything is created
    if slurm and planned.method != "slurm":
        raise BadArgument(f"--slurm: options need --method=slurm (the method is {planned.method})")
    params, own = _split_settings(settings)
    args = session_arguments(session_type, params)
    args.update(own)
    name = core.create_session(**args)
    click.echo(name)
    try:
        _run(name, planned, wait)
    except LaunchError as err:
        # The session is kept: say how to run it once the problem is fixed.
        raise CommandError(f"{err} (session {name} is kept: `ssearch restart {name}` launches it)") from None


@click.command(context_settings=ASSIGNMENTS)
@click.argument("session")
@click.argument("slurm_options", nargs=-1, type=click.UNPROCESSED, metavar="[--slurm:OPTION=VALUE]...")
@_launch_options
@click.option("--no-launch", is_flag=True, help="Only reset the session; launch no worker.")
def restart(
    session: str,
    slurm_options: tuple[str, ...],
    method: str | None,
    workers: int | None,
    wait: bool | None,
    no_launch: bool,
) -> None:
    """Restart SESSION (re-enable it, retry its failed trials) and launch workers again.

    Without options, the workers of the last launch are started again.
    """
    name = existing(session)
    settings, slurm = parse_assignments(slurm_options)
    if settings:
        raise BadArgument(f"restart takes no settings ({', '.join(settings)}): only --slurm: options")
    last = core.annotations(name).get("launch") or {}
    method = method or last.get("method")
    if method == last.get("method") == "slurm":
        slurm = {**(last.get("slurm") or {}), **slurm}
    planned = None if no_launch else plan(method, workers or last.get("workers"), slurm or None)
    if slurm and no_launch:
        check_slurm_options(slurm)
    core.restart(name)
    click.echo(f"{name}: restarted", err=True)
    if planned is not None:
        _run(name, planned, wait)


@click.command(context_settings=CONTEXT)
@click.argument("sessions", nargs=-1, required=True)
def stop(sessions: tuple[str, ...]) -> None:
    """Stop SESSIONS: workers claim no more trials; their Slurm jobs are cancelled."""
    for text in sessions:
        _stop(existing(text))


def _stop(name: str) -> None:
    try:
        cancelled = cancel(name)
    except SlurmNotFound as err:
        jobs = core.annotations(name).get("slurm_jobs") or []
        # The session is stopped: its tasks claim nothing more and end.
        click.echo(f"{name}: stopped, but its Slurm jobs {', '.join(jobs)} were not cancelled: {err}", err=True)
        return
    more = f"; cancelled Slurm job {', '.join(cancelled)}" if cancelled else ""
    click.echo(f"{name}: stopped{more}", err=True)


@click.command(context_settings=CONTEXT)
def stopall() -> None:
    """Stop every active session."""
    names = [found.name for found in core.list_sessions(all=False) if found.status == "running"]
    for name in names:
        _stop(name)
    if not names:
        click.echo("no active sessions", err=True)


@click.command(context_settings=CONTEXT)
@click.argument("session")
def enable(session: str) -> None:
    """Let workers claim trials of a stopped SESSION again."""
    name = existing(session)
    core.enable(name)
    click.echo(f"{name}: enabled", err=True)


@click.command("del_trial", context_settings=CONTEXT)
@click.argument("session")
@click.argument("index", type=int)
def del_trial(session: str, index: int) -> None:
    """Delete trial INDEX (its tid) of SESSION; it is never reused."""
    name = existing(session)
    try:
        core.delete_trial(name, index)
    except core.UnknownTrial:
        raise CommandError(f"{name} has no trial {index}: see its trials with `ssearch trials {name}`") from None
    click.echo(f"{name}: trial {index} deleted", err=True)


@click.command(context_settings=CONTEXT)
@click.argument("session")
@click.argument("assignments", nargs=-1, required=True, metavar="LABEL=VALUE...")
def enqueue(session: str, assignments: tuple[str, ...]) -> None:
    """Evaluate a known setting of SESSION first (a warm start, for every algo).

    Each LABEL is a label of the space (as `ssearch trials` and the
    dashboard show them); a hp.choice takes its option or its index:
    ssearch enqueue NAME lr=0.001 act=relu.
    """
    name = existing(session)
    params = {}
    for token in assignments:
        label, sep, text = token.partition("=")
        if not sep or not label:
            raise BadArgument(f"malformed setting {token!r}: write LABEL=VALUE")
        params[label] = core.parse_value(text)
    queued = core.enqueue(name, params)
    click.echo(f"{name}: setting enqueued ({queued} waiting)", err=True)


@click.command("work_on", context_settings=CONTEXT)
@click.argument("session")
@click.argument("timeout", type=float, required=False)
@click.option("--worker-id", default=None, help="The worker's name in the session (default: host and pid).")
def work_on(session: str, timeout: float | None, worker_id: str | None) -> None:
    """Work on SESSION in this process until it is done (or TIMEOUT seconds passed)."""
    name = existing(session)
    deadline = time.time() + timeout if timeout is not None else None
    # A worker process of its own: SIGTERM (scancel, a preemption) and
    # SIGUSR1/2 hand its trial back at once instead of after a lease.
    core.work_on(name, deadline=deadline, worker_id=worker_id, leave_signals=True, leave_grace=core.leave_grace())


@click.command("generational_work_on", context_settings=CONTEXT)
@click.argument("session")
@click.option("--generation", type=int, default=0, show_default=True, help="This array's generation.")
def generational_work_on(session: str, generation: int) -> None:
    """Work on SESSION as a Slurm array task; hand over to a new array at the time limit."""
    _slurm.generational_work_on(existing(session), generation)


@click.command(context_settings=CONTEXT)
@click.option("--slurm", is_flag=True, help="Also run the live test between two nodes through srun.")
@click.option("--slurm-arg", multiple=True, metavar="ARG", help="An srun option for --slurm (repeatable).")
@click.option(
    "--set-lock-mode",
    type=click.Choice(["auto", "flock", "soft"]),
    default=None,
    help="Record a new lock mode for the store (only with no worker running).",
)
def doctor(slurm: bool, slurm_arg: tuple[str, ...], set_lock_mode: str | None) -> None:
    """Is the store safe here? Filesystem, lock mode, modes, space, and a live test.

    Exit status 0 only when it is; each problem is one line with its fix.
    """
    argv = ["doctor", *(["--slurm"] if slurm else []), *(f"--slurm-arg={a}" for a in slurm_arg)]
    if set_lock_mode:
        argv.append(f"--set-lock-mode={set_lock_mode}")
    raise SystemExit(state.command(argv))


COMMANDS = [start, restart, stop, stopall, enable, del_trial, enqueue, work_on, generational_work_on, doctor]
