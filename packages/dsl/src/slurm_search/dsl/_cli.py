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
        if name in out:
            raise UserError(f"--{name} is given twice: give it once")
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
    from ._cli_output import results_table
    from ._errors import SamplingError
    from ._experiment import read_run, resume_command

    prepared = _run.prepare(experiment, overrides, debug=debug, allow_new_params=allow_new)
    name, run_seed = _run.open_run(prepared, seed=seed, resume=resume)
    click.echo(f"{'resuming' if resume else 'running'} {name} ({prepared.spec.ref}, seed {run_seed})", err=True)
    click.echo(f"  to resume it if interrupted: {resume_command(read_run(name), name)}", err=True)
    failures = _FailedTrials()
    logging.getLogger(_WORKER_LOGGER).addFilter(failures)
    try:
        result = _run.evaluate_run(prepared, name, run_seed, announce=False)
    except KeyboardInterrupt:
        _run.mark_interrupted(name)
        click.echo(f"run_exp: interrupted; resume it with: run_exp --resume={name}", err=True)
        sys.exit(130)
    except SamplingError as err:
        # A failure's traceback, once; a failure that is one line (a result
        # that is not a loss) is already the error's last words.
        if err.traceback and "\n" in err.traceback.strip():
            from ._failures import user_frames

            click.echo(user_frames(err.traceback), err=True)
        raise
    finally:
        logging.getLogger(_WORKER_LOGGER).removeFilter(failures)
    # The results once: the experiment's own summary when it has one, else
    # the table (--show prints the table of a complete run).
    if prepared.spec.display_func is not None:
        prepared.spec.display_func(name, result.params, result.results)
        click.echo(f"every result, rounded: run_exp --show={name}")
    else:
        click.echo(f"Results of {name}:")
        for line in results_table(result.results):
            click.echo(line)
    click.echo(f"experiment: {name}")
    if interactive:
        import code

        code.interact(
            banner=f"{name}: `results`, `params` and `name` are defined",
            local={"results": result.results, "params": result.params, "name": name},
        )


_WORKER_LOGGER = "slurm_search.session._worker"


class _FailedTrials(logging.Filter):
    """Keeps a failed trial's traceback (logged by an inline worker, once per
    attempt and per level of nesting) off the terminal: a failed run prints
    the first failure's traceback once, under its one-line error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and str(record.msg).startswith("trial %s of %s failed on"):
            return False  # the run's error line says why it failed (a one-line failure included)
        try:
            text = record.getMessage()
        except Exception:  # a record that does not format is not ours to judge
            return True
        return not (record.levelno == logging.WARNING and "Traceback (most recent call last)" in text)


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Every slurm-search package's errors (one base) and this command's own."""
    from slurm_search.session import SlurmSearchError

    return (SlurmSearchError, UserError)


# What each mode reads; any other option given does nothing there and is refused.
_MODES = {
    "--show": {"--json"},
    "--stop": set(),
    "--delete": {"--yes"},
    "--list-runs": {"--json"},
    "--print-config": {"EXPERIMENT", "PARAMETERS", "--debug", "--allow-new-params", "--json", "--resume"},
    "--display-ast": {"EXPERIMENT", "PARAMETERS", "--debug", "--allow-new-params", "--resume"},
    "run": {"EXPERIMENT", "PARAMETERS", "--seed", "--resume", "--debug", "--allow-new-params", "--interactive"},
    "list": set(),
}


def _mode(given: dict[str, Any]) -> str:
    modes = [
        option
        for option in ("--show", "--stop", "--delete", "--list-runs", "--print-config", "--display-ast")
        if option in given
    ]
    if len(modes) > 1:
        raise UserError(f"{modes[0]} and {modes[1]} do not go together: give one")
    if modes:
        return modes[0]
    return "run" if "EXPERIMENT" in given or "--resume" in given else "list"


def _refuse_unused(mode: str, given: dict[str, Any]) -> None:
    unused = [option for option in given if option not in _MODES[mode] and option != mode]
    if not unused:
        return
    what = {"list": "without an experiment", "run": "when running"}.get(mode, f"with {mode}")
    if mode == "list" and unused[0] == "PARAMETERS":
        raise UserError(f"parameters {given['PARAMETERS']} given without an experiment: run_exp NAME --a:b=value")
    shown = given[unused[0]] if unused[0] in ("EXPERIMENT", "PARAMETERS") else unused[0]
    raise UserError(f"{shown} does nothing {what}: leave it out")


def _from_stored(
    resume: str, experiment: str | None, overrides: dict[str, Any], debug_text: str | None, allow_new: bool
) -> tuple[str, dict[str, Any], bool, bool]:
    """``--resume=exp:NAME`` without an experiment: the stored run's spec and parameters.

    Overrides given on the command line still apply (and the resumption then
    refuses them if they differ from the stored ones, saying how)."""
    from ._experiment import read_run

    if experiment is not None:
        return experiment, overrides, _bool("--debug", debug_text), allow_new
    stored = read_run(resume)
    merged = {**stored["overrides"], **overrides}
    debug = stored["debug"] if debug_text is None else _bool("--debug", debug_text)
    return stored["spec"], merged, debug, allow_new or bool(stored.get("allow_new_params"))


