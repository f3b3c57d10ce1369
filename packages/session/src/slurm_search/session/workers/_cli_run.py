"""``ssearch`` commands that act: start, restart, stop, rm, enable, del_trial, enqueue, salvage, work_on, doctor."""

from __future__ import annotations

import inspect
import math
import os
import time
from typing import Any

import click

from slurm_search import session as core
from slurm_search import state
from slurm_search.state.settings import in_slurm_job

from . import _slurm
from ._cli_args import BadArgument, CommandError, parse_assignments
from ._cli_common import ASSIGNMENTS, CONTEXT, best_line, existing, summary_line
from ._config import MAX_WORKERS
from ._errors import LaunchError, SlurmNotFound
from ._executor import Executor
from ._executors import methods
from ._launch import Plan, cancel, plan
from ._registry import describe_types, is_objective_ref, objective_arguments, session_arguments


def _launch_options(func: Any) -> Any:
    func = click.option(
        "--method",
        type=click.Choice(["auto", *methods()]),
        default=None,
        help="Where workers run: inline (this process), cpu (local processes), slurm (a job array), "
        "or a registered executor. Default: slurm if sbatch is found, else cpu.",
    )(func)
    func = click.option(
        "--workers", type=click.IntRange(min=1, max=MAX_WORKERS), default=None,
        help=f"How many workers (at most {MAX_WORKERS}; local workers: at most one per trial left).",
    )(func)
    func = click.option(
        "--wait/--no-wait",
        default=None,
        help="Wait until the session is finished (default: wait, except on Slurm).",
    )(func)
    return func


