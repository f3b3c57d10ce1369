"""The ``ssearch`` command: start, watch and manage search sessions.

A thin click layer over `slurm_search.session`: each command parses its
arguments, calls the library and prints. Every error a user can cause
(`SessionError`, the store's `StateError`, a malformed argument) ends as one
line on stderr and a non-zero exit, without a traceback.

hyperopt (and so scipy) is imported only by the commands that need it, so
``ssearch list`` answers fast.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from typing import Any

import click

from . import _cli_args, _summary
from ._errors import SessionError
from ._launch_errors import LaunchError

logger = logging.getLogger(__name__)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
ASSIGNMENTS = dict(CONTEXT, ignore_unknown_options=True, allow_extra_args=True)


def _api():
    from slurm_search import session

    return session


def _expected_errors() -> tuple[type[BaseException], ...]:
    from slurm_search import locking, state

    return (SessionError, state.StateError, locking.LockError)


class _Group(click.Group):
    """Turns the library's errors into one line and exit status 1."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        # Commands are spelled with underscores (work_on); dashes work too.
        return super().get_command(ctx, cmd_name) or super().get_command(ctx, cmd_name.replace("-", "_"))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except _NO_ARGS_IS_HELP:
            raise  # `ssearch` alone prints its help
        except click.UsageError as err:
            raise _one_line(err, ctx) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _expected_errors() as err:
            raise click.ClickException(str(err)) from None
        except click.UsageError as err:
            raise _one_line(err, ctx) from None
        except OSError as err:  # a full or read-only store: one line, not a traceback
            from slurm_search.state import store_os_error

            wrapped = store_os_error(err)
            if wrapped is None:
                raise
            raise click.ClickException(str(wrapped)) from None


# click >= 8.2 shows the help through this UsageError when no argument is given.
_NO_ARGS_IS_HELP: tuple[type[BaseException], ...] = tuple(
    getattr(click.exceptions, name) for name in ("NoArgsIsHelpError",) if hasattr(click.exceptions, name)
)


def _one_line(err: click.UsageError, ctx: click.Context) -> click.ClickException:
    """A bad option value or a missing argument (--workers=0, --method=gpu) as
    one line, like every other mistake, rather than click's usage lines."""
    where = err.ctx.command_path if err.ctx is not None else ctx.command_path
    message = err.format_message().rstrip(".")
    return _cli_args.BadArgument(f"{message} (see `{where} --help`)")


def _name(text: str) -> str:
    from ._names import session_name

    return session_name(text)


def _existing(text: str) -> str:
    """The full name of an existing session (UnknownSession with close names otherwise)."""
    name = _name(text)
    _api().progress(name)
    return name


@click.group(cls=_Group, context_settings=CONTEXT)
@click.option("-v", "--verbose", count=True, help="Log more (-v: info, -vv: debug).")
def cli(verbose: int) -> None:
    """Start, watch and manage hyperparameter search sessions.

    A SESSION is named TYPE:NAME (search:lumpy_roomy_vague_army) or just NAME
    for a session of type search. Sessions live under $SLURM_SEARCH_HOME
    (default ~/hyperparameters).
    """
    from ._config import LOG_FORMAT

    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format=LOG_FORMAT)


# -- listing and showing ----------------------------------------------------


def _row(summary: Any) -> dict[str, Any]:
    row = _plain(summary)
    created = row.get("created")
    row["created"] = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else None
    return row