def _complete_experiments(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of EXPERIMENT: the registered names (nothing is imported)."""
    from ._spec import registered

    return [name for name in registered() if name.startswith(incomplete)]


@click.command(context_settings=CONTEXT)
@click.argument("experiment", required=False, shell_complete=_complete_experiments)
@click.option("--seed", "seed_text", metavar="N", help="The run's seed (default: a fresh one, stored with the run).")
@click.option(
    "--resume",
    metavar="exp:NAME",
    help="Resume a stored run (alone: with its stored experiment and parameters); finished sessions are reused.",
)
@click.option("--debug", "debug_text", metavar="true|false", help="Apply the experiment's debug overrides.")
@click.option("--show", metavar="exp:NAME", help="List a run's sub-sessions with their progress.")
@click.option("--stop", metavar="exp:NAME", help="Stop a run, its sub-sessions and their Slurm jobs.")
@click.option(
    "--delete",
    metavar="exp:NAME",
    help="Delete a run and its sub-sessions (their workers and Slurm jobs stopped first); asks unless --yes.",
)
@click.option("--yes", is_flag=True, help="With --delete: do not ask.")
@click.option(
    "--list-runs", "list_runs", is_flag=True, help="List the stored runs (exp:NAME), newest first, with their status."
)
@click.option(
    "--print-config",
    "print_config",
    is_flag=True,
    help="Print the parameters a run would get (config, debug overrides, --a:b=value), then exit.",
)
@click.option("--json", "as_json", is_flag=True, help="With --show, --list-runs or --print-config: print JSON.")
@click.option(
    "--display-ast",
    "display_ast",
    metavar="true|abstract|graph",
    help="Print the AST (true), as equations (abstract), or draw it with graphviz (graph, in this folder).",
)
@click.option("--interactive", is_flag=True, help="Open a Python console on the results.")
@click.option("--allow-new-params", is_flag=True, help="Let --name=value add parameters the experiment lacks.")
@click.version_option(
    package_name="slurm-search-dsl", prog_name="run_exp", message="%(prog)s %(version)s (%(package)s)"
)
@click.pass_context
def cli(
    ctx: click.Context,
    experiment: str | None,
    seed_text: str | None,
    resume: str | None,
    debug_text: str | None,
    show: str | None,
    stop: str | None,
    delete: str | None,
    yes: bool,
    list_runs: bool,
    print_config: bool,
    as_json: bool,
    display_ast: str | None,
    interactive: bool,
    allow_new_params: bool,
) -> None:
    """Run EXPERIMENT (a registered name or package.module:spec) with parameters --a:b=value.

    Without EXPERIMENT, list the registered experiments. Values parse as
    int, float, true/false, inf, comma lists, else string. A module:spec
    is also looked for in the current folder.
    """
    given = {
        key: value
        for key, value in (
            ("EXPERIMENT", experiment),
            ("PARAMETERS", " ".join(ctx.args) or None),
            ("--seed", seed_text),
            ("--resume", resume),
            ("--debug", debug_text),
            ("--show", show),
            ("--stop", stop),
            ("--delete", delete),
            ("--yes", yes or None),
            ("--list-runs", list_runs or None),
            ("--print-config", print_config or None),
            ("--json", as_json or None),
            ("--display-ast", display_ast),
            ("--interactive", interactive or None),
            ("--allow-new-params", allow_new_params or None),
        )
        if value is not None
    }
    try:
        _setup_logging()
        if experiment is not None and experiment.startswith("-"):
            # click took an unknown option for the experiment's name.
            raise UserError(
                f"unknown option {experiment!r}: `run_exp` alone lists the experiments, "
                "`run_exp --list-runs` the stored runs (see run_exp --help)"
            )
        mode = _mode(given)
        _refuse_unused(mode, given)
        from ._cli_output import display_ast_of, list_experiments, stop_run
        from ._spec import use_current_folder

        if mode == "--show":
            from ._cli_output import show as show_run

            show_run(show or "", as_json)
            return
        if mode == "--stop":
            stop_run(stop or "")
            return
        if mode == "--delete":
            from ._cli_output import delete_run

            delete_run(delete or "", yes)
            return
        if mode == "--list-runs":
            from ._cli_output import list_runs as list_stored

            list_stored(as_json)
            return
        if mode == "list":
            list_experiments()
            return
        if display_ast is not None and display_ast not in DISPLAY_FORMS:
            raise UserError(f"--display-ast={display_ast} is not valid: expected one of {', '.join(DISPLAY_FORMS)}")
        overrides = parse_overrides(list(ctx.args))
        seed = _seed(seed_text)
        debug = _bool("--debug", debug_text)
        if resume:
            experiment, overrides, debug, allow_new_params = _from_stored(
                resume, experiment, overrides, debug_text, allow_new_params
            )
        if experiment is None:
            raise UserError(f"{mode} needs an experiment: run_exp NAME {mode}")
        use_current_folder(experiment)
        if mode in ("--display-ast", "--print-config"):
            from . import _run

            prepared = _run.prepare(experiment, overrides, debug=debug, allow_new_params=allow_new_params)
            if mode == "--print-config":
                from ._cli_output import print_config as print_params

                print_params(prepared.params, as_json)
            else:
                display_ast_of(display_ast or "", prepared)
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
        click.echo("run_exp: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
