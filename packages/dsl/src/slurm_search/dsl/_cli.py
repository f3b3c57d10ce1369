"""``run_exp``: list, run, resume, show, stop and draw experiments.

A thin click module: parsing and printing here, everything else in the
library. Errors a user can cause print one line and exit non-zero. Heavy
imports (hyperopt, the session package) happen only when a command needs
them, so ``run_exp --help`` and the listing answer fast.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

__all__ = ["cli", "main", "parse_overrides"]

logger = logging.getLogger(__name__)

DISPLAY_FORMS = ("true", "abstract", "graph")
CONTEXT = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": ["-h", "--help"]}


class UserError(Exception):
    """A command-line mistake found here, before the library is asked."""


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """``["--a:b=1", "--c", "x"]`` -> ``{"a:b": 1, "c": "x"}`` (values as ``parse_value`` reads them).

    Raises:
        UserError: an argument that is not ``--name=value`` (or ``--name value``).
    """
    from ._params import parse_value

    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or len(arg) < 3:
            raise UserError(f"unexpected argument {arg!r}: parameters are given as --name=value (e.g. --tune:seeds=4)")
        name, eq, value = arg[2:].partition("=")
        if not eq:
            if i + 1 >= len(args) or args[i + 1].startswith("--"):
                raise UserError(f"--{name} needs a value: --{name}=VALUE")
            value = args[i + 1]
            i += 1
        if not name or any(not part for part in name.split(":")):
            raise UserError(f"{arg!r} is not a parameter path: use --a:b=value")
        out[name] = parse_value(value)
        i += 1
    return out


def _bool(option: str, text: str | None) -> bool:
    if text is None:
        return False
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise UserError(f"{option}={text} is not valid: expected true or false")


def _seed(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"--seed={text} is not valid: expected a non-negative integer") from None
    if value < 0:
        raise UserError(f"--seed={text} is not valid: expected a non-negative integer")
    return value


_HANDLERS: list[logging.Handler] = []


def _setup_logging() -> None:
    # Progress lines go to this command's stderr (replaced on every call, so
    # repeated invocations in one process, as under CliRunner, print once).
    progress = logging.getLogger("slurm_search.dsl.progress")
    while _HANDLERS:
        progress.removeHandler(_HANDLERS.pop())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    progress.addHandler(handler)
    _HANDLERS.append(handler)
    progress.setLevel(logging.INFO)
    progress.propagate = False
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _short(value: Any, width: int = 100) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_results(results: Any, indent: str = "  ") -> None:
    if isinstance(results, dict):
        for key, value in results.items():
            if isinstance(value, dict) and not {"point_values", "session_name"} <= set(value):
                click.echo(f"{indent}{key}:")
                _print_results(value, indent + "  ")
            elif isinstance(value, dict):
                shown = {k: value[k] for k in ("mean", "std", "session_name") if k in value}
                click.echo(f"{indent}{key}: sampling results {_short(shown)}")
            else:
                click.echo(f"{indent}{key}: {_short(value)}")
    else:
        click.echo(f"{indent}{_short(results)}")


def _list_experiments() -> None:
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


def _show(name: str) -> None:
    from ._run import show_experiment

    shown = show_experiment(name)
    run = shown["run"]
    click.echo(f"{shown['name']}: {run['spec']}, status {run['status']}, seed {run['seed']}")
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


def _stop(name: str) -> None:
    from ._experiment import full_name, read_run, resume_command
    from ._run import stop_experiment

    stopped = stop_experiment(name)
    click.echo(f"stopped {full_name(name)} and {len(stopped)} sub-sessions")
    click.echo(f"resume it with: {resume_command(read_run(name), name)}")


def _display_ast(form: str, prepared: Any, seed: int | None, resume: str | None) -> None:
    from . import _display, _run
    from ._experiment import read_run, resume_command, run_dir

    tree = _run.build_tree(prepared)
    if form == "true":
        click.echo(_display.ast_text(tree))
        return
    if form == "abstract":
        click.echo(_display.ast_abstract(tree))
        return
    name, _ = _run.open_run(prepared, seed=seed, resume=resume)
    result = _display.render_graph(tree, run_dir(name))
    if result.svg is not None:
        click.echo(str(result.svg))
        click.echo(f"DOT source: {result.dot}", err=True)
    else:
        click.echo(str(result.dot))
        click.echo(result.message, err=True)
    click.echo(f"{name} is stored but not started; run it with: {resume_command(read_run(name), name)}", err=True)


def _run_one(
    experiment: str,
    overrides: dict[str, Any],
    seed: int | None,
    resume: str | None,
    debug: bool,
    allow_new: bool,
    interactive: bool,
) -> None:
    from . import _run
    from ._experiment import read_run, resume_command

    prepared = _run.prepare(experiment, overrides, debug=debug, allow_new_params=allow_new)
    name, run_seed = _run.open_run(prepared, seed=seed, resume=resume)
    click.echo(f"{'resuming' if resume else 'running'} {name} (seed {run_seed})", err=True)
    click.echo(f"  to resume it if interrupted: {resume_command(read_run(name), name)}", err=True)
    result = _run.evaluate_run(prepared, name, run_seed)
    click.echo(f"Results of {name}:")
    _print_results(result.results)
    if prepared.spec.display_func is not None:
        prepared.spec.display_func(name, result.params, result.results)
    click.echo(f"experiment: {name}")
    if interactive:
        import code

        code.interact(
            banner=f"{name}: `results`, `params` and `name` are defined",
            local={"results": result.results, "params": result.params, "name": name},
        )


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Every slurm-search package's errors (one base) and this command's own."""
    from slurm_search.session import SlurmSearchError

    return (SlurmSearchError, UserError)