def _split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the session type's parameters, create_session's own settings)."""
    own = set(inspect.signature(core.create_session).parameters) - {"objective", "space", "context"}
    return (
        {k: v for k, v in settings.items() if k not in own},
        {k: v for k, v in settings.items() if k in own},
    )


def _refuse_no_wait_inline(planned: Plan, wait: bool | None) -> None:
    if wait is False and planned.executor.in_process:
        raise BadArgument(
            f"--no-wait does nothing with --method={planned.method} (it runs in this process): leave it out"
        )


def _run(name: str, planned: Plan, wait: bool | None) -> None:
    chosen = planned.executor
    if wait is None:
        wait = chosen.waits_by_default
    launched = planned.launch(name, wait=False)
    if launched.workers < planned.workers:
        click.echo(
            f"{name}: starting {launched.workers} workers, not {planned.workers}: "
            f"the session has {launched.workers} trials left",
            err=True,
        )
    started = launched.summary()
    if started:
        click.echo(f"{name}: {started}", err=True)
    if wait and not chosen.in_process:
        launched.wait()
    if launched.progress is not None:
        click.echo(f"{name}: {summary_line(launched.progress)}", err=True)
        best = best_line(name)
        if best:
            click.echo(f"{name}: {best}", err=True)
        if launched.progress.status == "failed":
            raise CommandError(
                f"session {name} failed: see `ssearch show {name}` for the last traceback, "
                f"fix the objective, then `ssearch restart {name}`"
            )


class _StartCommand(click.Command):
    """``ssearch start --help`` lists the registered session types and their parameters."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [*describe_types(), ("MODULE:FUNCTION", _OWN_OBJECTIVE)]
        with formatter.section("Session types"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


_OWN_OBJECTIVE = (
    "your own objective fn(params, context), imported from the current folder (mymod.py: "
    "ssearch start mymod:objective). The space: space=MODULE:NAME, else the attribute `space` "
    "beside the objective (a hyperopt space or a function returning one). Other KEY=VALUE go "
    "to the context dict; 50 trials unless max_evals=N."
)


@click.command(cls=_StartCommand, context_settings=ASSIGNMENTS)
@click.argument("session_type", metavar="TYPE")
@click.argument("assignments", nargs=-1, type=click.UNPROCESSED, metavar="[KEY=VALUE]... [--slurm:OPTION=VALUE]...")
@_launch_options
def start(session_type: str, assignments: tuple[str, ...], method: str | None, workers: int | None, wait: bool | None):
    """Create a session of TYPE and run workers on it.

    TYPE is a registered session type (below) or your own MODULE:FUNCTION.
    KEY=VALUE sets the type's parameters (demo: sleep=0.5) and the search's
    own settings (algo=tpe max_evals=200 seed=1 name=NAME lease_seconds=30);
    A:B=VALUE sets a nested parameter. --slurm:OPTION=VALUE sets a Slurm
    option (partition, time, gres, mem, cpus_per_task, exclude, account, qos,
    constraint, extra, generations, margin...).

    Prints the session's name on stdout, and its best trial at the end.
    """
    settings, slurm = parse_assignments(assignments)
    planned = plan(method, workers, slurm or None)  # checked before anything is created
    if slurm and planned.method != "slurm":
        raise BadArgument(f"--slurm: options need --method=slurm (the method is {planned.method})")
    _refuse_no_wait_inline(planned, wait)
    params, own = _split_settings(settings)
    if is_objective_ref(session_type):
        args = objective_arguments(session_type, params, os.getcwd())
    else:
        args = session_arguments(session_type, params)
    args.update(own)
    name = core.create_session(**args)
    click.echo(name)
    try:
        _run(name, planned, wait)
    except LaunchError as err:
        # The session is kept: say how to run it once the problem is fixed.
        raise CommandError(f"{err} (session {name} is kept: `ssearch restart {name}` launches it)") from None
    except KeyboardInterrupt:
        _interrupted(name, planned.executor)


def _interrupted(name: str, chosen: Executor) -> None:
    """Ctrl-C: workers that are not detached are gone with us, so the session
    is stopped at once (listed as stopped, not running until a lease runs
    out), and the way back is printed instead of click's bare "Aborted!"."""
    if chosen.detached:
        click.echo(
            f"{name}: interrupted; its {chosen.workers_noun} go on (`ssearch stop {name}` stops them, "
            f"`ssearch progress {name}` follows them)",
            err=True,
        )
        raise SystemExit(130)
    try:
        chosen.interrupted(name)
    except core.SessionError as err:  # the way back is still worth printing
        click.echo(f"{name}: could not be marked stopped: {err}", err=True)
    click.echo(f"{name}: interrupted and stopped; continue it with: ssearch restart {name}", err=True)
    raise SystemExit(130)


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
    if no_launch:
        given = [option for option, value in (("--method", method), ("--workers", workers), ("--wait/--no-wait", wait),
                                              ("--slurm:", slurm or None)) if value is not None]
        if given:
            raise BadArgument(f"{given[0]} does nothing with --no-launch (no worker is started): leave it out")
    last = core.annotations(name).get("launch") or {}
    if not no_launch and not method and not last:
        raise CommandError(
            f"{name} was never launched, so there is nothing to restart: launch it with "
            f"`ssearch restart {name} --method=cpu` (or --method=slurm, --method=inline)"
        )
    method = method or last.get("method")
    if method == last.get("method") == "slurm":
        slurm = {**(last.get("slurm") or {}), **slurm}
    planned = None if no_launch else plan(method, workers or last.get("workers"), slurm or None)
    if planned is not None and slurm and planned.method != "slurm":
        raise BadArgument(f"--slurm: options need --method=slurm (the method is {planned.method})")
    if planned is not None:
        _refuse_no_wait_inline(planned, wait)
    core.restart(name)
    click.echo(f"{name}: restarted", err=True)
    if planned is not None:
        try:
            _run(name, planned, wait)
        except KeyboardInterrupt:
            _interrupted(name, planned.executor)


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
@click.argument("sessions", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
def rm(sessions: tuple[str, ...], yes: bool) -> None:
    """Delete SESSIONS: their workers and Slurm jobs are stopped first, then every trial and log.

    Asks first unless --yes. An experiment's sub-session is deleted with its
    experiment (run_exp --delete=exp:NAME), not alone.
    """
    names = list(dict.fromkeys(existing(text) for text in sessions))  # every name checked first
    owned = {found.session: found.owner for found in core.labelled().values()}
    for name in names:
        if name in owned:
            raise CommandError(
                f"{name} belongs to {owned[name]}: delete the experiment with `run_exp --delete={owned[name]}`"
            )
    if not yes:
        shown = ", ".join(f"{name} ({summary_line(core.progress(name))})" for name in names)
        try:
            agreed = click.confirm(f"delete {shown}? Its trials and logs are lost", err=True)
        except click.Abort:  # no answer (no terminal, end of input)
            agreed = False
        if not agreed:
            raise CommandError("nothing deleted: answer y, or give --yes")
    for name in names:
        try:
            cancel(name)
        except SlurmNotFound as err:
            raise CommandError(f"{name} is stopped but not deleted: its Slurm jobs were not cancelled: {err}") from None
        core.delete_session(name)
        click.echo(f"{name}: deleted", err=True)


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


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


@click.command(context_settings=CONTEXT)
@click.argument("session")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for the lock.")
def salvage(session: str, timeout: float) -> None:
    """Rewrite SESSION's damaged log with every record that can still be read.

    What the log lost before its checkpoint's position (a cut log, a damaged
    byte) is recovered from the checkpoint. The damaged log is kept beside
    the new one; a log without damage is left as it is.
    """
    report = core.salvage_session(core.session_name(session), timeout=timeout)
    plan = report.plan
    records = plan.records_before + plan.records_after
    if not report.damaged:
        what = f"{_count(records, 'record')}, {report.size} bytes"
        click.echo(f"the log of {report.name} has no damage ({what}); nothing changed")
        return
    click.echo(f"salvaged the log of {report.name} ({report.path}):")
    if report.checkpoint is not None:
        click.echo(f"  it did not match its checkpoint: {report.checkpoint}")
    if report.from_checkpoint is not None:
        click.echo(f"  recovered from the checkpoint: the session as of byte {report.from_checkpoint}")
        click.echo(f"  kept after it: {_count(records, 'record')}")
    else:
        click.echo(f"  kept: {_count(records, 'record')}")
    for gap in plan.skipped:
        click.echo(f"  lost bytes {gap.start}-{gap.end}: {gap.reason}")
    click.echo(f"  the damaged file ({report.size} bytes) is kept as {report.aside}")
    if report.checkpoint_aside is not None:
        click.echo(f"  the checkpoint, which no longer stands for the log, is kept as {report.checkpoint_aside}")


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
    if timeout is not None and not 0 <= timeout < math.inf:
        raise BadArgument(
            f"TIMEOUT={timeout:g} is not valid: give a finite number of seconds >= 0, or leave it out for no limit"
        )
    name = existing(session)
    deadline = time.time() + timeout if timeout is not None else None
    # As `python -m` would: the objective's module may be in the current folder.
    core.use_folder(os.getcwd(), core.info(name).objective.partition(":")[0])
    # A worker process of its own: SIGTERM (scancel, a preemption) and
    # SIGUSR1/2 hand its trial back at once instead of after a lease.
    report = core.work_on(
        name, deadline=deadline, worker_id=worker_id, leave_signals=True, leave_grace=core.leave_grace()
    )
    click.echo(f"{name}: {_work_line(report)}; session {summary_line(core.progress(name))}", err=True)
    best = best_line(name)
    if best:
        click.echo(f"{name}: {best}", err=True)


def _work_line(report: Any) -> str:
    """What this worker did: ``this worker: 3 ok, 1 failed (done)``."""
    counts = {"ok": report.completed, "failed": report.failed, "pruned": report.pruned, "lost": report.lost}
    parts = [f"{count} {what}" for what, count in counts.items() if count]
    return f"this worker: {', '.join(parts) or 'no trial'} ({report.reason})"


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
    if slurm_arg and not slurm and not in_slurm_job():  # in a job, --slurm is implied
        raise BadArgument("--slurm-arg does nothing without --slurm (the live test between two nodes): add --slurm")
    argv = ["doctor", *(["--slurm"] if slurm else []), *(f"--slurm-arg={a}" for a in slurm_arg)]
    if set_lock_mode:
        argv.append(f"--set-lock-mode={set_lock_mode}")
    raise SystemExit(state.command(argv))


COMMANDS = [
    start, restart, stop, rm, stopall, enable, del_trial, enqueue, salvage, work_on, generational_work_on, doctor,
]