@cli.command("list", context_settings=CONTEXT)
@click.option("--all", "all_", is_flag=True, help="Also list the sessions that are done.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_(all_: bool, as_json: bool) -> None:
    """List the active sessions (running, stopped, failed; --all: every one)."""
    rows = [_row(summary) for summary in _api().list_sessions(all=all_)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no sessions" if all_ else "no active sessions (see --all)", err=True)
        return
    header = ["NAME", "STATUS", "ALGO", "DONE", "FAILED", "RUNNING", "MAX", "CREATED"]
    keys = ["name", "status", "algo", "completed", "failed", "running", "max_evals", "created"]
    click.echo(_summary.table(header, [[row[key] for key in keys] for row in rows]))
    for row in rows:
        if row.get("error"):
            click.echo(f"{row['name']}: {row['error']}", err=True)


def summary(name: str) -> dict[str, Any]:
    """Everything ``ssearch show`` prints about a session, as plain data."""
    api = _api()
    progress = api.progress(name)
    results = api.results(name)
    losses = [r.loss for r in results if r.loss is not None and math.isfinite(r.loss)]
    info: dict[str, Any] = {"name": name}
    settings = _plain(api.info(name))
    info.update({key: value for key, value in settings.items() if key != "created"})
    info["created"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(settings["created"]))
    info.update(_plain(progress))
    info["loss"] = _summary.loss_stats(losses)
    for key, pick in (("best", api.best), ("worst", api.worst)):
        found = pick(name) if results else None
        info[key] = None if found is None else {"tid": found.tid, "loss": found.loss, "params": found.params}
    info["annotations"] = dict(api.annotations(name))
    info["nodes"] = _summary.by_node(_owners_and_statuses(name))
    return info


def _owners_and_statuses(name: str) -> list[tuple[str | None, str]]:
    from ._view import view

    st = view(name).refresh()
    return [(trial.owner, trial.status) for trial in st.trials.values()]


def _plain(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "_asdict"):
        return dict(obj._asdict())
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    return dict(vars(obj))


@cli.command(context_settings=CONTEXT)
@click.argument("session")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(session: str, key: str | None, as_json: bool) -> None:
    """Summarise SESSION: progress, loss distribution, best and worst settings.

    KEY prints one part only (e.g. best, worst, loss, annotations).
    """
    name = _existing(session)
    info = summary(name)
    if key is not None:
        if key not in info:
            raise _cli_args.BadArgument(f"no {key!r} in the summary of {name}; keys: {', '.join(info)}")
        value = info[key]
        click.echo(json.dumps(value, indent=2, default=repr) if as_json or not isinstance(value, str) else value)
        return
    if as_json:
        click.echo(json.dumps(info, indent=2, default=repr))
        return
    skip = {"name", "loss", "best", "worst", "annotations", "last_traceback", "nodes"}
    click.echo(name)
    for field, value in info.items():
        if field not in skip:
            click.echo(f"  {field}: {value}")
    stats = info["loss"]
    if stats:
        click.echo("loss: " + "  ".join(f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}" for k, v in stats.items()))
        results = _api().results(name)
        for line in _summary.histogram([r.loss for r in results if r.loss is not None and math.isfinite(r.loss)]):
            click.echo("  " + line)
    else:
        click.echo("loss: no finished trial yet")
    for which in ("best", "worst"):
        entry = info[which]
        if entry:
            click.echo(f"{which}: trial {entry['tid']}, loss {entry['loss']:.6g}")
            for param, value in sorted(_flatten(entry["params"]).items()):
                click.echo(f"  {param} = {value!r}")
    if info["nodes"]:
        click.echo("by node:")
        keys = ["node", "workers", "ok", "failed", "running"]
        table = _summary.table([k.upper() for k in keys], [[row[k] for k in keys] for row in info["nodes"]])
        click.echo("\n".join("  " + line for line in table.splitlines()))
    if info.get("last_traceback"):
        click.echo("last failure:\n" + info["last_traceback"].rstrip())
    if info["annotations"]:
        click.echo("annotations: " + json.dumps(info["annotations"], default=repr))


def _flatten(params: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(params, dict):
        return {prefix or "value": params}
    flat: dict[str, Any] = {}
    for key, value in params.items():
        path = f"{prefix}:{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


@cli.command(context_settings=CONTEXT)
@click.argument("session")
def inspect(session: str) -> None:
    """Open a Python console with SESSION loaded (name, progress, results, trials...)."""
    import code

    api = _api()
    name = _existing(session)
    from hyperopt import trials_from_docs

    scope = {
        "session": api,
        "name": name,
        "progress": api.progress(name),
        "results": api.results(name),
        "trials": trials_from_docs(api.trial_docs(name)),
        "annotations": api.annotations(name),
    }
    banner = (
        f"{name}: {_summary_line(scope['progress'])}\n"
        "In scope: session (the module), name, progress, results, trials (hyperopt.Trials), annotations."
    )
    code.interact(banner=banner, local=scope, exitmsg="")


def _summary_line(progress: Any) -> str:
    return f"{progress.completed}/{progress.max_evals} done, {progress.failed} failed ({progress.status})"


@cli.command("progress", context_settings=CONTEXT)
@click.argument("session")
def progress_(session: str) -> None:
    """Print one line of SESSION's progress."""
    name = _existing(session)
    click.echo(f"{name}: {_summary_line(_api().progress(name))}")


# -- starting and running ----------------------------------------------------


def _launch_options(func):
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


def _split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the session type's parameters, create_session's own settings)."""
    import inspect as _inspect

    own = set(_inspect.signature(_api().create_session).parameters) - {"objective", "space", "context"}
    return (
        {k: v for k, v in settings.items() if k not in own},
        {k: v for k, v in settings.items() if k in own},
    )


def _run(name: str, method: str | None, workers: int | None, slurm: dict[str, Any], wait: bool | None) -> None:
    from ._config import resolve_method
    from ._launch import launch

    method = resolve_method(method)
    if wait is None:
        wait = method != "slurm"
    launched = launch(name, method=method, workers=workers, slurm=slurm or None, wait=False)
    if launched.job_id:
        click.echo(f"{name}: submitted Slurm job {launched.job_id} ({launched.workers} tasks)", err=True)
    if wait and method != "inline":
        launched.wait()
    if launched.progress is not None:
        click.echo(f"{name}: {_summary_line(launched.progress)}", err=True)
        if launched.progress.status == "failed":
            raise click.ClickException(
                f"session {name} failed: see `ssearch show {name}` for the last traceback, "
                f"fix the objective, then `ssearch restart {name}`"
            )


@cli.command(context_settings=ASSIGNMENTS)
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
    from ._config import resolve_method, worker_start
    from ._registry import session_arguments
    from ._slurm_script import normalise_options

    settings, slurm = _cli_args.parse_assignments(assignments)
    method_name = resolve_method(method)  # before creating anything
    if method_name == "cpu":
        worker_start(None)
    if method_name == "slurm":
        normalise_options(slurm)
        from ._slurm import available

        if not available():
            from ._launch_errors import SlurmNotFound

            raise SlurmNotFound("sbatch")
    elif slurm:
        raise _cli_args.BadArgument(f"--slurm: options need --method=slurm (the method is {method_name})")
    params, own = _split_settings(settings)
    args = session_arguments(session_type, params)
    args.update(own)
    name = _api().create_session(**args)
    click.echo(name)
    try:
        _run(name, method_name, workers, slurm, wait)
    except LaunchError as err:
        # The session is kept: say how to run it once the problem is fixed.
        raise click.ClickException(f"{err} (session {name} is kept: `ssearch restart {name}` launches it)") from None


@cli.command(context_settings=ASSIGNMENTS)
@click.argument("session")
@click.argument("slurm_options", nargs=-1, type=click.UNPROCESSED, metavar="[--slurm:OPTION=VALUE]...")
@_launch_options
@click.option("--no-launch", is_flag=True, help="Only reset the session; launch no worker.")
def restart(session: str, slurm_options, method, workers, wait, no_launch: bool) -> None:
    """Restart SESSION (re-enable it, retry its failed trials) and launch workers again.

    Without options, the workers of the last launch are started again.
    """
    name = _existing(session)
    settings, slurm = _cli_args.parse_assignments(slurm_options)
    if settings:
        raise _cli_args.BadArgument(f"restart takes no settings ({', '.join(settings)}): only --slurm: options")
    if slurm:
        from ._slurm_script import normalise_options

        normalise_options(slurm)  # before the restart is written
    api = _api()
    last = api.annotations(name).get("launch") or {}
    api.restart(name)
    click.echo(f"{name}: restarted", err=True)
    if no_launch:
        return
    method = method or last.get("method")
    workers = workers or last.get("workers")
    if method == last.get("method") and method == "slurm":
        slurm = {**(last.get("slurm") or {}), **slurm}
    _run(name, method, workers, slurm, wait)


@cli.command(context_settings=CONTEXT)
@click.argument("sessions", nargs=-1, required=True)
def stop(sessions: tuple[str, ...]) -> None:
    """Stop SESSIONS: workers claim no more trials; their Slurm jobs are cancelled."""
    for text in sessions:
        _stop(_existing(text))


def _stop(name: str) -> None:
    from . import _slurm

    from ._launch_errors import SlurmNotFound

    _api().stop(name)
    jobs = _api().annotations(name).get("slurm_jobs") or []
    try:
        cancelled = _slurm.cancel(name) if jobs else []
    except SlurmNotFound as err:
        # The session is stopped: its tasks claim nothing more and end.
        click.echo(f"{name}: stopped, but its Slurm jobs {', '.join(jobs)} were not cancelled: {err}", err=True)
        return
    more = f"; cancelled Slurm job {', '.join(cancelled)}" if cancelled else ""
    click.echo(f"{name}: stopped{more}", err=True)


@cli.command(context_settings=CONTEXT)
def stopall() -> None:
    """Stop every active session."""
    names = [found.name for found in _api().list_sessions(all=False) if found.status == "running"]
    for name in names:
        _stop(name)
    if not names:
        click.echo("no active sessions", err=True)


@cli.command(context_settings=CONTEXT)
@click.argument("session")
def enable(session: str) -> None:
    """Let workers claim trials of a stopped SESSION again."""
    name = _existing(session)
    _api().enable(name)
    click.echo(f"{name}: enabled", err=True)


@cli.command("del_trial", context_settings=CONTEXT)
@click.argument("session")
@click.argument("index", type=int)
def del_trial(session: str, index: int) -> None:
    """Delete trial INDEX (its tid) of SESSION; it is never reused."""
    name = _existing(session)
    _api().delete_trial(name, index)
    click.echo(f"{name}: trial {index} deleted", err=True)


@cli.command(context_settings=CONTEXT)
@click.argument("session")
@click.argument("worker", required=False)
def logs(session: str, worker: str | None) -> None:
    """List SESSION's worker logs, or print WORKER's output and errors."""
    from ._config import logs_dir

    name = _existing(session)
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
        raise click.ClickException(f"no logs of worker {worker!r} for {name}; workers: {', '.join(close) or 'none'}")
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


@cli.command("work_on", context_settings=CONTEXT)
@click.argument("session")
@click.argument("timeout", type=float, required=False)
@click.option("--worker-id", default=None, help="The worker's name in the session (default: host and pid).")
def work_on(session: str, timeout: float | None, worker_id: str | None) -> None:
    """Work on SESSION in this process until it is done (or TIMEOUT seconds passed)."""
    name = _existing(session)
    deadline = time.time() + timeout if timeout is not None else None
    _api().work_on(name, deadline=deadline, worker_id=worker_id)


@cli.command("generational_work_on", context_settings=CONTEXT)
@click.argument("session")
@click.option("--generation", type=int, default=0, show_default=True, help="This array's generation.")
def generational_work_on(session: str, generation: int) -> None:
    """Work on SESSION as a Slurm array task; hand over to a new array at the time limit."""
    from . import _slurm

    _slurm.generational_work_on(_existing(session), generation)


@cli.command(context_settings=CONTEXT)
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
    from slurm_search.state.__main__ import main as state_main

    argv = ["doctor", *(["--slurm"] if slurm else []), *(f"--slurm-arg={a}" for a in slurm_arg)]
    if set_lock_mode:
        argv.append(f"--set-lock-mode={set_lock_mode}")
    raise SystemExit(state_main(argv))


from ._dashboard_cli import dashboard as _dashboard_command  # noqa: E402 - after the group they join
from ._trials_cli import trials as _trials_command  # noqa: E402

cli.add_command(_trials_command)
cli.add_command(_dashboard_command)


def main(argv: list[str] | None = None) -> None:
    """The ``ssearch`` console script."""
    cli.main(args=argv, prog_name="ssearch")


if __name__ == "__main__":
    main()