@click.command(context_settings=CONTEXT)
@click.argument("experiment", required=False)
@click.option("--seed", "seed_text", metavar="N", help="The run's seed (default: a fresh one, stored with the run).")
@click.option("--resume", metavar="exp:NAME", help="Resume a stored run: finished sessions are reused.")
@click.option("--debug", "debug_text", metavar="true|false", help="Apply the experiment's debug overrides.")
@click.option("--show", metavar="exp:NAME", help="List a run's sub-sessions with their progress.")
@click.option("--stop", metavar="exp:NAME", help="Stop a run, its sub-sessions and their Slurm jobs.")
@click.option("--display-ast", "display_ast", metavar="true|abstract|graph",
              help="Print the AST (true), as equations (abstract), or draw it with graphviz (graph).")
@click.option("--interactive", is_flag=True, help="Open a Python console on the results.")
@click.option("--allow-new-params", is_flag=True, help="Let --name=value add parameters the experiment lacks.")
@click.version_option(package_name="slurm-search-dsl", prog_name="run_exp", message="%(prog)s %(version)s (%(package)s)")
@click.pass_context
def cli(
    ctx: click.Context,
    experiment: str | None,
    seed_text: str | None,
    resume: str | None,
    debug_text: str | None,
    show: str | None,
    stop: str | None,
    display_ast: str | None,
    interactive: bool,
    allow_new_params: bool,
) -> None:
    """Run EXPERIMENT (a registered name or package.module:spec) with parameters --a:b=value.

    Without EXPERIMENT, list the registered experiments. Values parse as
    int, float, true/false, inf, comma lists, else string.
    """
    try:
        _setup_logging()
        if show:
            _show(show)
            return
        if stop:
            _stop(stop)
            return
        if experiment is None:
            if ctx.args:
                raise UserError(f"parameters {' '.join(ctx.args)} given without an experiment: run_exp NAME --a:b=value")
            _list_experiments()
            return
        overrides = parse_overrides(list(ctx.args))
        seed = _seed(seed_text)
        debug = _bool("--debug", debug_text)
        if display_ast is not None and display_ast not in DISPLAY_FORMS:
            raise UserError(f"--display-ast={display_ast} is not valid: expected one of {', '.join(DISPLAY_FORMS)}")
        if display_ast:
            from . import _run

            prepared = _run.prepare(experiment, overrides, debug=debug, allow_new_params=allow_new_params)
            _display_ast(display_ast, prepared, seed, resume)
            return
        _run_one(experiment, overrides, seed, resume, debug, allow_new_params, interactive)
    except _user_error_types() as err:
        click.echo(f"run_exp: error: {err}", err=True)
        ctx.exit(1)
    except OSError as err:  # a full or read-only store: one line, not a traceback
        from slurm_search.state import store_os_error

        wrapped = store_os_error(err)
        if wrapped is None:
            raise
        click.echo(f"run_exp: error: {wrapped}", err=True)
        ctx.exit(1)


def main(argv: list[str] | None = None) -> None:
    """The ``run_exp`` console script."""
    try:
        code = cli.main(args=argv, prog_name="run_exp", standalone_mode=False)
        # Without standalone mode, click returns ctx.exit's code instead of exiting.
        if isinstance(code, int) and code:
            sys.exit(code)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.ClickException as err:
        click.echo(f"run_exp: error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except click.Abort:
        click.echo("run_exp: interrupted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("run_exp: interrupted; resume with the command printed at the start", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
